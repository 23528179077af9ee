"""The core's view of the classifiers: batches in, verdicts out (CPU work, run off the loop)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from botkit.domain.verdict import NORMAL, Evidence, Verdict
from classifiers.claims import ClaimIndex
from classifiers.entities import Entity, EntityExtractor
from classifiers.explain import explain_many
from classifiers.normalize import canonical_of, normalize
from classifiers.persistence import LoadedModel

_MAX_CHARS = 4000  # longer texts are classified on their head: a hoax shows itself early
_ENTITY_EVIDENCE = ("HAMLET", "COMMUNE", "PLATE")


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

    def accepts_claim(self, text: str) -> bool:
        return self.claims.accepts(text)

    def add_claim(self, claim_id: str, text: str) -> None:
        with self._claims_lock:
            self.claims.add(claim_id, text)

    def places_of(self, texts: list[str]) -> list[tuple[int, ...]]:
        """The communes each text names (for a resident's private message, which `analyse`
        reads for places only when it may be flagged)."""
        if self.entities is None or not texts:
            return [() for _ in texts]
        found = self.entities.extract_many(t[:_MAX_CHARS] for t in texts)
        return [tuple(dict.fromkeys(e.code for e in ents if e.code is not None)) for ents in found]

    def analyse(self, texts: list[str]) -> list[Analysis]:
        """Classify a batch; evidence and entities only for messages that may be flagged."""
        if not texts:
            return []
        heads = [t[:_MAX_CHARS] for t in texts]
        probs = self.loaded.model.predict_proba(heads)
        labels = [str(c) for c in self.loaded.model.classes_]
        normalized = [normalize(t) for t in heads]
        with self._claims_lock:
            matches = [self._claim(t) for t in heads] if len(self.claims) else [None] * len(heads)
        flaggable = [
            i
            for i, row in enumerate(probs)
            if matches[i] is not None
            or any(p >= self.min_score for lab, p in zip(labels, row, strict=True) if lab != NORMAL)
        ]
        entities: dict[int, tuple[Entity, ...]] = {}
        if self.entities is not None and flaggable:
            found = self.entities.extract_many(heads[i] for i in flaggable)
            entities = dict(zip(flaggable, found, strict=True))
        top = {i: labels[int(probs[i].argmax())] for i in flaggable}
        explained = [i for i in flaggable if top[i] != NORMAL]
        # The words that drove the score, so an officer can judge the flag at a glance.
        cues = dict(
            zip(
                explained,
                explain_many(self.loaded.model, [(heads[i], top[i]) for i in explained]),
                strict=True,
            )
        )
        out: list[Analysis] = []
        for i, row in enumerate(probs):
            scores = tuple((label, float(p)) for label, p in zip(labels, row, strict=True))
            ents = entities.get(i, ())
            evidence: tuple[Evidence, ...] = ()
            if i in entities or matches[i] is not None:
                evidence = tuple(Evidence(e.kind, e.value) for e in normalized[i].evidence)
                evidence += tuple(
                    Evidence(e.label.lower(), e.text) for e in ents if e.label in _ENTITY_EVIDENCE
                )
            label = max(scores, key=lambda s: s[1])[0]
            evidence += tuple(Evidence("cue", c.phrase) for c in cues.get(i, ()))
            claim = matches[i]
            out.append(
                Analysis(
                    verdict=Verdict(
                        scores=scores,
                        label=label,
                        model_version=self.version,
                        evidence=evidence,
                        claim_id=claim[0] if claim else None,
                        claim_similarity=claim[1] if claim else None,
                    ),
                    canonical=canonical_of(normalized[i]),
                    places=tuple(dict.fromkeys(e.code for e in ents if e.code is not None)),
                )
            )
        return out

    def _claim(self, text: str) -> tuple[str, float] | None:
        found = self.claims.match(text, limit=1)
        if found and found[0].similarity >= self.claim_threshold:
            return found[0].claim_id, found[0].similarity
        return None
