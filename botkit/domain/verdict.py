"""What the classifiers said about a message, and the decision taken on it."""

from __future__ import annotations

from dataclasses import dataclass

from botkit.domain.message import Message

NORMAL = "normal"
# Evidence of a message that came as a picture: its fingerprint (botkit.images), so that
# confirming the hoax makes the picture known.
IMAGE_EVIDENCE = "image"


@dataclass(frozen=True, slots=True)
class Evidence:
    """Why a message was flagged: an entity, a masked value or a known claim."""

    kind: str
    value: str


@dataclass(frozen=True, slots=True)
class Verdict:
    scores: tuple[tuple[str, float], ...]
    label: str
    model_version: str
    evidence: tuple[Evidence, ...] = ()
    claim_id: str | None = None
    claim_similarity: float | None = None

    @property
    def score(self) -> float:
        return dict(self.scores).get(self.label, 0.0)

    def score_of(self, label: str) -> float:
        return dict(self.scores).get(label, 0.0)


@dataclass(frozen=True, slots=True)
class Flag:
    """A message the decision step chose to act on."""

    message: Message
    verdict: Verdict
    category: str
    score: float
    jurisdiction: int
    policy: str
    content_key: str
    canonical_excerpt: str
    places: tuple[int, ...] = ()
