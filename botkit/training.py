"""Admin jobs on models: train, evaluate, list, promote, roll back (CLI glue over classifiers)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from botkit.domain.verdict import NORMAL
from classifiers.corpus import TrainingDataError, merge, read_labelled_csv, seed_corpus
from classifiers.evaluation import evaluate, plot_report
from classifiers.persistence import ModelLoadError, load_model, read_card, save_model
from classifiers.registry import ModelRegistry, PromotionRefused
from classifiers.training import train_model


def run_train(
    data: Sequence[Path],
    text_column: str,
    label_column: str,
    output: Path | None,
    no_seed: bool,
    out: Console,
    err: Console,
    search_minutes: float | None = None,
) -> int:
    try:
        parts = [read_labelled_csv(p, text_column, label_column) for p in data]
    except TrainingDataError as exc:
        err.print(f"training data error: {exc}", markup=False, highlight=False)
        return 2
    if not parts and no_seed:
        err.print("nothing to train on: give --data or allow the seed corpus", markup=False)
        return 2
    merged = merge(parts) if parts else seed_corpus()
    with Progress(
        TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=err
    ) as progress:
        task = progress.add_task("training", total=1.0)

        def report(stage: str, fraction: float) -> None:
            progress.update(task, description=stage, completed=fraction)

        try:
            model, card = train_model(
                merged,
                merge_seed=False if no_seed or not parts else None,
                progress=report,
                search_seconds=None if search_minutes is None else search_minutes * 60,
            )
        except TrainingDataError as exc:
            err.print(f"training data error: {exc}", markup=False, highlight=False)
            return 2
    target = output or Path("models") / card.version
    save_model(model, card, target)
    out.print(f"wrote model {card.version} to {target}", markup=False)
    if card.metrics:
        out.print(f"held-out macro-F1: {card.metrics.get('macro_f1')}", markup=False)
    return 0


def run_eval(
    model_dir: Path,
    data: Path,
    text_column: str,
    label_column: str,
    plot: Path | None,
    out: Console,
    err: Console,
) -> int:
    try:
        loaded = load_model(model_dir)
        labelled = read_labelled_csv(data, text_column, label_column)
    except (ModelLoadError, TrainingDataError) as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        return 2
    report = evaluate(loaded.model, list(labelled.texts), list(labelled.labels))
    out.print(report.to_table(), markup=False, highlight=False)
    png = plot or Path(f"eval-{loaded.card.version}.png")
    plot_report(report, png)
    out.print(f"plot: {png}", markup=False)
    return 0


def list_models(root: Path, out: Console) -> None:
    table = Table("version", "created", "held-out macro-F1", "current")
    for info in ModelRegistry(root).list():
        f1 = "—" if info.macro_f1 is None else f"{info.macro_f1:.4f}"
        table.add_row(info.version, info.created_at, f1, "★" if info.current else "")
    out.print(table)


def promote_model(
    root: Path,
    version: str,
    force: bool,
    out: Console,
    err: Console,
    categories: Iterable[str] | None = None,
) -> int:
    if categories is not None and not force:
        try:
            labels = read_card(root / version).labels
        except (OSError, ValueError) as exc:
            err.print(f"error: {root / version}: {exc}", markup=False, highlight=False)
            return 2
        mismatch = _label_mismatch(labels, categories)
        if mismatch:
            err.print(f"refused: model {version} {mismatch}", markup=False, highlight=False)
            return 1
    try:
        result = ModelRegistry(root).promote(version, force=force)
    except PromotionRefused as exc:
        err.print(f"refused: {exc}", markup=False, highlight=False)
        return 1
    except (ModelLoadError, LookupError, ValueError) as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        return 2
    out.print(f"promoted {version}: {result}", markup=False)
    return 0


def _label_mismatch(labels: Sequence[str], categories: Iterable[str]) -> str | None:
    """Why the model's labels do not fit the config's categories; None when they do."""
    flagged = {str(label) for label in labels} - {NORMAL}
    wanted = set(categories)
    if flagged == wanted:
        return None
    parts = []
    if wanted - flagged:
        parts.append(f"lacks the configured categories {sorted(wanted - flagged)}")
    if flagged - wanted:
        parts.append(f"has labels no [categories.*] section handles {sorted(flagged - wanted)}")
    return (
        " and ".join(parts)
        + f" (model labels {sorted(str(x) for x in labels)}); make [categories] match the "
        "model's labels, or train a model with the configured ones (--force promotes anyway)"
    )


def rollback_model(root: Path, out: Console, err: Console) -> int:
    try:
        version = ModelRegistry(root).rollback()
    except (LookupError, ValueError, ModelLoadError) as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        return 2
    out.print(f"rolled back to {version}", markup=False)
    return 0
