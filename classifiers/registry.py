"""The model registry: `models/<version>/` directories and `models/registry.json`.

registry.json is {"current": version | null, "history": [promoted versions, newest
last]}. Promotion is gated on held-out macro-F1; a current model that no longer loads
falls back, loudly, to the previous promoted one.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from classifiers.corpus import HELDOUT_CSV, heldout_corpus
from classifiers.evaluation import evaluate
from classifiers.persistence import (
    CARD_FILE,
    LoadedModel,
    ModelLoadError,
    load_model,
    read_card,
)
from classifiers.training import is_default_taxonomy

log = logging.getLogger(__name__)

REGISTRY_FILE = "registry.json"


class PromotionRefused(Exception):
    """A candidate scores below the current model on the gate set."""

    def __init__(
        self, version: str, score: float, current: str, current_score: float, gate: str
    ) -> None:
        self.version = version
        self.score = score
        self.current = current
        self.current_score = current_score
        self.gate = gate
        super().__init__(
            f"{version} has macro-F1 {score:.4f} on {gate}, below the current model "
            f"{current} ({current_score:.4f}); use force to promote anyway"
        )


@dataclass(frozen=True)
class ModelInfo:
    version: str
    created_at: str
    macro_f1: float | None
    current: bool
    directory: Path


@dataclass(frozen=True)
class PromotionResult:
    version: str
    previous: str | None
    score: float | None
    previous_score: float | None
    gate: str
    forced: bool

    def __str__(self) -> str:
        def fmt(v: float | None) -> str:
            return "—" if v is None else f"{v:.4f}"

        text = f"macro-F1 {fmt(self.score)} on {self.gate}"
        if self.previous is not None:
            text += f" (was {self.previous}: {fmt(self.previous_score)})"
        return text + (" [forced]" if self.forced else "")


class CurrentModel(NamedTuple):
    loaded: LoadedModel
    fell_back: bool  # True: the current model failed to load, a previous one is running


class ModelRegistry:
    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    # --- registry.json ----------------------------------------------------------------

    @property
    def registry_path(self) -> Path:
        return self.root / REGISTRY_FILE

    def _read(self) -> dict[str, Any]:
        path = self.registry_path
        if not path.is_file():
            return {"current": None, "history": []}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelLoadError(f"{path}: unreadable registry ({exc})") from None
        current = data.get("current") if isinstance(data, dict) else None
        history = data.get("history") if isinstance(data, dict) else None
        if (
            not isinstance(data, dict)
            or not (current is None or isinstance(current, str))
            or not isinstance(history, list)
            or not all(isinstance(v, str) for v in history)
        ):
            raise ModelLoadError(
                f'{path}: expected {{"current": version or null, "history": [versions]}}'
            )
        return {"current": current, "history": list(history)}

    def _write(self, current: str | None, history: list[str]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"current": current, "history": history}, indent=2) + "\n"
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=f".{REGISTRY_FILE}.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, self.registry_path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    # --- queries ----------------------------------------------------------------------

    def current_version(self) -> str | None:
        current: str | None = self._read()["current"]
        return current

    def history(self) -> list[str]:
        return list(self._read()["history"])

    def list(self) -> list[ModelInfo]:
        """Model directories with a readable card, oldest first."""
        current = self.current_version()
        infos: list[ModelInfo] = []
        if not self.root.is_dir():
            return infos
        for directory in sorted(p for p in self.root.iterdir() if (p / CARD_FILE).is_file()):
            try:
                card = read_card(directory)
            except ModelLoadError as exc:
                log.warning("skipping %s: %s", directory, exc)
                continue
            infos.append(
                ModelInfo(
                    version=directory.name,
                    created_at=card.created_at,
                    macro_f1=card.macro_f1,
                    current=directory.name == current,
                    directory=directory,
                )
            )
        return sorted(infos, key=lambda i: (i.created_at, i.version))

    def current_dir(self) -> Path:
        current = self.current_version()
        if current is None:
            raise LookupError(f"{self.registry_path}: no model has been promoted")
        return self.root / current

    # --- gate -------------------------------------------------------------------------

    def _gate_score(self, loaded: LoadedModel) -> tuple[float | None, str]:
        """Held-out macro-F1, re-evaluated now for default-taxonomy models."""
        if is_default_taxonomy(set(loaded.card.labels)) and HELDOUT_CSV.is_file():
            heldout = heldout_corpus()
            report = evaluate(loaded.model, list(heldout.texts), list(heldout.labels))
            return report.macro_f1, "the shipped held-out set"
        return loaded.card.macro_f1, "the held-out set recorded in its card"

    # --- changes ----------------------------------------------------------------------

    def promote(self, version: str, *, force: bool = False) -> PromotionResult:
        """Make `version` current, unless it scores below the current model (or force)."""
        directory = self.root / version
        if not directory.is_dir():
            raise LookupError(f"{directory}: no such model version")
        candidate = load_model(directory)
        state = self._read()
        previous: str | None = state["current"]
        score, gate = self._gate_score(candidate)
        previous_score: float | None = None
        if previous is not None and previous != version:
            try:
                current = load_model(self.root / previous)
            except ModelLoadError as exc:
                log.warning("current model %s does not load (%s); not gating on it", previous, exc)
            else:
                previous_score, _ = self._gate_score(current)
        if not force and previous_score is not None and (score is None or score < previous_score):
            raise PromotionRefused(
                version,
                score if score is not None else float("nan"),
                str(previous),
                previous_score,
                gate,
            )
        history: list[str] = state["history"]
        if not history or history[-1] != version:
            history.append(version)
        self._write(version, history)
        return PromotionResult(version, previous, score, previous_score, gate, force)

    def rollback(self) -> str:
        """Return to the previously promoted version; the current one leaves the history."""
        state = self._read()
        history: list[str] = state["history"]
        if state["current"] is None or len(history) < 2:
            raise LookupError(f"{self.registry_path}: no previous promoted version to roll back to")
        history.pop()
        target = history[-1]
        if not (self.root / target).is_dir():
            raise LookupError(f"{self.root / target}: previous version {target} is missing")
        self._write(target, history)
        return target

    def load_current(self) -> CurrentModel:
        """The current model; if it fails to load, the newest previous one that loads."""
        state = self._read()
        current = state["current"]
        if current is None:
            raise ModelLoadError(
                f"{self.registry_path}: no model has been promoted (train one, then promote it)"
            )
        candidates = [current] + [v for v in reversed(state["history"]) if v != current]
        failures: list[str] = []
        for version in dict.fromkeys(candidates):
            try:
                loaded = load_model(self.root / version)
            except ModelLoadError as exc:
                failures.append(str(exc))
                log.error("MODEL %s FAILED TO LOAD: %s", version, exc)
                continue
            if failures:
                log.warning(
                    "FALLING BACK to previously promoted model %s because %s",
                    version,
                    "; ".join(failures),
                )
            return CurrentModel(loaded, bool(failures))
        raise ModelLoadError("no promoted model loads: " + "; ".join(failures))
