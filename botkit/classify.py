"""The core's view of the classifiers: batches in, verdicts out (CPU work, run off the loop)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from botkit.domain.verdict import NORMAL, Evidence, Verdict
from classifiers.claims import ClaimIndex
from classifiers.entities import EntityExtractor
from classifiers.normalize import canonical_text, normalize
from classifiers.persistence import LoadedModel

_MAX_CHARS = 4000  # longer texts are classified on their head: a hoax shows itself early


@dataclass(frozen=True, slots=True)
class Analysis:
    verdict: Verdict
    canonical: str
    places: tuple[int, ...]


class ClassifierService:
    def __init__(
        self,
        loaded: LoadedModel,
        claims: ClaimIndex,
        entities: EntityExtractor | None,
        claim_threshold: float,
        min_score: float,
    ) -> None:
        self.loaded = loaded
        self.claims = claims
        self.entities = entities
        self.claim_threshold = claim_threshold
        self.min_score = min_score
        # The claim index is mutated by officers' confirmations while batches run in a thread.
        self._claims_lock = threading.Lock()

    @property
    def version(self) -> str:
        return self.loaded.card.version

    def add_claim(self, claim_id: str, text: str) -> None:
        with self._claims_lock:
            self.claims.add(claim_id, text)

    def analyse(self, texts: list[str]) -> list[Analysis]:
        """Classify a batch; entities only for the messages that may be flagged."""
        if not texts:
            return []
        heads = [t[:_MAX_CHARS] for t in texts]
        probs = self.loaded.model.predict_proba(heads)
        labels = [str(c) for c in self.loaded.model.classes_]
        out: list[Analysis] = []
        for text, row in zip(heads, probs, strict=True):
            scores = tuple((label, float(p)) for label, p in zip(labels, row, strict=True))
            best = max(scores, key=lambda s: s[1])[0]
            with self._claims_lock:
                matches = self.claims.match(text, limit=1) if len(self.claims) else []
            claim = (
                matches[0] if matches and matches[0].similarity >= self.claim_threshold else None
            )
            evidence: tuple[Evidence, ...] = ()
            places: tuple[int, ...] = ()
            flaggable = any(p >= self.min_score for lab, p in scores if lab != NORMAL) or claim
            if flaggable:
                evidence = tuple(Evidence(e.kind, e.value) for e in normalize(text).evidence)
                if self.entities is not None:
                    ents = self.entities.extract(text)
                    evidence += tuple(
                        Evidence(e.label.lower(), e.text)
                        for e in ents
                        if e.label in ("HAMLET", "COMMUNE", "PLATE")
                    )
                    places = tuple(dict.fromkeys(e.code for e in ents if e.code is not None))
            out.append(
                Analysis(
                    verdict=Verdict(
                        scores=scores,
                        label=best,
                        model_version=self.version,
                        evidence=evidence,
                        claim_id=claim.claim_id if claim else None,
                        claim_similarity=claim.similarity if claim else None,
                    ),
                    canonical=canonical_text(text),
                    places=places,
                )
            )
        return out
