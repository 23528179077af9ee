"""The knowledge file: the shipped one is complete; a broken one is one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from botkit.residents.knowledge import KnowledgeError, load_knowledge

GOOD = """
[[procedure]]
id = "a"
title = "A"
questions = ["q"]
answer = "x"
"""


def test_the_shipped_file_covers_the_procedures_residents_ask_about() -> None:
    knowledge = load_knowledge()
    ids = {p.id for p in knowledge.procedures}
    assert {"temporary_residence", "id_card", "vehicle_registration", "vneid"} <= ids
    assert len(ids) == len(knowledge.procedures) >= 20
    assert all(p.answer and len(p.entry.questions) >= 10 for p in knowledge.procedures)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"\xff\xfe", "not UTF-8"),
        (b"[[procedure]\nid=", "not valid TOML"),
        (b"[[procedure]]\nid = 'a'\n", "procedure.0.title"),
        (GOOD.encode() + GOOD.encode(), "'a' appears twice"),
        (GOOD.replace('id = "a"', 'id = "A B"').encode(), "procedure.0.id"),
        (b"other = 1\n", "procedure"),
    ],
)
def test_a_broken_file_names_itself_and_the_problem(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    path = tmp_path / "k.toml"
    path.write_bytes(content)
    with pytest.raises(KnowledgeError, match=problem) as caught:
        load_knowledge(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError, match="cannot read"):
        load_knowledge(tmp_path / "nope.toml")
