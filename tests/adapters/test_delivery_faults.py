"""Delivery under faults, with the real core and both Telegram libraries against the emulator.

Pages are counted where the officer would see them: the messages the emulator holds. A page
sent twice because the platform accepted it without the answer reaching botkit (a late
answer, a dropped connection) cannot be told apart from a lost one by any Bot API call; such
a resend is counted and must carry the "sent again" line.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from adapters.testing import telegram_updates as tu
from botkit.storage.base import StoreUnavailable
from botkit.storage.records import AlertRow
from tests.adapters.system import BASIC, GROUP, HOAX, HOAX_EA_TUL, TEXTS, System, bind_group, post
from tests.adapters.telegram_harness import ADAPTERS, AdapterClass, webhook_options

THANH_CHAT, HOA_CHAT, DUNG_CHAT = 555, 556, 557
# The faults of sending play out the same on the embedded store and on a fleet's Redis.
STORES = ["sqlite", "redis"]
RESENT = TEXTS.get("alert.resent")


def quick(raw: dict[str, Any]) -> None:
    """Short send timeouts and retries, so faults play out in seconds."""
    raw["delivery"] = {"send_timeout_seconds": 1, "retry_base_seconds": 0.3}


def with_leader(raw: dict[str, Any]) -> None:
    quick(raw)
    raw["officers"].append(
        {"id": "dung", "name": "H'Dung", "unit": "cu-mgar", "contacts": {_adapter(raw): "557"}}
    )
    raw["units"][0]["leader"] = "dung"


def _adapter(raw: dict[str, Any]) -> str:
    return next(iter(raw["adapters"]))


async def page_row(s: System, officer: str) -> AlertRow:
    """The officer's page once its outcome is recorded (just after the emulator has it)."""
    for _ in range(200):
        rows = [r for r in await s.app.store.outbox.alerts() if r.officer_id == officer]
        if rows and rows[0].status not in ("pending", "retry"):
            return rows[0]
        await asyncio.sleep(0.05)
    raise AssertionError(f"the page to {officer} was not settled: {rows}")


def alerts(s: System, chat: int) -> list[dict[str, Any]]:
    """Pages the officer holds (messages with buttons), in order."""
    return [m for m in s.api.sent_messages(chat) if "reply_markup" in m]


@pytest.mark.parametrize("cls", ADAPTERS)
@pytest.mark.parametrize("storage", STORES)
async def test_a_stalled_chat_holds_back_no_other_officer(
    cls: AdapterClass, storage: str, system_factory: Callable[..., Any]
) -> None:
    async with system_factory(cls, quick, storage, rate_chat_per_second=0) as s:
        await bind_group(s)
        await bind_group(s, BASIC, "Ea Tul")
        # Thanh's chat answers nothing for 4 s, twice, and carries out nothing meanwhile.
        s.api.stall_next(
            "sendMessage", 4, times=2, when=lambda c: c.params.get("chat_id") == THANH_CHAT
        )
        s.api.push_update(post(GROUP, HOAX))
        await s.api.wait_for_call(
            "sendMessage", lambda c: c.params.get("chat_id") == THANH_CHAT, timeout=15
        )
        s.api.push_update(post(BASIC, HOAX_EA_TUL))
        await s.alert(officer=HOA_CHAT)
        assert alerts(s, THANH_CHAT) == []  # Hoa's alert came while Thanh's was stuck
        await s.alert(officer=THANH_CHAT)  # each try abandoned after 1 s, the third went
        assert len(alerts(s, THANH_CHAT)) == 1  # the stalled tries never happened: one page
        row = await page_row(s, "thanh")
        assert row.status == "sent" and row.attempts == 3


@pytest.mark.parametrize("cls", ADAPTERS)
@pytest.mark.parametrize("fault", ["late answer", "dropped connection"])
@pytest.mark.parametrize("storage", STORES)
async def test_a_send_accepted_without_an_answer_is_resent_once_and_says_so(
    cls: AdapterClass, fault: str, storage: str, system_factory: Callable[..., Any]
) -> None:
    async with system_factory(cls, quick, storage, rate_chat_per_second=0) as s:
        await bind_group(s)
        to_thanh = lambda c: c.params.get("chat_id") == THANH_CHAT  # noqa: E731
        if fault == "late answer":
            s.api.stall_next("sendMessage", 3, accept_first=True, when=to_thanh)
        else:
            s.api.drop_next("sendMessage", when=to_thanh)
        s.api.push_update(post(GROUP, HOAX))
        await s.alert(officer=THANH_CHAT, skip=1)
        pages = alerts(s, THANH_CHAT)
        assert len(pages) == 2  # the Bot API offers no way to ask whether the first arrived
        assert RESENT not in pages[0]["text"] and pages[1]["text"].startswith(RESENT)
        row = await page_row(s, "thanh")
        assert row.status == "sent" and row.ambiguous == 1  # counted, for `botkit status`


@pytest.mark.parametrize("cls", ADAPTERS)
@pytest.mark.parametrize("storage", STORES)
async def test_a_blocked_officer_is_marked_failed_and_the_chain_moves_on_at_once(
    cls: AdapterClass, storage: str, system_factory: Callable[..., Any]
) -> None:
    async with system_factory(cls, with_leader, storage, rate_chat_per_second=0) as s:
        s.api.add_chat(tu.private_chat(tu.user(DUNG_CHAT, "H'Dung")))
        s.api.block_bot(THANH_CHAT)
        await bind_group(s)
        s.api.push_update(post(GROUP, HOAX))
        message, _ = await s.alert(officer=DUNG_CHAT)  # the leader, not 15 minutes later
        assert message["text"].startswith("⏫")
        row = await page_row(s, "thanh")
        assert row.status == "failed" and "blocked" in (row.last_error or "")
        assert row.attempts == 1  # not retried: it cannot succeed


@pytest.mark.parametrize("cls", ADAPTERS)
async def test_updates_are_confirmed_only_once_stored(
    cls: AdapterClass, system_factory: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    async with system_factory(cls, configure=quick, rate_chat_per_second=0) as s:
        await bind_group(s)
        intake = s.app.store.intake
        real = intake.append
        broken = True

        async def append(*args: Any, **kwargs: Any) -> int:
            if broken:
                raise StoreUnavailable("botkit.sqlite3: database or disk is full")
            return await real(*args, **kwargs)

        monkeypatch.setattr(intake, "append", append)
        update_id = s.api.push_update(post(GROUP, HOAX))
        polls = len(s.api.calls_to("getUpdates"))
        await s.api.wait_until(lambda: len(s.api.calls_to("getUpdates")) >= polls + 2, 15)
        assert s.api.pending_update_count == 1  # fetched again and again, never confirmed
        broken = False
        await s.alert(officer=THANH_CHAT)
        await s.api.wait_for_confirmation(update_id, 15)
        assert len(alerts(s, THANH_CHAT)) == 1


@pytest.mark.parametrize("cls", ADAPTERS)
async def test_a_webhook_update_botkit_cannot_store_is_answered_503_and_redelivered(
    cls: AdapterClass, system_factory: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    options = webhook_options()
    async with system_factory(cls, configure=quick, rate_chat_per_second=0, **options) as s:
        await s.api.wait_until(lambda: s.api.webhook is not None, 15)
        await bind_group(s)
        intake = s.app.store.intake
        real = intake.append
        refusals = 3

        async def append(*args: Any, **kwargs: Any) -> int:
            nonlocal refusals
            if refusals:
                refusals -= 1
                raise StoreUnavailable("botkit.sqlite3: database or disk is full")
            return await real(*args, **kwargs)

        monkeypatch.setattr(intake, "append", append)
        update_id = s.api.push_update(post(GROUP, HOAX))
        await s.alert(officer=THANH_CHAT)
        statuses = [d.status for d in s.api.webhook_deliveries if d.update_id == update_id]
        assert statuses == [503, 503, 503, 200]
        assert len(alerts(s, THANH_CHAT)) == 1
