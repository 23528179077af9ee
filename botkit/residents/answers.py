"""The knowledge file and its matcher: what `[residents]` asks for.

The file is read and checked at start (a broken file stops the bot with one line); the
matcher is fitted on the first question (under a second, in the worker thread that
answers it), so a bot nobody asks pays nothing, and fitted once per process for the same
file and threshold.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from botkit.config import Config
from botkit.residents.knowledge import Knowledge, Procedure, load_knowledge
from classifiers.faq import FaqEntry, FaqMatcher


@dataclass(frozen=True, slots=True)
class Answer:
    procedure: Procedure
    score: float


class Answers:
    def __init__(self, knowledge: Knowledge, threshold: float) -> None:
        self.knowledge = knowledge
        self.threshold = threshold
        self._lock = threading.Lock()

    @property
    def matcher(self) -> FaqMatcher:
        with self._lock:
            return _fitted(self.knowledge.entries, self.threshold)

    def find(self, questions: Sequence[str]) -> list[Answer | None]:
        """CPU work (fitting once, then one prediction): call it from a worker thread."""
        return [
            Answer(self.knowledge.get(m.id), m.score) if m is not None else None
            for m in self.matcher.match(questions)
        ]


@lru_cache(maxsize=4)
def _fitted(entries: tuple[FaqEntry, ...], threshold: float) -> FaqMatcher:
    return FaqMatcher(entries, threshold)


def build_answers(config: Config, base_dir: Path) -> Answers | None:
    """None when answering is switched off. Raises KnowledgeError for a broken file."""
    settings = config.residents
    if not settings.answers:
        return None
    path: Path | None = None
    if settings.knowledge is not None:
        path = Path(settings.knowledge)
        path = path if path.is_absolute() else base_dir / path
    return Answers(load_knowledge(path), settings.answer_threshold)
