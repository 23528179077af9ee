"""Files written for the user: refused before the work, replaced only when it is done."""

from __future__ import annotations

from pathlib import Path

import pytest

from botkit.outputs import OutputError, check_output, replacing


def test_a_missing_folder_or_an_existing_file_is_refused_before_any_work(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match=r"the folder .*nowhere does not exist"):
        check_output(tmp_path / "nowhere" / "out.csv")
    existing = tmp_path / "out.csv"
    existing.write_text("old")
    with pytest.raises(OutputError, match="exists already; add --force"):
        check_output(existing, force=False)
    check_output(existing, force=True)
    check_output(existing)  # the command replaces its own results
    with pytest.raises(OutputError, match="is a folder"):
        check_output(tmp_path)


def test_a_failed_run_leaves_the_previous_results_intact(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text("previous\n")
    with pytest.raises(RuntimeError), replacing(path) as fh:
        fh.write("half of the new results\n")
        raise RuntimeError("the run failed")
    assert path.read_text() == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["events.jsonl"]  # no leftover
    with replacing(path) as fh:
        fh.write("new\n")
        assert path.read_text() == "previous\n"  # not before the end
    assert path.read_text() == "new\n"
