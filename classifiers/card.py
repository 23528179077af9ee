"""Model cards: what a model was trained on, how it scored, and the thresholds it suggests."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any


@dataclass(frozen=True)
class ModelCard:
    """Metadata shipped beside every model (card.json and CARD.md).

    `metrics` and `metrics_folded` hold held-out results (diacritics kept / stripped):
    {"per_class": {label: {"precision", "recall", "f1", "support"}}, "macro_f1",
    "accuracy", "n", "source"}; both are empty when no held-out set applied.
    """

    version: str
    created_at: str  # ISO 8601, UTC
    labels: tuple[str, ...]
    data_sha256: str
    n_train: int
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    metrics_folded: dict[str, Any] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)
    notes: str = ""
    model_sha256: str | None = None  # of model.skops, filled in by save_model

    @property
    def macro_f1(self) -> float | None:
        value = self.metrics.get("macro_f1")
        return float(value) if isinstance(value, int | float) else None

    def with_model_sha256(self, digest: str) -> ModelCard:
        return replace(self, model_sha256=digest)

    def to_json(self) -> str:
        data = asdict(self)
        data["labels"] = list(self.labels)
        return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ModelCard:
        """Parse card.json; a malformed card raises ValueError naming the problem."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        known = {f.name for f in fields(cls)}
        required = {"version", "created_at", "labels", "data_sha256", "n_train"}
        missing = sorted(required - data.keys())
        if missing:
            raise ValueError(f"missing field(s): {', '.join(missing)}")
        unknown = sorted(data.keys() - known)
        if unknown:
            raise ValueError(f"unknown field(s): {', '.join(unknown)}")
        labels = data["labels"]
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise ValueError("field 'labels' must be a list of strings")
        for name in ("params", "metrics", "metrics_folded", "thresholds"):
            if name in data and not isinstance(data[name], dict):
                raise ValueError(f"field {name!r} must be an object")
        if not isinstance(data["n_train"], int):
            raise ValueError("field 'n_train' must be an integer")
        data["labels"] = tuple(labels)
        data["thresholds"] = {str(k): float(v) for k, v in data.get("thresholds", {}).items()}
        return cls(**data)

    def to_markdown(self) -> str:
        lines = [
            f"# Model {self.version}",
            "",
            f"- created: {self.created_at}",
            f"- labels: {', '.join(self.labels)}",
            f"- training texts: {self.n_train}",
            f"- training data SHA-256: `{self.data_sha256}`",
        ]
        if self.model_sha256:
            lines.append(f"- model.skops SHA-256: `{self.model_sha256}`")
        lines += ["", "## Parameters", ""]
        lines += [f"- `{k}` = `{v}`" for k, v in sorted(self.params.items())]
        for title, metrics in (
            ("Held-out evaluation", self.metrics),
            ("Held-out evaluation, diacritics stripped", self.metrics_folded),
        ):
            lines += ["", f"## {title}", ""]
            if not metrics:
                lines.append("No held-out set applies to this label set.")
                continue
            source = metrics.get("source", "")
            lines.append(
                f"{metrics.get('n', '?')} texts{f' from `{source}`' if source else ''}: "
                f"macro-F1 **{_fmt(metrics.get('macro_f1'))}**, "
                f"accuracy {_fmt(metrics.get('accuracy'))}."
            )
            lines += ["", "| label | precision | recall | F1 | support |", "|---|---|---|---|---|"]
            for label, m in metrics.get("per_class", {}).items():
                lines.append(
                    f"| {label} | {_fmt(m.get('precision'))} | {_fmt(m.get('recall'))} | "
                    f"{_fmt(m.get('f1'))} | {m.get('support', '')} |"
                )
        lines += ["", "## Suggested thresholds", ""]
        if self.thresholds:
            lines += [f"- {label}: {value:.3f}" for label, value in self.thresholds.items()]
        else:
            lines.append("None computed.")
        if self.notes:
            lines += ["", "## Notes", "", self.notes]
        return "\n".join(lines) + "\n"


def _fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)
