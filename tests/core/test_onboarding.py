"""Groups joining, binding to a commune, leaving and migrating."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from botkit.adapter import GroupJoined, GroupLeft, GroupMigrated, GroupSetup
from botkit.clock import VirtualClock
from botkit.codec import decode_action
from botkit.config import Config
from botkit.groups import GroupDirectory
from botkit.onboarding import GroupEvent, Onboarding
from botkit.outbound import SendText
from botkit.places import PlaceBook
from botkit.storage import SqliteStore
from botkit.texts import Texts
from tests.conftest import CU_MGAR, QUANG_PHU


class Desk:
    """Onboarding as the pipeline runs it: one transaction per event."""

    def __init__(self, config: Config, store: SqliteStore) -> None:
        self.store = store
        self.groups = GroupDirectory(config, store.groups)
        clock = VirtualClock(datetime(2026, 3, 2, tzinfo=UTC))
        self.onboarding = Onboarding(config, self.groups, Texts(), PlaceBook(66), clock)
        self.n = 0

    async def handle(self, event: GroupEvent) -> None:
        self.n += 1
        async with self.store.transaction() as tx:
            await self.onboarding.handle(tx, event, f"event-{self.n}")

    async def last_reply(self) -> SendText:
        messages = await self.store.outbox.messages()
        action = decode_action(messages[-1]["action"])
        assert isinstance(action, SendText)
        return action


@pytest.fixture
async def desk(config: Config) -> Desk:
    store = SqliteStore(":memory:")
    await store.open()
    yield Desk(config, store)
    await store.close()


async def test_a_new_group_is_pending_and_offered_its_communes(desk: Desk) -> None:
    await desk.handle(GroupJoined("test", "g-new", "Thôn 9", "admin-1"))
    assert await desk.store.groups.get("test", "g-new") == (None, "pending")
    sent = await desk.last_reply()
    assert "quyền quản trị" in sent.text
    assert f"setup:{CU_MGAR}" in [b.action for b in sent.buttons]
    # messages of a pending group go to the default jurisdiction
    assert await desk.groups.jurisdiction("test", "g-new") == CU_MGAR


@pytest.mark.parametrize("query", ["Quảng Phú", "quang phu", str(QUANG_PHU), "xa Quang Phu"])
async def test_setup_binds_the_group(desk: Desk, query: str) -> None:
    await desk.handle(GroupJoined("test", "g-new", None, None))
    assert await desk.groups.jurisdiction("test", "g-new") == CU_MGAR
    await desk.handle(GroupSetup("test", "g-new", query, "admin-1"))
    assert await desk.groups.jurisdiction("test", "g-new") == QUANG_PHU
    log = await desk.store.audit.log()
    assert [e["action"] for e in log] == ["group.joined", "group.setup"]


async def test_an_unknown_commune_gets_a_clear_reply(desk: Desk) -> None:
    await desk.handle(GroupSetup("test", "g-new", "Xã Không Có", "admin-1"))
    sent = await desk.last_reply()
    assert "Không tìm thấy" in sent.text and await desk.store.groups.get("test", "g-new") is None


async def test_a_misspelt_commune_gets_did_you_mean_with_names_and_codes(desk: Desk) -> None:
    await desk.handle(GroupSetup("test", "g-new", "Quang Phuu", "admin-1"))
    sent = await desk.last_reply()
    assert "Không tìm thấy" in sent.text and "Có phải" in sent.text
    assert f"Xã Quảng Phú ({QUANG_PHU})" in sent.text
    assert await desk.store.groups.get("test", "g-new") is None


async def test_migration_keeps_the_binding_and_is_idempotent(desk: Desk) -> None:
    await desk.handle(GroupSetup("test", "-100", "Quảng Phú", "admin"))
    for _ in range(2):
        await desk.handle(GroupMigrated("test", "-100", "-100200"))
    assert await desk.store.groups.get("test", "-100200") == (QUANG_PHU, "active")
    assert await desk.store.groups.get("test", "-100") == (None, "migrated")


async def test_a_configured_group_keeps_its_commune_after_migration(desk: Desk) -> None:
    await desk.handle(GroupMigrated("test", "g-quang-phu", "g-quang-phu-super"))
    assert await desk.groups.jurisdiction("test", "g-quang-phu-super") == QUANG_PHU


async def test_leaving(desk: Desk) -> None:
    await desk.handle(GroupSetup("test", "g", "Quảng Phú", "admin"))
    await desk.handle(GroupLeft("test", "g"))
    assert await desk.groups.jurisdiction("test", "g") == CU_MGAR


async def test_the_same_event_twice_greets_once(desk: Desk) -> None:
    event = GroupJoined("test", "g-new", "Thôn 9", "admin-1")
    for _ in range(2):
        async with desk.store.transaction() as tx:
            await desk.onboarding.handle(tx, event, "update-7.0")
    assert len(await desk.store.outbox.messages()) == 1


async def test_an_unregistered_group_migrating_keeps_the_default_commune(desk: Desk) -> None:
    await desk.handle(GroupMigrated("test", "-4001", "-1004001"))
    assert await desk.store.groups.get("test", "-1004001") == (CU_MGAR, "active")
