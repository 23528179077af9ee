"""A user's mistakes on the command line: one clear line, exit code 2, nothing overwritten."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.e2e.test_cli import BOTKIT, DATA, botkit


def _one_line(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_classify_refuses_bytes_that_are_not_utf8(workdir: Path) -> None:
    env = {**os.environ, "BOTKIT_HASH_KEY": "test-key-0123456789abcdef"}
    result = subprocess.run(
        [*BOTKIT, "classify"],
        cwd=workdir,
        input="chào cả nhà\n".encode("cp1258", errors="replace") + b"\xff\xfe tr\xf4m\n",
        capture_output=True,
        timeout=120,
        env=env,
    )
    decoded = subprocess.CompletedProcess(
        result.args, result.returncode, result.stdout.decode(), result.stderr.decode()
    )
    _one_line(decoded, "stdin: not UTF-8 (line")


def test_classify_names_a_csv_field_over_the_limit(workdir: Path) -> None:
    (workdir / "big.csv").write_text('id,text\n1,xin chào\n2,"' + "a" * 140_000 + '"\n')
    result = botkit("classify", "--input", "big.csv", cwd=workdir)
    _one_line(result, "big.csv: line 3: a field over 128 KiB")


def test_classify_refuses_a_plain_line_over_128_kib_and_takes_100_kb(workdir: Path) -> None:
    result = botkit("classify", cwd=workdir, stdin="xin chao\n" + "co trom xe may " * 10_000)
    _one_line(result, "stdin: line 2: over 128 KiB")
    ok = botkit("classify", cwd=workdir, stdin="co trom xe may " * 6_600 + "\n")  # 99 KB
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.count("\n") == 1


def test_classify_refuses_an_id_column_that_is_not_there(workdir: Path) -> None:
    (workdir / "in.csv").write_text("ma,text\n1,xin chào\n")
    result = botkit("classify", "--input", "in.csv", "--id-column", "id", cwd=workdir)
    _one_line(result, "no column 'id' (--id-column); columns: ma, text")
    ok = botkit("classify", "--input", "in.csv", "--id-column", "ma", cwd=workdir)
    assert ok.returncode == 0 and '"id": "1"' in ok.stdout


@pytest.mark.parametrize(
    "command",
    [
        ["replay", str(DATA / "telegram_export.json"), "--dry-run", "--output"],
        ["labels", "export", "--output"],
        ["eval", "--data", str(DATA / "telegram_export.json"), "--plot"],
    ],
    ids=["replay", "labels-export", "eval"],
)
def test_an_output_into_a_missing_folder_is_refused_before_any_work(
    workdir: Path, command: list[str]
) -> None:
    result = botkit(*command, str(workdir / "no-such-dir" / "out"), cwd=workdir)
    _one_line(result, "no-such-dir does not exist")
    assert not (workdir / "var").exists()  # refused before opening anything


def test_labels_export_and_train_do_not_overwrite_without_force(workdir: Path) -> None:
    (workdir / "labels.csv").write_text("keep me\n")
    result = botkit("labels", "export", "--output", "labels.csv", cwd=workdir)
    _one_line(result, "--output labels.csv: exists already; add --force to replace it")
    assert (workdir / "labels.csv").read_text() == "keep me\n"
    forced = botkit("labels", "export", "--output", "labels.csv", "--force", cwd=workdir)
    assert forced.returncode == 0, forced.stderr
    assert (workdir / "labels.csv").read_text().startswith("id,text,label")

    (workdir / "mymodel").mkdir()
    result = botkit("train", "--output", "mymodel", cwd=workdir)
    _one_line(result, "--output mymodel: exists already; add --force")


def test_replay_with_skipped_input_says_how_many_and_exits_1(workdir: Path) -> None:
    broken = workdir / "broken.jsonl"
    broken.write_text(
        '{"chat_id": "g", "text": "xin chao", "date": 1772413200}\n{oops\n{"chat_id": 1}\n'
    )
    (workdir / "events.jsonl").write_text("previous\n")
    result = botkit("replay", str(broken), "--dry-run", "--output", "events.jsonl", cwd=workdir)
    assert result.returncode == 1, result.stderr
    assert "replayed 1 message" in result.stdout and "2 input error(s), skipped" in result.stdout
    assert (workdir / "events.jsonl").read_text() == ""  # the run ended: its (empty) results


def test_a_hash_key_too_short_is_one_line(workdir: Path) -> None:
    result = botkit("run", cwd=workdir, stdin="xin chao\n", env={"BOTKIT_HASH_KEY": "short"})
    _one_line(result, "hash key error: the hash key from $BOTKIT_HASH_KEY is shorter than 16")


@pytest.mark.parametrize("province", ["99", '"Không Có"'])
def test_an_unknown_province_is_one_line(workdir: Path, province: str) -> None:
    config = (workdir / "config.toml").read_text(encoding="utf-8")
    broken = re.sub(r"(?m)^province = 66\b", f"province = {province}", config)
    assert broken != config
    (workdir / "config.toml").write_text(broken, encoding="utf-8")
    result = botkit("check-config", cwd=workdir)
    assert result.returncode == 2 and "no such province" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
