"""End to end through the `botkit` command, as an admin or CI would run it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

DATA = ROOT / "tests" / "data"
BOTKIT = [sys.executable, "-m", "botkit.cli"]  # the installed console script runs the same


def botkit(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "BOTKIT_HASH_KEY": "test-key-0123456789abcdef",
        "NO_COLOR": "1",
        "COLUMNS": "200",
    }
    return subprocess.run(
        [*BOTKIT, *args], cwd=cwd, input=stdin, capture_output=True, text=True, timeout=120, env=env
    )


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A copy of the shipped config and models, so runs write their store under tmp."""
    shutil.copy(ROOT / "config.toml", tmp_path / "config.toml")
    (tmp_path / "models").symlink_to(ROOT / "models")
    return tmp_path


def test_version(workdir: Path) -> None:
    result = botkit("--version", cwd=workdir)
    assert result.returncode == 0 and result.stdout.startswith("botkit ")


def test_check_config_prints_a_summary(workdir: Path) -> None:
    result = botkit("check-config", cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert "config OK" in result.stdout and "Xã Cư M’gar" in result.stdout


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("[bot]\ncolour = 'blue'\n", "bot.colour: unknown key"),
        ("not toml at all [", "not valid TOML"),
    ],
)
def test_broken_config_exits_2_with_the_reason(workdir: Path, content: str, expected: str) -> None:
    (workdir / "config.toml").write_text(content)
    result = botkit("check-config", cwd=workdir)
    assert result.returncode == 2
    assert expected in result.stderr


def test_missing_config_exits_2(tmp_path: Path) -> None:
    result = botkit("run", "--config", "nope.toml", cwd=tmp_path)
    assert result.returncode == 2 and "no such file" in result.stderr


def test_console_through_stdin_flags_and_alerts(workdir: Path) -> None:
    stdin = (
        "Lan: Chào cả nhà, chiều nay họp thôn lúc 3 giờ nhé\n"
        "Hùng: CHIA SẺ GẤP!!! Thôn 3 xã Cư M'gar đã có 15 ca nhiễm covid, bệnh viện huyện"
        " phong tỏa từ tối nay, ai có người nhà ở đó đừng về\n"
        "\n"
        "😀😀😀\n" + "a" * 100_000 + "\n"
        "thanh: /ack 1\n"
        "stranger: /confirm 1\n"
    )
    result = botkit("run", cwd=workdir, stdin=stdin)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "fake_news (Tin giả)" in out  # the flag, key beside its Vietnamese name
    assert "tới thanh" in out and "/ack 1" in out  # the alert as delivered to the officer
    assert "Đã tiếp nhận" in out  # the officer's command worked
    assert "chỉ cán bộ đã đăng ký" in out  # a stranger is refused
    assert (workdir / "var" / "botkit.sqlite3").exists()


def test_replay_dry_run_writes_events_and_leaves_no_trace(workdir: Path) -> None:
    output = workdir / "events.jsonl"
    result = botkit(
        "replay",
        str(DATA / "telegram_export.json"),
        str(DATA / "telegram_export_2.json"),
        "--dry-run",
        "--output",
        str(output),
        cwd=workdir,
    )
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in output.read_text().splitlines()]
    kinds = [e["event"] for e in events]
    assert "opened" in kinds and "updated" in kinds and "escalated" in kinds
    for event in events:
        assert {
            "event",
            "at",
            "message_id",
            "chat_id",
            "category",
            "score",
            "incident_id",
            "officer",
            "unit",
            "jurisdiction",
        } <= event.keys()
    hoax = [e for e in events if e["category"] == "fake_news"]
    assert len({e["incident_id"] for e in hoax}) == 1  # the forward in two groups: one incident
    assert not (workdir / "var").exists()  # dry run: no store, no key file


def test_replay_reports_broken_input_and_processes_the_rest(workdir: Path) -> None:
    broken = workdir / "broken.jsonl"
    broken.write_text('{"chat_id": "g", "text": "xin chao", "date": 1772413200}\n{oops\n')
    result = botkit("replay", str(broken), "--dry-run", cwd=workdir)
    assert result.returncode == 0
    assert "line 2" in result.stderr and "replayed 1 message" in result.stdout


def test_classify_jsonl_gives_every_label_a_score(workdir: Path) -> None:
    csv_text = "id,text\n1,co trom xe may o thon 5 mn oi\n2,chào buổi sáng cả nhà\n"
    (workdir / "in.csv").write_text(csv_text)
    result = botkit("classify", "--input", "in.csv", "--format", "jsonl", cwd=workdir)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["1", "2"]
    for row in rows:
        assert set(row["scores"]) == {
            "fake_news",
            "crime_report",
            "scam",
            "traffic_accident",
            "normal",
        }
        assert abs(sum(row["scores"].values()) - 1) < 1e-3
    assert rows[1]["label"] == "normal"


def test_purge_applies_retention(workdir: Path) -> None:
    assert botkit("purge", cwd=workdir).returncode == 0


def test_a_tampered_model_is_refused_with_the_file_named(workdir: Path) -> None:
    (workdir / "models").unlink()
    shutil.copytree(ROOT / "models", workdir / "models")
    current = json.loads((workdir / "models" / "registry.json").read_text())["current"]
    model_file = workdir / "models" / current / "model.skops"
    model_file.write_bytes(model_file.read_bytes()[:-100] + b"\0" * 100)
    result = botkit("run", cwd=workdir, stdin="Lan: xin chào\n")
    assert result.returncode == 2
    assert "model error" in result.stderr and "model.skops" in result.stderr


def test_a_corrupt_database_is_a_clear_error(workdir: Path) -> None:
    (workdir / "var").mkdir()
    (workdir / "var" / "botkit.sqlite3").write_bytes(b"not a database" * 200)
    result = botkit("run", cwd=workdir, stdin="")
    assert result.returncode == 2 and "store error" in result.stderr
