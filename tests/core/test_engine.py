"""The escalation engine: routing, grouping, lifecycle, chains, durable fenced timers."""

from __future__ import annotations

from datetime import datetime

import pytest

from botkit.config import Config
from botkit.domain import IncidentState
from botkit.outbound import EditText, SendText
from tests.conftest import QUANG_PHU, make_config
from tests.core.harness import Harness


@pytest.fixture
async def h(config: Config, t0: datetime) -> Harness:
    harness = await Harness.create(config, t0)
    yield harness
    await harness.store.close()


async def test_flag_opens_incident_and_pages_the_officer_on_duty(h: Harness) -> None:
    incident_id = await h.flag()
    assert incident_id is not None
    assert h.pages_to("u-thanh") == 1
    sent = h.dispatcher.to("u-thanh")[0]
    assert isinstance(sent, SendText)
    assert "fake_news" in sent.text and "Tin giả" in sent.text
    assert "lần cuối 02/03 09:00" in sent.text  # 02:00 UTC is 09:00 in Vietnam
    # buttons offer what the state allows: resolving needs an acknowledgement first
    assert [b.action for b in sent.buttons] == [
        f"{a}:{incident_id}" for a in ("ack", "confirm", "false")
    ]
    assert h.kinds() == ["opened"]


async def test_alert_shows_the_evidence_officers_act_on(h: Harness) -> None:
    await h.flag(
        category="scam",
        text="ck phí nhận quà vào stk",
        evidence=(("bank_account", "19031234567890"), ("hamlet", "thôn 3")),
    )
    sent = h.dispatcher.to("u-thanh")[0]
    assert isinstance(sent, SendText)
    assert "STK 19031234567890" in sent.text and "thôn/buôn thôn 3" in sent.text


async def test_alert_shows_the_words_that_drove_the_score(h: Harness) -> None:
    await h.flag(
        category="scam",
        text="ck phí nhận quà vào stk",
        evidence=(("cue", "phí nhận quà"), ("cue", "số tài khoản"), ("money", "500.000đ")),
    )
    sent = h.dispatcher.to("u-thanh")[0]
    assert isinstance(sent, SendText)
    assert "Từ ngữ khiến tin bị gắn cờ: «phí nhận quà», «số tài khoản»" in sent.text
    assert "số tiền 500.000đ" in sent.text and "cue" not in sent.text


async def test_one_hoax_in_fifty_groups_is_one_incident_one_page(h: Harness) -> None:
    for i in range(50):
        await h.flag(chat=f"group-{i}", content_key="same-hoax")
    incidents = await h.store.incidents.query()
    assert len(incidents) == 1
    assert incidents[0].occurrences == 50
    assert incidents[0].groups == 50
    assert h.pages_to("u-thanh") == 1
    assert h.kinds().count("updated") == 49
    assert not [a for a in h.dispatcher.to("u-thanh") if isinstance(a, EditText)]
    await h.advance(0.1)  # past the edit interval (5 s)
    edits = [a for a in h.dispatcher.to("u-thanh") if isinstance(a, EditText)]
    assert len(edits) == 1  # fifty occurrences, one edit in place
    assert "50 nhóm" in edits[0].text


async def test_occurrences_spread_over_time_are_edited_at_most_once_per_interval(
    h: Harness,
) -> None:
    for i in range(60):
        await h.flag(chat=f"group-{i}", content_key="same-hoax")
        await h.advance(1 / 60)  # one a second for a minute
    await h.advance(0.1)
    edits = [a for a in h.dispatcher.to("u-thanh") if isinstance(a, EditText)]
    assert 10 <= len(edits) <= 13  # every 5 s, not sixty times
    assert "60 nhóm" in edits[-1].text


async def test_unacknowledged_incident_escalates_up_the_chain(h: Harness) -> None:
    await h.flag()
    await h.advance(14)
    assert h.pages_to("u-dung") == 0
    await h.advance(2)
    assert h.pages_to("u-dung") == 1  # leader after 15 minutes
    await h.advance(30)
    assert h.pages_to("u-tuan") == 1  # province after 30 more
    await h.advance(24 * 60)
    assert h.pages_to("u-thanh") == 1
    assert h.kinds().count("escalated") == 2
    assert await h.store.timers.pending() == []  # chain exhausted, nothing left pending


async def test_acknowledgement_stops_escalation_and_schedules_a_reminder(h: Harness) -> None:
    incident_id = await h.flag()
    reply = await h.command("u-thanh", "ack", incident_id)
    assert "Đã tiếp nhận" in reply
    await h.advance(120)
    assert h.pages_to("u-dung") == 0
    assert "escalated" not in h.kinds()
    await h.advance(4 * 60)
    assert "reminded" in h.kinds()
    await h.command("u-thanh", "resolve", incident_id)
    before = len(h.dispatcher.sent)
    await h.advance(48 * 60)
    assert all(not isinstance(a, SendText) for _, a in h.dispatcher.sent[before:])


async def test_non_officer_is_refused_and_audited(h: Harness) -> None:
    incident_id = await h.flag()
    reply = await h.command("stranger", "ack", incident_id)
    assert "chỉ cán bộ" in reply
    detail = await h.store.incidents.get(incident_id)
    assert detail is not None and detail.incident.state is IncidentState.OPENED
    log = await h.store.audit.log()
    assert any(e["action"] == "refused.ack" for e in log)


async def test_officer_of_another_unit_cannot_act(h: Harness) -> None:
    incident_id = await h.flag()
    reply = await h.command("u-hoa", "ack", incident_id)
    assert "không thuộc" in reply
    # a superior (the province) may act
    assert "Đã tiếp nhận" in await h.command("u-tuan", "ack", incident_id)


async def test_unknown_incident_and_missing_id_get_clear_replies(h: Harness) -> None:
    assert "#999" in await h.command("u-thanh", "ack", 999)
    assert "/ack 12" in await h.command("u-thanh", "ack")


@pytest.mark.parametrize(
    ("actions", "final"),
    [
        (["ack", "confirm", "resolve"], IncidentState.RESOLVED),
        (["false"], IncidentState.FALSE_POSITIVE),
        (["ack", "resolve"], IncidentState.RESOLVED),
    ],
)
async def test_lifecycle_paths(h: Harness, actions: list[str], final: IncidentState) -> None:
    incident_id = await h.flag()
    for action in actions:
        await h.command("u-thanh", action, incident_id)
    detail = await h.store.incidents.get(incident_id)
    assert detail is not None and detail.incident.state is final


async def test_invalid_transition_is_refused(h: Harness) -> None:
    incident_id = await h.flag()
    await h.command("u-thanh", "resolve", incident_id)  # opened → resolved is not allowed
    detail = await h.store.incidents.get(incident_id)
    assert detail is not None and detail.incident.state is IncidentState.OPENED


async def test_confirmed_hoax_is_corrected_once_per_group_and_becomes_a_claim(h: Harness) -> None:
    incident_id = await h.flag(chat="g1", content_key="hoax")
    await h.flag(chat="g2", content_key="hoax")
    await h.flag(chat="g2", content_key="hoax")
    await h.command("u-thanh", "confirm", incident_id)
    corrections = [
        a for _, a in h.dispatcher.sent if isinstance(a, SendText) and "SAI SỰ THẬT" in a.text
    ]
    assert sorted(a.chat_id for a in corrections) == ["g1", "g2"]
    assert h.claims  # the hoax is now a known claim
    # the same hoax seen later in a third group is corrected there too, once
    await h.flag(chat="g3", content_key="hoax")
    await h.flag(chat="g3", content_key="hoax")
    corrections = [
        a for _, a in h.dispatcher.sent if isinstance(a, SendText) and "SAI SỰ THẬT" in a.text
    ]
    assert sorted(a.chat_id for a in corrections) == ["g1", "g2", "g3"]


async def test_a_later_variant_matching_the_confirmed_claim_joins_its_incident(
    h: Harness,
) -> None:
    incident_id = await h.flag(text="Thôn 3 có 15 ca covid, phong tỏa từ tối nay", chat="g1")
    await h.command("u-thanh", "confirm", incident_id)
    [claim_id] = h.claims
    joined = await h.flag(
        text="chia se gap thon 3 co 15 ca covid",
        chat="g9",
        content_key=f"claim:{claim_id}",
        claim_id=claim_id,
    )
    assert joined == incident_id
    incidents = await h.store.incidents.query()
    assert len(incidents) == 1 and incidents[0].groups == 2
    corrected = [
        a.chat_id
        for _, a in h.dispatcher.sent
        if isinstance(a, SendText) and "SAI SỰ THẬT" in a.text
    ]
    assert corrected == ["g1", "g9"]


async def test_message_naming_another_commune_goes_there_with_copy(h: Harness) -> None:
    await h.flag(category="crime_report", text="trộm bò ở xã Quảng Phú", places=(QUANG_PHU,))
    assert h.pages_to("u-hoa") == 1
    assert h.pages_to("u-thanh") == 1  # the group's own commune in copy


async def test_a_copy_to_another_unit_reads_without_buttons_it_could_not_use(h: Harness) -> None:
    incident_id = await h.flag(
        category="crime_report", text="trộm bò ở xã Quảng Phú", places=(QUANG_PHU,)
    )
    [routed] = [a for a in h.dispatcher.to("u-hoa") if isinstance(a, SendText)]
    [copy] = [a for a in h.dispatcher.to("u-thanh") if isinstance(a, SendText)]
    assert routed.buttons and "Lệnh: /ack" in routed.text
    assert copy.buttons == () and "/ack" not in copy.text
    assert "Bản sao để nắm tình hình" in copy.text
    # The routed officer acts: the copy's reader sees the new state, still without buttons.
    await h.command("u-hoa", "ack", incident_id)
    edits = [a for a in h.dispatcher.to("u-thanh") if not isinstance(a, SendText)]
    assert edits and all(e.buttons == () for e in edits)  # type: ignore[attr-defined]


async def test_running_chain_keeps_its_snapshot_after_config_change(
    h: Harness, t0: datetime
) -> None:
    await h.flag()
    # Reload with a chain that would page the province at once
    changed = make_config()
    units = [u.model_copy(update={"escalation": []}) for u in changed.units]
    h.use(changed.model_copy(update={"units": units}))
    await h.advance(16)
    assert h.pages_to("u-dung") == 1  # step 2 of the snapshot: the leader


async def test_a_reload_that_removes_or_renames_the_unit_keeps_its_chains(
    h: Harness,
) -> None:
    incident_id = await h.flag()
    # The commune's unit is renamed (new id) and its officers moved: the old id is gone.
    raw = make_config().model_dump(by_alias=True)
    for unit in raw["units"]:
        if unit["id"] == "cu-mgar":
            unit["id"] = "ca-xa-cu-mgar"
        if unit.get("parent") == "cu-mgar":
            unit["parent"] = "ca-xa-cu-mgar"
    for officer in raw["officers"]:
        if officer["unit"] == "cu-mgar":
            officer["unit"] = "ca-xa-cu-mgar"
    from botkit.config.loader import parse_config

    h.use(parse_config(raw))
    await h.advance(16)
    assert h.pages_to("u-dung") == 1  # the leader, from the snapshot
    await h.advance(30)
    assert h.pages_to("u-tuan") == 1  # the province, from the snapshot
    assert "không thuộc" not in await h.command("u-thanh", "ack", incident_id)
    detail = await h.store.incidents.get(incident_id)
    assert detail is not None and detail.incident.state is IncidentState.ACKNOWLEDGED


async def test_timers_survive_a_restart(config: Config, t0: datetime, tmp_path) -> None:
    path = str(tmp_path / "db.sqlite3")
    h = await Harness.create(config, t0, path)
    await h.flag()
    await h.store.close()
    # a new process: same database, new engine
    h2 = await Harness.create(config, t0, path)
    await h2.advance(16)
    assert h2.pages_to("u-dung") == 1
    await h2.store.close()


async def test_a_step_runs_once_even_when_two_workers_race(h: Harness) -> None:
    import asyncio

    await h.flag()
    h.clock.advance_to(h.clock.now().replace(minute=h.clock.now().minute + 16))
    ran = await asyncio.gather(h.engine.run_due(), h.engine.run_due())
    assert sum(ran) == 1
    await h.deliver()
    assert h.pages_to("u-dung") == 1


async def test_failed_delivery_is_kept_and_retried(h: Harness) -> None:
    h.dispatcher.fail_next = 1
    incident_id = await h.flag()
    rows = await h.store.outbox.alerts(incident_id)
    assert [r.status for r in rows] == ["retry"]
    assert h.pages_to("u-thanh") == 0
    await h.advance(0.1)  # past the first backoff (about 2 s)
    assert h.pages_to("u-thanh") == 1
    [row] = await h.store.outbox.alerts(incident_id)
    assert row.status == "sent" and row.attempts == 2


async def test_officer_flood_becomes_a_digest(h: Harness) -> None:
    for i in range(10):
        await h.flag(text=f"tin giả số {i}", content_key=f"k{i}")
    assert h.pages_to("u-thanh") == 6  # rate_per_minute default
    await h.advance(1.5)
    digest = [a for a in h.dispatcher.to("u-thanh") if isinstance(a, SendText) and "📋" in a.text]
    assert len(digest) == 1 and "4 cảnh báo" in digest[0].text
    assert h.pages_to("u-thanh") == 7


async def test_alert_is_edited_with_the_new_state_and_buttons(h: Harness) -> None:
    incident_id = await h.flag()
    await h.command("u-thanh", "ack", incident_id)
    edit = [a for a in h.dispatcher.to("u-thanh") if isinstance(a, EditText)][-1]
    assert "Đã tiếp nhận" in edit.text
    assert [b.action.split(":")[0] for b in edit.buttons] == ["confirm", "false", "resolve"]
    await h.command("u-thanh", "resolve", incident_id)
    edit = [a for a in h.dispatcher.to("u-thanh") if isinstance(a, EditText)][-1]
    assert "Đã xử lý xong" in edit.text and edit.buttons == ()


async def test_a_platform_without_editing_gets_the_new_state_as_a_new_message(
    h: Harness,
) -> None:
    h.dispatcher.cannot_edit.add("test")
    incident_id = await h.flag()
    await h.command("u-thanh", "ack", incident_id)
    sent = h.dispatcher.to("u-thanh")
    assert not [a for a in sent if isinstance(a, EditText)]
    update = [a for a in sent if isinstance(a, SendText) and "Đã tiếp nhận" in a.text]
    assert len(update) == 1
    assert [b.action.split(":")[0] for b in update[0].buttons] == ["confirm", "false", "resolve"]


async def test_incidents_and_oncall_commands(h: Harness) -> None:
    await h.flag()
    listing = await h.command("u-thanh", "incidents")
    assert "#1" in listing or "fake_news" in listing
    assert "Y Thành" in await h.command("u-thanh", "oncall")


async def test_help_lists_what_this_person_may_do(h: Harness) -> None:
    officer = await h.command("u-thanh", "help")
    assert officer.startswith("Chào đồng chí")
    for command in ("/ack", "/confirm", "/false", "/resolve", "/incidents", "/oncall"):
        assert command in officer
    resident = await h.command("stranger", "start")
    assert "/togiac" in resident and "/tinhtrang" in resident and "/ack" not in resident
    log = await h.store.audit.log()
    assert not any(e["action"].startswith("refused.") for e in log)  # asking is no offence
