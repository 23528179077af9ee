"""kill -9 mid-stream and SIGTERM under a flood, every message accounted for.

Real `botkit run` processes against the Bot API emulator (see `chaos.py`). The benchmark
`bench/bench_faults.py` runs the same with more kills and a bigger flood.
"""

from __future__ import annotations

from pathlib import Path

from tests.faults.chaos import run

STOP_TIMEOUT = 10  # [bot] stop_timeout_seconds in the chaos config
TEARDOWN = 5  # the interpreter's own exit after the deadline


async def test_kill_9_mid_stream_loses_nothing_and_pages_once(tmp_path: Path) -> None:
    report = await run(tmp_path, "kill", kills=2, messages=100, per_second=25, seed=11)
    detail = report.summary() + "".join(f"\n  lost: {x}" for x in report.lost[:10])
    assert report.clean, detail
    assert report.kills == 2 and report.processed == report.pushed, detail
    assert report.incidents >= 5 and report.pages >= report.incidents, detail
    assert report.exit_code == 0 and report.stop_seconds < STOP_TIMEOUT + TEARDOWN, detail


async def test_sigterm_under_a_flood_ends_in_time_and_loses_nothing(tmp_path: Path) -> None:
    # A small intake: the adapter must wait for room (backpressure) while the flood lasts.
    report = await run(tmp_path, "flood", flood=1000, seed=5, capacity=300)
    detail = report.summary() + "".join(f"\n  lost: {x}" for x in report.lost[:10])
    assert report.exit_code == 0 and report.stop_seconds < STOP_TIMEOUT + TEARDOWN, detail
    assert report.clean and report.processed == report.pushed == 1000, detail
