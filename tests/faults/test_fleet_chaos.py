"""A fleet on Redis under faults, every message accounted for (see `redis_chaos.py`)."""

from __future__ import annotations

from pathlib import Path

from tests.faults.redis_chaos import run

STOP_TIMEOUT = 10  # [bot] stop_timeout_seconds in the chaos config
TEARDOWN = 5


async def test_workers_killed_mid_batch_lose_nothing_and_page_once(tmp_path: Path) -> None:
    report = await run(tmp_path, "kill-workers", kills=2, messages=100, per_second=25, seed=3)
    detail = report.summary() + "".join(f"\n  lost: {x}" for x in report.lost[:10])
    assert report.clean, detail
    assert report.processed == report.pushed, detail
    assert report.incidents >= 5 and report.pages >= report.incidents, detail
    assert report.exit_code == 0 and report.stop_seconds < STOP_TIMEOUT + TEARDOWN, detail


async def test_redis_restarted_under_load_loses_nothing(tmp_path: Path) -> None:
    report = await run(tmp_path, "restart-redis", restarts=1, messages=100, per_second=25, seed=8)
    detail = report.summary() + "".join(f"\n  lost: {x}" for x in report.lost[:10])
    assert report.clean, detail
    assert report.processed == report.pushed, detail
    assert report.exit_code == 0, detail


async def test_a_second_poller_of_the_same_bot_is_refused(tmp_path: Path) -> None:
    """Two intake processes polling one bot would steal each other's updates: the second
    says so in one line and exits 2; a worker beside them is welcome."""
    report = await run(tmp_path, "second-poller")
    assert report.exit_code == 2, report.summary()
    log = (tmp_path / "bot-2.log").read_text(encoding="utf-8")
    assert "another botkit process" in log and "telegram-bot:123456" in log, log
    assert "Traceback" not in log, log
