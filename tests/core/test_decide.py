"""The decision step: thresholds, policies, quiet on short chatter, known claims."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from botkit.classify import Analysis
from botkit.decide import decide
from botkit.domain import Message, Verdict
from botkit.privacy import Pseudonymizer
from tests.conftest import make_config

PSEUDO = Pseudonymizer(b"k" * 32)
MSG = Message("test", "g1", "1", "irrelevant here", datetime(2026, 3, 2, tzinfo=UTC))


def analysis(
    scores: dict[str, float],
    canonical: str = "mot tin nhan du dai de xet",
    claim: tuple[str, float] | None = None,
) -> Analysis:
    label = max(scores, key=scores.__getitem__)
    verdict = Verdict(
        tuple(scores.items()),
        label,
        "m",
        claim_id=claim[0] if claim else None,
        claim_similarity=claim[1] if claim else None,
    )
    return Analysis(verdict, canonical, ())


@pytest.mark.parametrize(
    ("scores", "category"),
    [
        ({"scam": 0.7, "normal": 0.3}, "scam"),
        ({"scam": 0.59, "normal": 0.41}, None),  # under the threshold
        ({"normal": 0.9, "fake_news": 0.1}, None),
        ({"crime_report": 0.62, "traffic_accident": 0.61, "normal": 0.0}, "crime_report"),
    ],
)
def test_threshold_per_category(scores: dict[str, float], category: str | None) -> None:
    flag = decide(make_config(), MSG, analysis(scores), 24280, PSEUDO)
    assert (flag.category if flag else None) == category


def test_policy_none_never_flags() -> None:
    config = make_config()
    categories = dict(config.categories)
    categories["scam"] = categories["scam"].model_copy(update={"policy": "none"})
    config = config.model_copy(update={"categories": categories})
    assert decide(config, MSG, analysis({"scam": 0.99, "normal": 0.01}), 24280, PSEUDO) is None


def test_short_chatter_is_never_flagged() -> None:
    assert (
        decide(make_config(), MSG, analysis({"scam": 0.99}, canonical="ck di"), 24280, PSEUDO)
        is None
    )


def test_a_known_claim_is_fake_news_whatever_the_model_says() -> None:
    flag = decide(
        make_config(),
        MSG,
        analysis({"normal": 0.9, "fake_news": 0.1}, claim=("claim-7", 0.91)),
        24280,
        PSEUDO,
    )
    assert flag is not None and flag.category == "fake_news" and flag.score == 0.91
    assert flag.content_key == "claim:claim-7"


def test_equivalent_texts_share_a_content_key() -> None:
    a = decide(
        make_config(), MSG, analysis({"scam": 0.9}, canonical="chuyen khoan truoc"), 24280, PSEUDO
    )
    b = decide(
        make_config(), MSG, analysis({"scam": 0.8}, canonical="chuyen khoan truoc"), 24280, PSEUDO
    )
    assert a is not None and b is not None and a.content_key == b.content_key
