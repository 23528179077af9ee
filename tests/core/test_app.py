"""The assembled core: accepted events are never lost, never handled twice, never in clear."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from botkit.app import App
from botkit.clock import VirtualClock
from botkit.config import Config, load_config
from botkit.domain import Message
from botkit.intake import DurableInbox
from botkit.keys import KeyProblem
from botkit.storage.base import StoreUnavailable
from botkit.worker import Worker
from tests.conftest import ROOT, RecordingDispatcher

KEY = "test-key-0123456789abcdef"
HOAX = (
    "CHIA SẺ GẤP!!! Thôn 3 xã Cư M'gar đã có 15 ca nhiễm covid, bệnh viện huyện phong tỏa"
    " từ tối nay, ai có người nhà ở đó đừng về"
)
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def shipped_config(tmp_path: Path) -> Config:
    config = load_config(ROOT / "config.toml")
    return config.model_copy(
        update={"bot": config.bot.model_copy(update={"data_dir": str(tmp_path / "var")})}
    )


async def build(tmp_path: Path, clock: VirtualClock | None = None) -> App:
    return await App.build(
        shipped_config(tmp_path),
        ROOT,
        clock=clock or VirtualClock(T0),
        dispatcher=RecordingDispatcher(("console",)),
        store_path=str(tmp_path / "db.sqlite3"),
    )


@pytest.fixture
async def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> App:
    monkeypatch.setenv("BOTKIT_HASH_KEY", KEY)
    built = await build(tmp_path)
    yield built
    await built.close()


def hoax(n: str = "1") -> Message:
    return Message("console", "console", n, HOAX, T0)


def worker_of(app: App, inbox: DurableInbox) -> Worker:
    return Worker(
        app.config, app.store, lambda: app.pipeline, inbox.sealer, inbox, app.clock, app.owner
    )


async def accepted(app: App, *events: Message) -> Worker:
    inbox = app.inbox()
    await inbox.submit_many(events)
    return worker_of(app, inbox)


async def test_an_accepted_event_is_handled_and_done(app: App) -> None:
    worker = await accepted(app, hoax())
    assert await app.store.intake.backlog() == 1
    assert await worker.run_once() == 1
    assert await app.store.intake.backlog() == 0
    [incident] = await app.store.incidents.query()
    assert incident.occurrences == 1
    assert [p.status for p in await app.store.outbox.alerts()] == ["pending"]


async def test_a_store_failure_is_retried_not_lost(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = app.engine.handle_flag
    failures = iter([True])

    async def flaky(*args: Any, **kwargs: Any) -> Any:
        if next(failures, False):
            raise StoreUnavailable("db: database or disk is full")
        return await real(*args, **kwargs)

    monkeypatch.setattr(app.engine, "handle_flag", flaky)
    worker = await accepted(app, hoax())
    with pytest.raises(StoreUnavailable):  # for the run loop: say so once, then wait
        await worker.run_once()
    assert await app.store.intake.backlog() == 1 and await app.store.incidents.query() == []
    await worker.run_once()  # given back without counting an attempt: handled at once
    assert len(await app.store.incidents.query()) == 1
    assert await app.store.intake.backlog() == 0


async def test_an_event_failing_every_time_becomes_a_dead_letter(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(app.engine, "handle_flag", broken)
    worker = await accepted(app, hoax())
    assert isinstance(app.clock, VirtualClock)
    for _ in range(5):
        await worker.run_once()
        app.clock.advance_to(app.clock.now() + timedelta(minutes=1))  # past the backoff
    [letter] = await app.store.intake.dead_letters()
    assert letter.attempts == 5 and letter.error == "RuntimeError: a bug"
    assert worker.dead_lettered == 1 and await app.store.intake.backlog() == 0


async def test_a_classifier_failure_keeps_the_messages(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(texts: list[str]) -> Any:
        raise RuntimeError("model crashed")

    monkeypatch.setattr(app.service, "analyse", explode)
    worker = await accepted(app, hoax("1"), hoax("2"))
    await worker.run_once()
    assert await app.store.intake.backlog() == 2
    assert await app.store.intake.dead_letters() == []


async def test_a_redelivered_message_has_no_second_effect(app: App) -> None:
    worker = await accepted(app, hoax())
    await worker.run_once()
    inbox = app.inbox()
    await inbox.submit(hoax())  # the platform delivers it again
    assert inbox.duplicates == 1 and await app.store.intake.backlog() == 0
    # even past the intake's memory, the effect is keyed by the message
    from botkit.pipeline import Inbound

    await app.pipeline.process([Inbound(hoax())])
    [incident] = await app.store.incidents.query()
    assert incident.occurrences == 1
    assert len(await app.store.outbox.alerts()) == 1


async def test_accepted_events_are_sealed_at_rest(app: App, tmp_path: Path) -> None:
    await accepted(app, hoax())
    await app.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("db.sqlite3*"))
    assert "phong tỏa".encode() not in raw and b"covid" not in raw


async def test_a_changed_hash_key_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOTKIT_HASH_KEY", KEY)
    await (await build(tmp_path)).close()
    monkeypatch.setenv("BOTKIT_HASH_KEY", "another-key-0123456789abcdef")
    with pytest.raises(KeyProblem, match="another hash key") as err:
        await build(tmp_path)
    assert "$BOTKIT_HASH_KEY" in str(err.value) and "hash.key" in str(err.value)


async def test_a_lost_key_file_is_not_silently_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BOTKIT_HASH_KEY", raising=False)
    await (await build(tmp_path)).close()  # made var/hash.key
    key_file = tmp_path / "var" / "hash.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    key_file.unlink()
    with pytest.raises(KeyProblem, match="does not exist"):
        await build(tmp_path)
    assert not key_file.exists()


async def test_one_hoax_racing_in_from_two_processes_opens_one_incident(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOTKIT_HASH_KEY", KEY)
    first, second = await build(tmp_path), await build(tmp_path)
    try:
        in_a = Message("console", "group-a", "1", HOAX, T0)
        in_b = Message("console", "group-b", "1", HOAX, T0)
        workers = [await accepted(first, in_a), await accepted(second, in_b)]
        await asyncio.gather(*(w.run_once() for w in workers))
        [incident] = await first.store.incidents.query()
        assert incident.occurrences == 2 and incident.groups == 2
        assert len(await first.store.outbox.alerts()) == 1
    finally:
        await first.close()
        await second.close()


def test_adapters_get_the_bots_data_dir_unless_their_section_names_one(tmp_path: Path) -> None:
    from botkit.app import build_adapters
    from botkit.config.loader import parse_config

    raw: dict[str, Any] = {
        "bot": {"data_dir": "state"},
        "jurisdiction": {"province": 66, "communes": [24280], "default": 24280},
        "units": [{"id": "u", "name": "U", "kind": "commune_police", "jurisdictions": [24280]}],
        "officers": [{"id": "o", "name": "O", "unit": "u", "contacts": {"console": "o"}}],
        "categories": {"fake_news": {"unit": "commune_police"}},
        "adapters": {
            "console": {"enabled": True},
            "other": {"class": "adapters.console:ConsoleAdapter", "data_dir": "/elsewhere"},
        },
    }
    adapters = build_adapters(parse_config(raw), tmp_path)
    assert adapters["console"].settings.option("data_dir") == str(tmp_path / "state")
    assert adapters["other"].settings.option("data_dir") == "/elsewhere"


async def test_officers_business_is_answered_in_private_and_strangers_not_in_the_group(
    app: App,
) -> None:
    """The console group is `console`; an officer's private chat is their contact."""
    from botkit.domain import OfficerCommand
    from botkit.outbound import SendText

    def cmd(sender: str, command: str, chat: str | None, n: str) -> OfficerCommand:
        return OfficerCommand(
            "console", sender, command, "1", T0, chat_id=chat, reply_ref=f"r{n}", event_id=n
        )

    worker = await accepted(app, hoax())
    await worker.run_once()
    inbox = app.inbox()
    await inbox.submit_many(
        [
            cmd("thanh", "ack", "console", "c1"),  # an officer, typed in the group
            cmd("stranger", "confirm", "console", "c2"),  # a resident, in the group
            cmd("stranger", "confirm", "stranger", "c3"),  # a resident, in private
            cmd("thanh", "incidents", "thanh", "c4"),  # an officer, in private
        ]
    )
    await worker_of(app, inbox).run_once()
    await app.sender.run_once()
    assert isinstance(app.dispatcher, RecordingDispatcher)
    texts = [
        (a.chat_id, a.text, a.reply_to)
        for _, a in app.dispatcher.sent
        if isinstance(a, SendText) and not a.text.startswith("🚨")
    ]
    by_chat = sorted(texts, key=lambda t: (t[0], t[1]))
    assert [chat for chat, _, _ in by_chat] == ["stranger", "thanh", "thanh"]  # none to the group
    [(_, refusal, refusal_to), (_, listing, listing_to), (_, done, done_to)] = by_chat
    assert "chỉ cán bộ" in refusal and refusal_to == "rc3"
    assert "Các vụ đang mở" in listing and listing_to == "rc4"
    assert "Đã tiếp nhận" in done and done_to is None  # not a reply to a message in the group
    refused = [e for e in await app.store.audit.log() if e["action"] == "refused.confirm"]
    assert len(refused) == 2  # both strangers' tries are on record, answered or not


async def test_a_store_that_cannot_commit_makes_the_worker_wait_not_spin(
    app: App, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A commit the store refuses every time (a full disk, a column it lacks): the entry is
    released, said once, and tried again after a pause; nothing is lost."""
    worker = await accepted(app, hoax())
    claims = 0
    real_claim = app.store.intake.claim

    async def counting_claim(*args: Any, **kwargs: Any) -> Any:
        nonlocal claims
        claims += 1
        return await real_claim(*args, **kwargs)

    async def refusing(effect: Any) -> Any:
        raise StoreUnavailable("disk full")

    monkeypatch.setattr(app.store.intake, "claim", counting_claim)
    monkeypatch.setattr(app.store, "run_transaction", refusing)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop, lambda: False))
    await asyncio.sleep(1.2)
    stop.set()
    await asyncio.wait_for(running, 5)
    assert claims <= 3  # backed off (0.5 s, then 1 s), not thousands of tries
    assert caplog.text.count("the store cannot be written: disk full") == 1
    assert await app.store.intake.backlog() == 1  # still there for later
    monkeypatch.undo()
    assert await worker.run_once() == 1 and await app.store.intake.backlog() == 0


async def test_the_sender_is_woken_only_by_a_batch_that_queued_something(app: App) -> None:
    """Chatter queues nothing: no look at the outbox for it (a fleet's workers share one)."""
    woken: list[int] = []
    inbox = app.inbox()
    worker = worker_of(app, inbox)
    worker.on_batch = lambda: woken.append(worker.handled)
    await inbox.submit_many([Message("console", "console", "c1", "Chào cả nhà, mai họp thôn", T0)])
    assert await worker.run_once() == 1 and woken == []
    await inbox.submit_many([hoax("h1")])
    assert await worker.run_once() == 1 and woken == [2]
