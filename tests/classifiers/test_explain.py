"""Why a message was flagged: the words whose absence lowers the label's score most."""

from __future__ import annotations

from classifiers.explain import explain
from classifiers.model import TextClassifier


def test_the_cues_of_a_scam_are_its_lure_and_masked_values_are_named_not_shown(
    tiny_model: TextClassifier,
) -> None:
    text = "Chúc mừng bạn trúng thưởng xe SH, chuyển khoản phí 500k vào stk 0123456789 để nhận"
    cues = explain(tiny_model, text, "scam")
    assert cues, "a scam the model flags must have cues"
    phrases = " ".join(c.phrase for c in cues)
    assert "0123456789" not in phrases and "500k" not in phrases
    assert any(w in phrases for w in ("trúng thưởng", "phí", "số tài khoản", "chuyển khoản"))
    assert all(c.weight > 0 for c in cues)
    assert [c.weight for c in cues] == sorted((c.weight for c in cues), reverse=True)


def test_no_cues_for_a_label_the_model_lacks_or_a_one_word_message(
    tiny_model: TextClassifier,
) -> None:
    assert explain(tiny_model, "trộm xe ở thôn 3", "no_such_label") == ()
    assert explain(tiny_model, "trộm", "crime_report") == ()
    assert explain(tiny_model, "", "crime_report") == ()
    assert explain(tiny_model, "😀😀😀", "scam") == ()


def test_cues_are_words_of_the_message(tiny_model: TextClassifier) -> None:
    text = "có 2 thằng lạ mặt đi xe Exciter không biển rình mấy nhà ở thôn 3"
    for cue in explain(tiny_model, text, "crime_report", limit=5):
        assert cue.phrase in text.lower()
