"""End to end through the `botkit` command, as an admin or CI would run it."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, read_only
from tests.redis_server import free_port

DATA = ROOT / "tests" / "data"
BOTKIT = [sys.executable, "-m", "botkit.cli"]  # the installed console script runs the same


def botkit(
    *args: str, cwd: Path, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "BOTKIT_HASH_KEY": "test-key-0123456789abcdef",
        "NO_COLOR": "1",
        "COLUMNS": "200",
        **(env or {}),
    }
    return subprocess.run(
        [*BOTKIT, *args], cwd=cwd, input=stdin, capture_output=True, text=True, timeout=120, env=env
    )


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
    # The alert as delivered to the officer on duty: the shipped roster has Y Thành from 07:00
    # to 18:59 and Bình overnight, and `botkit run` reads the real clock.
    assert re.search(r"── tới (thanh|binh) \[c\d+\]\n🚨 Vụ #1", out), out
    # The officer's command worked, and its answer went to the officer's private chat.
    assert re.search(r"── tới thanh \[c\d+\]\nVụ #1: Đã tiếp nhận", out), out
    # A stranger's command in the residents' group gets no answer there (nor anywhere).
    assert "chỉ cán bộ đã đăng ký" not in out
    assert "── tới console" not in out
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
    assert result.returncode == 1  # something was skipped: the rest was replayed
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
    # Every version in the history: a broken current one alone falls back to the previous.
    for version in json.loads((workdir / "models" / "registry.json").read_text())["history"]:
        model_file = workdir / "models" / version / "model.skops"
        model_file.write_bytes(model_file.read_bytes()[:-100] + b"\0" * 100)
    result = botkit("run", cwd=workdir, stdin="Lan: xin chào\n")
    assert result.returncode == 2
    assert "model error" in result.stderr and "model.skops" in result.stderr


def test_a_started_bot_sets_its_long_lived_objects_aside_from_garbage_collection(
    workdir: Path,
) -> None:
    # Each full pass over them stopped the loop for 100-200 ms (see `botkit.heap`).
    result = botkit("run", "--verbose", cwd=workdir, stdin="Lan: xin chào\n")
    assert result.returncode == 0, result.stderr
    # (The log's redaction hides the count, as it hides every number.)
    assert "long-lived objects set aside from garbage collection" in result.stderr


def test_a_corrupt_database_is_a_clear_error(workdir: Path) -> None:
    (workdir / "var").mkdir()
    (workdir / "var" / "botkit.sqlite3").write_bytes(b"not a database" * 200)
    result = botkit("run", cwd=workdir, stdin="")
    assert result.returncode == 2 and "store error" in result.stderr


def _config_with(workdir: Path, storage: str) -> None:
    config = workdir / "config.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('path = "var/botkit.sqlite3"', storage), encoding="utf-8")


@pytest.mark.parametrize(
    ("storage", "expected"),
    [
        ('path = "var/botkit.sqlite3"\nmax_megabytes = 0.02', "is full"),
        ('path = "a-file/botkit.sqlite3"', "cannot create its folder"),
    ],
)
def test_a_store_that_cannot_be_written_stops_the_start_with_one_line(
    workdir: Path, storage: str, expected: str
) -> None:
    (workdir / "a-file").write_text("not a folder")
    _config_with(workdir, storage)
    result = botkit("run", cwd=workdir, stdin="Lan: xin chào\n")
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()[-1:]
    assert line.startswith("store error:") and expected in line and "Traceback" not in result.stderr


def test_a_read_only_store_stops_the_start_with_one_line(workdir: Path) -> None:
    assert botkit("run", cwd=workdir, stdin="").returncode == 0  # made the store
    db = workdir / "var" / "botkit.sqlite3"
    with read_only(db):
        result = botkit("run", cwd=workdir, stdin="Lan: xin chào\n")
    assert result.returncode == 2, result.stderr
    assert "store error" in result.stderr and "read-only" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_changed_hash_key_stops_the_start_with_one_line(workdir: Path) -> None:
    assert botkit("run", cwd=workdir, stdin="").returncode == 0
    env = {**os.environ, "BOTKIT_HASH_KEY": "a-different-key-0123456789", "NO_COLOR": "1"}
    result = subprocess.run(
        [*BOTKIT, "run"], cwd=workdir, input="", capture_output=True, text=True, env=env,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 2
    assert "hash key error" in result.stderr and "BOTKIT_HASH_KEY" in result.stderr
    assert "Traceback" not in result.stderr


def test_status_and_dead_letters_show_no_content(workdir: Path) -> None:
    botkit("run", cwd=workdir, stdin="Hùng: co trom vao nha em o thon 5 lay mat xe wave\n")
    status = botkit("status", cwd=workdir)
    assert status.returncode == 0 and "intake: 0 event(s) waiting" in status.stdout
    assert "incident(s) open" in status.stdout and "trom" not in status.stdout
    letters = botkit("dead-letters", cwd=workdir)
    assert letters.returncode == 0 and "0 dead letter(s)" in letters.stdout


def test_officer_verdicts_are_exported_as_labelled_rows(workdir: Path) -> None:
    stdin = (
        "Hùng: CHIA SẺ GẤP!!! Thôn 3 xã Cư M'gar đã có 15 ca nhiễm covid, bệnh viện huyện"
        " phong tỏa từ tối nay, ai có người nhà ở đó đừng về\n"
        "Tư: co trom vao nha em o thon 5 lay mat xe wave, ae ai thay bao giup\n"
        "/confirm 1\n"
        "/false 2\n"
    )
    assert botkit("run", cwd=workdir, stdin=stdin).returncode == 0
    result = botkit("labels", "export", "--output", "labels.csv", cwd=workdir)
    assert result.returncode == 0, result.stderr
    rows = (workdir / "labels.csv").read_text().splitlines()
    assert rows[0] == "id,text,label"
    labels = sorted(row.rsplit(",", 1)[1] for row in rows[1:])
    assert labels == ["fake_news", "normal"]


def test_train_any_taxonomy_then_classify_and_evaluate_with_it(workdir: Path) -> None:
    rows = ["text,label"]
    rumours = [
        "nghe nói {} có dịch lạ, đóng cửa hết",
        "CHIA SẺ GẤP {} sắp vỡ đập",
        "tin nóng: {} phát tiền hỗ trợ 5 triệu, đăng ký ngay",
    ]
    facts = [
        "họp thôn ở {} lúc 3 giờ chiều",
        "chợ {} hôm nay cà phê 120k",
        "lịch tiêm chủng ở trạm y tế {} sáng thứ 5",
    ]
    for i, place in enumerate(
        [
            "thôn 1",
            "thôn 2",
            "buôn Ea Tul",
            "Quảng Phú",
            "Cư Mgar",
            "tổ dân phố 5",
            "thôn 7",
            "buôn Ko Tam",
        ]
    ):
        rows += [f'"{r.format(place)}",1' for r in rumours]
        rows += [f'"{f.format(place)} số {i}",0' for f in facts]
    (workdir / "rumours.csv").write_text("\n".join(rows) + "\n")
    result = botkit("train", "--data", "rumours.csv", "--output", "rumour-model", cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert (workdir / "rumour-model" / "model.skops").exists()
    result = botkit(
        "train",
        "--data",
        "rumours.csv",
        "--search",
        "--search-minutes",
        "0.1",
        "--output",
        "searched-model",
        cwd=workdir,
    )
    assert result.returncode == 0, result.stderr
    card = json.loads((workdir / "searched-model" / "card.json").read_text())
    assert "search of" in card["notes"] and "cross-validated macro-F1" in card["notes"]
    (workdir / "in.csv").write_text("id,text\na,CHIA SẺ GẤP thôn 9 sắp vỡ đập\n")
    result = botkit("classify", "--input", "in.csv", "--model", "rumour-model", cwd=workdir)
    assert result.returncode == 0, result.stderr
    row = json.loads(result.stdout)
    assert set(row["scores"]) == {"0", "1"} and row["label"] == "1"
    result = botkit(
        "eval",
        "--model",
        "rumour-model",
        "--data",
        "rumours.csv",
        "--plot",
        "eval.png",
        cwd=workdir,
    )
    assert result.returncode == 0, result.stderr
    assert "macro-F1" in result.stdout and (workdir / "eval.png").stat().st_size > 1000


def test_training_data_errors_come_before_any_work(workdir: Path) -> None:
    (workdir / "bad.csv").write_text("message,label\nxin chao,0\n")
    result = botkit("train", "--data", "bad.csv", cwd=workdir)
    assert result.returncode == 2 and "text" in result.stderr


def test_promotion_gate_and_rollback(workdir: Path) -> None:
    (workdir / "models").unlink()
    shutil.copytree(ROOT / "models", workdir / "models")
    current = json.loads((workdir / "models" / "registry.json").read_text())["current"]
    # a deliberately weak default-taxonomy model: one message per label, no seed
    rows = [
        "text,label",
        "tin giả covid,fake_news",
        "trộm xe,crime_report",
        "chuyển khoản nhận quà,scam",
        "xe tông nhau,traffic_accident",
        "chào cả nhà,normal",
    ]
    (workdir / "weak.csv").write_text("\n".join(rows) + "\n")
    result = botkit(
        "train", "--data", "weak.csv", "--no-seed", "--output", "models/weak", cwd=workdir
    )
    assert result.returncode == 0, result.stderr
    refused = botkit("models", "promote", "weak", cwd=workdir)
    assert refused.returncode == 1 and "refused" in refused.stderr
    assert botkit("models", "promote", "weak", "--force", cwd=workdir).returncode == 0
    listing = botkit("models", "list", cwd=workdir).stdout
    assert "weak" in listing
    back = botkit("models", "rollback", cwd=workdir)
    assert back.returncode == 0 and current in back.stdout


def test_a_confirmed_hoax_is_recognised_when_it_comes_back_reworded(workdir: Path) -> None:
    stdin = (
        "Hùng: CHIA SẺ GẤP!!! Thôn 3 xã Cư M'gar đã có 15 ca nhiễm covid, bệnh viện huyện"
        " phong tỏa từ tối nay, ai có người nhà ở đó đừng về\n"
        "/confirm 1\n"
        "Lan: thon 3 xa cu mgar da co 15 ca nhiem covid benh vien huyen phong toa tu toi nay"
        " 😱😱\n"
    )
    result = botkit("run", cwd=workdir, stdin=stdin)
    assert result.returncode == 0, result.stderr
    assert "⚑ updated #1 fake_news" in result.stdout
    assert "opened #2" not in result.stdout


def _running_bot_with_an_open_incident(
    workdir: Path,
) -> tuple[subprocess.Popen[str], str]:
    """`botkit run` on stdin, once a reported theft has opened incident #1 (its stdout so far)."""
    env = {**os.environ, "BOTKIT_HASH_KEY": "test-key-0123456789abcdef", "NO_COLOR": "1"}
    proc = subprocess.Popen(
        [*BOTKIT, "run"], cwd=workdir, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("Tư: co trom vao nha em o thon 5 lay mat xe wave, ae ai thay bao giup\n")
    proc.stdin.flush()
    deadline = time.monotonic() + 60
    seen = ""
    while "⚑ opened" not in seen and time.monotonic() < deadline:
        seen += proc.stdout.readline()
    return proc, seen


def test_sigterm_stops_after_handling_what_was_accepted(workdir: Path) -> None:
    proc, seen = _running_bot_with_an_open_incident(workdir)
    proc.send_signal(signal.SIGTERM)  # stdin stays open: only the signal can stop it
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "⚑ opened #1 crime_report" in seen and "done: 1 message(s), 1 flag(s)" in out
    assert "Traceback" not in err  # a clean stop is not a crash


def test_sighup_reloads_the_config_and_the_bot_goes_on(workdir: Path) -> None:
    proc, seen = _running_bot_with_an_open_incident(workdir)
    assert proc.stderr is not None
    proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 60
    logged = ""
    while "configuration reloaded" not in logged and time.monotonic() < deadline:
        logged += proc.stderr.readline()
    after = "Lan: tối nay trộm vào nhà bác Tư ở thôn 5 lấy mất con bò, ai thấy báo giúp\n"
    out, err = proc.communicate(after, timeout=60)  # then stdin ends, and so does the run
    assert "configuration reloaded" in logged, logged + err
    assert proc.returncode == 0, err
    assert "done: 2 message(s), 2 flag(s)" in out, seen + out
    assert "Traceback" not in logged + err


def test_sigterm_under_an_unthrottled_writer_ends_in_time_and_keeps_the_rest(
    workdir: Path,
) -> None:
    import sqlite3

    env = {**os.environ, "BOTKIT_HASH_KEY": "test-key-0123456789abcdef", "NO_COLOR": "1"}
    line = "Lan: chiều nay họp tổ dân phố lúc 5 giờ nhé, nhà nào cũng đi nhé\n"
    writer = subprocess.Popen(
        [sys.executable, "-c", f"import sys\nwhile True: sys.stdout.write({line!r})"],
        stdout=subprocess.PIPE,
    )
    bot = subprocess.Popen(
        [*BOTKIT, "run"], cwd=workdir, stdin=writer.stdout, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    db = workdir / "var" / "botkit.sqlite3"

    def handled() -> int:
        if not db.exists():
            return 0
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
            try:
                return int(conn.execute("SELECT COUNT(*) FROM intake").fetchone()[0])
            except sqlite3.OperationalError:
                return 0  # not migrated yet

    deadline = time.monotonic() + 60
    while handled() < 500 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert handled() >= 500, "the bot never got going"
    started = time.monotonic()
    bot.send_signal(signal.SIGTERM)
    _, err = bot.communicate(timeout=60)
    stopped_in = time.monotonic() - started
    writer.kill()
    writer.wait()
    assert bot.returncode == 0, err
    assert stopped_in < 15, f"SIGTERM took {stopped_in:.1f} s"  # stop_timeout_seconds = 10
    # What was read but not handled waits in the store; the next run, at end of input,
    # handles it.
    second = botkit("run", cwd=workdir, stdin="")
    assert second.returncode == 0, second.stderr
    status = json.loads(botkit("status", "--json", cwd=workdir).stdout)
    assert status["intake"]["pending"] == 0 and status["intake"]["dead_letters"] == 0


def test_redis_out_of_reach_at_start_is_one_line_naming_the_url(workdir: Path) -> None:
    config = workdir / "config.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('backend = "sqlite"', 'backend = "redis"'), encoding="utf-8")
    port = free_port()  # nobody listens there
    env = {"BOTKIT_REDIS_URL": f"redis://:s3cret@127.0.0.1:{port}/0"}
    for command in (["worker"], ["status"]):  # `run` opens the store the same way
        result = botkit(*command, cwd=workdir, stdin="", env=env)
        assert result.returncode == 2, (command, result.stderr)
        [line] = result.stderr.strip().splitlines()
        assert line.startswith("store error:") and f"127.0.0.1:{port}" in line, line
        assert "cannot reach Redis" in line and "s3cret" not in line, line


def test_a_fleet_command_on_the_embedded_store_is_refused(workdir: Path) -> None:
    for command in (["worker"], ["run", "--no-worker"]):
        result = botkit(*command, cwd=workdir, stdin="")
        assert result.returncode == 2 and "shared store" in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def _other_taxonomy_model(workdir: Path) -> None:
    """A model whose labels are `rumour` and `normal`, trained into models/rumour-model."""
    (workdir / "models").unlink()
    shutil.copytree(ROOT / "models", workdir / "models")
    rumours = [
        "nghe nói {} có dịch lạ đang lan, đóng cửa hết đi bà con",
        "CHIA SẺ GẤP: đập thủy điện gần {} sắp vỡ trong đêm nay",
        "tin nóng: {} phát tiền hỗ trợ 5 triệu mỗi hộ, đăng ký ngay kẻo hết",
    ]
    facts = [
        "họp thôn ở {} lúc 3 giờ chiều mai, mời bà con đến đủ",
        "chợ {} hôm nay cà phê nhân 120 nghìn một ký",
        "lịch tiêm chủng ở trạm y tế {} sáng thứ năm tuần này",
    ]
    places = ["thôn 1", "thôn 2", "buôn Ea Tul", "Quảng Phú", "Cư Mgar", "tổ dân phố 5"]
    rows = ["text,label"]
    for i, place in enumerate(places):
        rows += [f'"{r.format(place)} ({i})",rumour' for r in rumours]
        rows += [f'"{f.format(place)} ({i})",normal' for f in facts]
    (workdir / "rumours.csv").write_text("\n".join(rows) + "\n")
    result = botkit(
        "train", "--data", "rumours.csv", "--output", "models/rumour-model", cwd=workdir
    )
    assert result.returncode == 0, result.stderr


def test_promotion_refuses_a_model_whose_labels_are_not_the_configs_categories(
    workdir: Path,
) -> None:
    _other_taxonomy_model(workdir)
    refused = botkit("models", "promote", "rumour-model", cwd=workdir)
    assert refused.returncode == 1, refused.stderr
    assert "lacks the configured categories" in refused.stderr and "'scam'" in refused.stderr
    assert "['rumour']" in refused.stderr and "nan" not in refused.stderr


def test_a_model_with_other_labels_runs_the_bot_with_categories_from_the_config(
    workdir: Path,
) -> None:
    _other_taxonomy_model(workdir)
    config = (workdir / "config.toml").read_text()
    head, _, rest = config.partition("[categories.fake_news]")
    routes_at = rest.find("\n[[routes]]")
    tail = rest[routes_at:] if routes_at >= 0 else ""
    custom = (
        '[categories.rumour]\nthreshold = 0.5\nunit = "commune_police"\npolicy = "alert"\n'
        "hoax = true\n"
    )
    text = head.replace('registry = "models"', 'path = "models/rumour-model"') + custom + tail
    text = text.replace('categories = ["traffic_accident"]', 'categories = ["rumour"]')
    (workdir / "config.toml").write_text(text)
    checked = botkit("check-config", cwd=workdir)
    assert checked.returncode == 0, checked.stderr
    assert "categories.crime_report" not in checked.stderr  # nothing left of the default
    result = botkit(
        "run", cwd=workdir, stdin="Hùng: CHIA SẺ GẤP: đập thủy điện gần thôn 9 sắp vỡ trong đêm\n"
    )
    assert result.returncode == 0, result.stderr
    assert "⚑ opened #1 rumour" in result.stdout


def test_a_job_prints_what_its_tasks_await_on_sigusr2(capfd: pytest.CaptureFixture[str]) -> None:
    """`kill -USR2` writes each asyncio task down to the future it waits on: a process stuck
    with every thread idle (its loop in `select`) is a task waiting for what will not come."""
    import asyncio
    import os

    from botkit.cli import _job

    async def waits_for(gate: asyncio.Event) -> None:
        await gate.wait()

    async def job() -> int:
        gate = asyncio.Event()
        task = asyncio.create_task(waits_for(gate), name="the-stuck-one")
        await asyncio.sleep(0)
        os.kill(os.getpid(), signal.SIGUSR2)
        await asyncio.sleep(0.1)  # the handler runs on the loop
        gate.set()
        await task
        return 7

    assert _job(job()) == 7
    printed = capfd.readouterr().err
    assert "the-stuck-one (pending):" in printed
    stuck = printed.split("the-stuck-one (pending):", 1)[1]
    assert "in waits_for" in stuck and "in wait" in stuck  # down to Event.wait
    assert "awaits <Future pending" in stuck


def test_a_job_prints_its_threads_stacks_on_sigusr1() -> None:
    """`kill -USR1` on a stuck process writes where each thread is to its log."""
    import asyncio
    import faulthandler

    from botkit.cli import _job

    faulthandler.unregister(signal.SIGUSR1)
    assert _job(asyncio.sleep(0, result=7)) == 7
    assert faulthandler.unregister(signal.SIGUSR1)  # the job had registered it
