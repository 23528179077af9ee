"""Decide whether a verdict is acted on: thresholds, policy, quiet on short chatter."""

from __future__ import annotations

from botkit.classify import Analysis
from botkit.config import Config
from botkit.domain import Flag, Message
from botkit.domain.verdict import NORMAL
from botkit.privacy import Pseudonymizer


def decide(
    config: Config,
    message: Message,
    analysis: Analysis,
    jurisdiction: int,
    pseudonymizer: Pseudonymizer,
) -> Flag | None:
    verdict = analysis.verdict
    hoaxes = sorted(config.hoax_categories)
    if verdict.claim_id is not None and hoaxes:
        # A known claim is a confirmed hoax whatever the model says now.
        category = hoaxes[0] if len(hoaxes) == 1 else max(hoaxes, key=verdict.score_of)
        score = max(verdict.score_of(category), verdict.claim_similarity or 0.0)
        content_key = f"claim:{verdict.claim_id}"
    else:
        if len(analysis.canonical) < config.bot.short_message_chars:
            return None
        candidates = [
            (score, label)
            for label, score in verdict.scores
            if label != NORMAL
            and label in config.categories
            and score >= config.categories[label].threshold
        ]
        if not candidates:
            return None
        score, category = max(candidates)
        content_key = pseudonymizer.hash("content", analysis.canonical)
    settings = config.categories.get(category)
    if settings is None or settings.policy == "none":
        return None
    return Flag(
        message=message,
        verdict=verdict,
        category=category,
        score=score,
        jurisdiction=jurisdiction,
        policy=settings.policy,
        content_key=content_key,
        canonical_excerpt=analysis.canonical[:1000],
        places=analysis.places,
    )
