"""Matching residents' questions to known procedures, or to none."""

from __future__ import annotations

import csv

import pytest

from botkit.residents.knowledge import load_knowledge
from classifiers.faq import FaqEntry, FaqMatcher
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def matcher() -> FaqMatcher:
    return FaqMatcher(load_knowledge().entries)


def test_questions_as_residents_type_them_find_their_procedure(matcher: FaqMatcher) -> None:
    asked = {
        "cho em hỏi làm cccd cho con 10 tuổi ở đâu ạ": "id_card_child",
        "lam lai can cuoc bi mat o dau": "id_card_lost",
        "Tôi mới mua xe máy, đăng ký biển số ở đâu": "vehicle_registration",
        "nha co khach o lai qua dem co phai bao cong an khong": "stay_notice",
    }
    found = matcher.match(list(asked))
    assert [m.id if m else None for m in found] == list(asked.values())


def test_a_question_no_entry_covers_is_left_for_an_officer(matcher: FaqMatcher) -> None:
    [found] = matcher.match(["Cho hỏi thủ tục cấp sổ đỏ lần đầu làm ở đâu ạ"])
    assert found is None


def test_on_the_development_set_few_answers_are_wrong(matcher: FaqMatcher) -> None:
    """The set the threshold was chosen on (the held-out set is for bench/bench_answers.py)."""
    with (ROOT / "tests/data/procedures/dev.csv").open(encoding="utf-8") as fh:
        rows = [(r["question"], r["expected"]) for r in csv.DictReader(fh)]
    found = matcher.match([q for q, _ in rows])
    known = [(e, m) for (_, e), m in zip(rows, found, strict=True) if e != "none"]
    right = sum(m is not None and m.id == e for e, m in known) / len(known)
    wrong = sum(m is not None and m.id != e for (_, e), m in zip(rows, found, strict=True))
    assert right >= 0.85 and wrong / len(rows) <= 0.10


def test_it_needs_entries_to_tell_apart() -> None:
    with pytest.raises(ValueError, match="two entries"):
        FaqMatcher([FaqEntry("a", "A", (), ("q",))])
