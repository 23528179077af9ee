"""Residents' features from the command line, as an admin and a commander use them: the
console conversation, a bulletin sent and reported, the monthly report, a broken
knowledge file."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.e2e.test_cli import botkit


def test_a_resident_asks_tips_and_follows_the_case_then_the_month_is_reported(
    workdir: Path,
) -> None:
    lines = [
        "@Lan: cho em hỏi đăng ký tạm trú cho sinh viên thuê trọ cần giấy tờ gì ạ",
        "@Lan: xin giấy phép xây dựng nhà cấp 4 thì làm ở đâu",
        "@Hùng: /togiac",
        "@Hùng: Tối qua có 2 thanh niên lạ mặt bẻ khoá trộm xe máy nhà tôi",
        "@Hùng: thôn 5 xã Ea Tul",
        "@Hùng: khoảng 23 giờ tối qua",
        "@Hùng: không",
        "@Hùng: có",
        "Lan: chiều nay họp thôn lúc 3 giờ nhé bà con",
    ]
    first = botkit("run", cwd=workdir, stdin="\n".join(lines) + "\n")
    assert first.returncode == 0, first.stderr
    out = first.stdout
    assert "📘 Đăng ký tạm trú" in out
    assert "chuyển tới cán bộ trực của Công an xã Cư M'gar" in out
    assert "Bước 5/5" in out and "tin báo ẩn danh đã được chuyển" in out
    assert "· tin báo của người dân" in out and "Nơi: Xã Ea Tul" in out
    question = re.search(r"Câu hỏi #(\d+)", out)
    tip = re.search(r"ẩn danh đã được chuyển.*?/tinhtrang (\d+-[A-Z0-9]{5})", out, re.S)
    assert question and tip
    # A second run on the same store: the officer on duty answers, the tipster follows up.
    officer = re.search(r"── tới (\w+) \[c\d+\]\n❓ Câu hỏi", out)
    assert officer
    second = botkit(
        "run",
        cwd=workdir,
        stdin=(
            f"@{officer.group(1)}: /answer {question.group(1)} Anh hỏi UBND xã nhé.\n"
            f"@Hùng: /tinhtrang {tip.group(1)}\n"
        ),
    )
    assert second.returncode == 0, second.stderr
    assert "── tới Lan" in second.stdout and "Anh hỏi UBND xã nhé." in second.stdout
    assert "chờ tiếp nhận" in second.stdout
    # Counted on Vietnam's calendar day of the runs.
    year_month = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%Y-%m")
    report = botkit("report", "--month", year_month, "--format", "csv", cwd=workdir)
    assert report.returncode == 0, report.stderr
    rows = {r["commune"]: r for r in csv.DictReader(io.StringIO(report.stdout))}
    assert rows["Tổng"]["tips"] == "1" and rows["Tổng"]["answered"] == "1"
    assert rows["Tổng"]["handed_over"] == "1" and int(rows["Tổng"]["messages"]) >= 1
    empty = botkit("report", "--month", "2020-01", cwd=workdir)
    assert empty.returncode == 0 and "Không có dữ liệu cho tháng 01/2020" in empty.stdout


def test_a_bulletin_is_sent_to_the_communes_groups_and_reported(workdir: Path) -> None:
    (workdir / "canh-bao.txt").write_text(
        "Cảnh báo: đối tượng giả danh công an gọi điện yêu cầu chuyển tiền để xác minh,"
        " bà con không chuyển tiền.\n",
        encoding="utf-8",
    )
    sent = botkit(
        "bulletin", "send", "--jurisdiction", "Cư M'gar", "--file", "canh-bao.txt", cwd=workdir
    )
    assert sent.returncode == 0, sent.stderr
    assert "📢 THÔNG BÁO CỦA CÔNG AN" in sent.stdout
    assert "✓ console:console sent" in sent.stdout and "reached 1 of 1 group(s)" in sent.stdout


def test_mistakes_are_one_line_and_exit_2(workdir: Path) -> None:
    bad_month = botkit("report", "--month", "2026-13", cwd=workdir)
    assert bad_month.returncode == 2 and bad_month.stderr.strip().count("\n") == 0
    assert "there is no month 13" in bad_month.stderr
    (workdir / "k.toml").write_text("[[procedure]]\nid = 'a'\n", encoding="utf-8")
    config = (workdir / "config.toml").read_text(encoding="utf-8")
    config = config.replace("answers = true", 'answers = true\nknowledge = "k.toml"')
    (workdir / "config.toml").write_text(config, encoding="utf-8")
    checked = botkit("check-config", cwd=workdir)
    assert checked.returncode == 2 and "knowledge file error" in checked.stderr
    assert "k.toml: procedure.0.title" in checked.stderr and "Traceback" not in checked.stderr
    run = botkit("run", cwd=workdir, stdin="")
    assert run.returncode == 2 and "knowledge file error" in run.stderr
    assert "Traceback" not in run.stderr
