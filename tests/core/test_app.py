"""The assembled core: nothing accepted is lost when a part fails."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from botkit.app import App
from botkit.clock import VirtualClock
from botkit.config import load_config
from botkit.domain import Message
from tests.conftest import ROOT, RecordingDispatcher

HOAX = (
    "CHIA SẺ GẤP!!! Thôn 3 xã Cư M'gar đã có 15 ca nhiễm covid, bệnh viện huyện phong tỏa"
    " từ tối nay, ai có người nhà ở đó đừng về"
)


@pytest.fixture
async def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> App:
    monkeypatch.setenv("BOTKIT_HASH_KEY", "test-key-0123456789abcdef")
    config = load_config(ROOT / "config.toml")
    config = config.model_copy(
        update={"bot": config.bot.model_copy(update={"data_dir": str(tmp_path / "var")})}
    )
    clock = VirtualClock(datetime(2026, 3, 2, 2, 0, tzinfo=UTC))
    built = await App.build(
        config,
        ROOT,
        clock=clock,
        dispatcher=RecordingDispatcher(("console",)),
        store_path=str(tmp_path / "db.sqlite3"),
    )
    yield built
    await built.close()


def hoax(n: int = 1) -> Message:
    return Message("console", "console", str(n), HOAX, datetime(2026, 3, 2, 2, 0, tzinfo=UTC))


async def test_a_store_failure_is_retried_not_lost(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = app.store.record_flagged
    failures = iter([True])

    async def flaky(record: Any) -> Any:
        if next(failures, False):
            raise OSError("disk I/O error")
        return await real(record)

    monkeypatch.setattr(app.store, "record_flagged", flaky)
    await app.pipeline.handle([hoax()])
    assert len(app.pipeline.failed) == 1 and await app.store.incidents() == []
    await app.tick()
    assert app.pipeline.failed == [] and len(await app.store.incidents()) == 1


async def test_an_event_failing_every_time_is_saved_with_its_error(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(record: Any) -> Any:
        raise OSError("disk I/O error")

    monkeypatch.setattr(app.store, "record_flagged", broken)
    await app.pipeline.handle([hoax()])
    for _ in range(5):
        await app.tick()
    saved = (app.data_dir / "failed_events.jsonl").read_text().splitlines()
    assert app.dead_lettered == 1 and len(saved) == 1
    assert json.loads(saved[0])["error"] == "OSError: disk I/O error"


async def test_a_classifier_failure_keeps_the_messages(app: App, monkeypatch) -> None:
    def explode(texts: list[str]) -> Any:
        raise RuntimeError("model crashed")

    monkeypatch.setattr(app.service, "analyse", explode)
    await app.pipeline.handle([hoax(1), hoax(2)])
    assert [m.message_id for m, _ in app.pipeline.failed] == ["1", "2"]


async def test_redelivered_message_has_no_second_effect(app: App) -> None:
    await app.pipeline.handle([hoax()])
    await app.pipeline.handle([hoax()])
    [incident] = await app.store.incidents()
    assert incident.occurrences == 1
