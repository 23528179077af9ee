"""Why a message was flagged: the words whose absence lowers the label's score most."""

from __future__ import annotations

import numpy as np

from classifiers.corpus import LabelledData
from classifiers.explain import _bare, _log_odds, explain
from classifiers.model import TextClassifier
from classifiers.normalize import normalize
from tests.classifiers.conftest import TINY_PARAMS


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


class _OnlyProba:
    """A model known only by `predict_proba`: explained by occlusion."""

    def __init__(self, model: TextClassifier) -> None:
        self.model = model
        self.classes_ = model.classes_

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        return self.model.predict_proba(texts)


REPORTS = [
    ("Chúc mừng bạn trúng thưởng xe SH, chuyển khoản phí 500k vào stk 0123456789", "scam"),
    ("có 2 thằng lạ mặt đi xe Exciter không biển rình mấy nhà ở thôn 3", "crime_report"),
    ("xe tải tông xe máy ở ngã ba thôn 5, một người bị thương nặng", "traffic_accident"),
    ("KHẨN: từ mai cả xã bị phong tỏa vì dịch lạ, chia sẻ gấp cho mọi người", "fake_news"),
]


def _words(text: str) -> list[str]:
    return [w for w in (_bare(w) for w in normalize(text).text.split()) if w]


def _occlusion(model: TextClassifier, words: list[str], label: str) -> np.ndarray:
    column = list(model.classes_).index(label)
    variants = [" ".join(words)] + [" ".join(words[:i] + words[i + 1 :]) for i in range(len(words))]
    odds = _log_odds(model.predict_proba(variants)[:, column])
    return np.asarray(odds[0] - odds[1:])


def test_feature_contributions_rank_words_as_leaving_them_out_does(
    tiny_model: TextClassifier,
) -> None:
    for text, label in REPORTS:
        words = _words(text)
        fast = tiny_model.word_contributions(words, label)
        assert fast is not None and fast.shape == (len(words),)
        slow = _occlusion(tiny_model, words, label)
        assert np.corrcoef(fast, slow)[0, 1] > 0.8, (text, fast, slow)
        # The word the contributions rank first does lower the score when it is left out.
        assert slow[int(np.argmax(fast))] > 0, text


def test_a_model_with_only_predict_proba_is_explained_by_occlusion(
    tiny_model: TextClassifier,
) -> None:
    text, label = REPORTS[0]
    by_occlusion = explain(_OnlyProba(tiny_model), text, label)
    assert by_occlusion and all(c.weight > 0 for c in by_occlusion)
    # Both ways name the lure among their cues.
    ours = {w for c in explain(tiny_model, text, label) for w in c.phrase.split()}
    theirs = {w for c in by_occlusion for w in c.phrase.split()}
    assert ours & theirs


def test_binary_contributions_are_one_score_seen_from_each_side(
    binary_data: LabelledData,
) -> None:
    model = TextClassifier(**TINY_PARAMS).fit(list(binary_data.texts), list(binary_data.labels))
    words = _words(REPORTS[0][0])
    for_scam = model.word_contributions(words, "1")
    for_normal = model.word_contributions(words, "0")
    assert for_scam is not None and for_normal is not None
    assert np.allclose(for_scam, -for_normal)
    assert explain(model, REPORTS[0][0], "1")


def test_words_that_do_not_fold_letter_for_letter_fall_back_to_occlusion(
    tiny_model: TextClassifier,
) -> None:
    # A lone combining accent folds to nothing: offsets would not line up.
    words = ["trúng", "thưởng", "\u0301x", "phí", "chuyển", "khoản"]
    assert tiny_model.word_contributions(words, "scam") is None
    assert explain(tiny_model, " ".join(words), "scam")


def test_a_word_of_unseen_letters_is_credited_with_nothing(tiny_model: TextClassifier) -> None:
    # No n-gram touching "ƶƶƶƶ" was ever seen: whatever lands on it came from a neighbour.
    words = ["ƶƶƶƶ", "trúng", "thưởng", "chuyển", "khoản", "ƶƶƶƶ"]
    found = tiny_model.word_contributions(words, "scam")
    assert found is not None
    assert found[0] == 0.0 and found[-1] == 0.0
    assert found[1:-1].max() > 0


def test_the_weights_are_the_label_against_the_others_by_their_probability(
    tiny_data: LabelledData,
) -> None:
    # A one-word message: every n-gram touches that word (none is spaces alone from
    # two characters up), so its credit is the whole first-order log-odds,
    # (w_c - sum_k q_k w_k over the others) dotted with the features.
    params = {**TINY_PARAMS, "char_ngram_range": (2, 4)}
    model = TextClassifier(**params).fit(list(tiny_data.texts), list(tiny_data.labels))
    word = "trúng"
    classes = list(model.classes_)
    x = model.transform([word]).toarray()[0]
    z = model.decision_function([word])[0]
    for label in ("scam", "normal", "crime_report"):
        c = classes.index(label)
        others = [k for k in range(len(classes)) if k != c]
        q = np.exp(z[others] - z[others].max())
        q /= q.sum()
        expected = (model.coef_[c] - q @ model.coef_[others]) @ x
        found = model.word_contributions([word], label)
        assert found is not None
        assert np.isclose(found[0], expected), label
