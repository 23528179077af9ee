"""Groups joining, binding to a commune, leaving and migrating."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from botkit.adapter import GroupJoined, GroupLeft, GroupMigrated, GroupSetup
from botkit.clock import VirtualClock
from botkit.config import Config
from botkit.groups import GroupDirectory
from botkit.onboarding import Onboarding
from botkit.outbound import SendText
from botkit.places import PlaceBook
from botkit.storage import SqliteStore
from botkit.texts import Texts
from tests.conftest import CU_MGAR, QUANG_PHU, RecordingDispatcher


@pytest.fixture
async def onboarding(config: Config) -> Onboarding:
    store = SqliteStore(":memory:")
    await store.open()
    groups = GroupDirectory(config, store)
    clock = VirtualClock(datetime(2026, 3, 2, tzinfo=UTC))
    yield Onboarding(config, store, groups, RecordingDispatcher(), Texts(), PlaceBook(66), clock)
    await store.close()


async def test_a_new_group_is_pending_and_offered_its_communes(onboarding: Onboarding) -> None:
    await onboarding.handle(GroupJoined("test", "g-new", "Thôn 9", "admin-1"))
    assert await onboarding.store.group("test", "g-new") == (None, "pending")
    sent = onboarding.dispatcher.sent[-1][1]  # type: ignore[attr-defined]
    assert isinstance(sent, SendText) and "quyền quản trị" in sent.text
    assert f"setup:{CU_MGAR}" in [b.action for b in sent.buttons]
    # messages of a pending group go to the default jurisdiction
    assert await onboarding.groups.jurisdiction("test", "g-new") == CU_MGAR


@pytest.mark.parametrize("query", ["Quảng Phú", "quang phu", str(QUANG_PHU), "xa Quang Phu"])
async def test_setup_binds_the_group(onboarding: Onboarding, query: str) -> None:
    await onboarding.handle(GroupJoined("test", "g-new", None, None))
    assert await onboarding.groups.jurisdiction("test", "g-new") == CU_MGAR
    await onboarding.handle(GroupSetup("test", "g-new", query, "admin-1"))
    assert await onboarding.groups.jurisdiction("test", "g-new") == QUANG_PHU
    log = await onboarding.store.audit_log()
    assert [e["action"] for e in log] == ["group.joined", "group.setup"]


async def test_an_unknown_commune_gets_a_clear_reply(onboarding: Onboarding) -> None:
    await onboarding.handle(GroupSetup("test", "g-new", "Xã Không Có", "admin-1"))
    sent = onboarding.dispatcher.sent[-1][1]  # type: ignore[attr-defined]
    assert "Không tìm thấy" in sent.text and await onboarding.store.group("test", "g-new") is None


async def test_migration_keeps_the_binding_and_is_idempotent(onboarding: Onboarding) -> None:
    await onboarding.handle(GroupSetup("test", "-100", "Quảng Phú", "admin"))
    for _ in range(2):
        await onboarding.handle(GroupMigrated("test", "-100", "-100200"))
    assert await onboarding.store.group("test", "-100200") == (QUANG_PHU, "active")
    assert await onboarding.store.group("test", "-100") == (None, "migrated")


async def test_a_configured_group_keeps_its_commune_after_migration(
    onboarding: Onboarding,
) -> None:
    await onboarding.handle(GroupMigrated("test", "g-quang-phu", "g-quang-phu-super"))
    assert await onboarding.groups.jurisdiction("test", "g-quang-phu-super") == QUANG_PHU


async def test_leaving(onboarding: Onboarding) -> None:
    await onboarding.handle(GroupSetup("test", "g", "Quảng Phú", "admin"))
    await onboarding.handle(GroupLeft("test", "g"))
    assert await onboarding.groups.jurisdiction("test", "g") == CU_MGAR
