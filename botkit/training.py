"""Admin jobs on models: train, evaluate, list, promote, roll back (CLI glue over classifiers)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from rich import box
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from botkit.config import Config
from botkit.domain.verdict import NORMAL
from classifiers.corpus import TrainingDataError, merge, read_labelled_csv, seed_corpus
from classifiers.evaluation import evaluate, plot_report
from classifiers.persistence import ModelLoadError, load_model, read_card, save_model
from classifiers.registry import REGISTRY_FILE, ModelRegistry, PromotionRefused, PromotionResult
from classifiers.training import train_model

# A source checkout's registry, used when there is no config.toml to name one.
CHECKOUT_REGISTRY = Path("models")
# `git ls-files` answers at once; a hung git (a network file system) must not hold up training.
GIT_TIMEOUT_SECONDS = 5.0


def registry_dir(cfg: Config | None, config_path: Path) -> Path:
    """The config's `[model] registry`, read as `run` reads it: a relative path is from the
    config file's folder, so a command finds the deployment's models from any directory."""
    if cfg is None:
        return CHECKOUT_REGISTRY
    root = Path(cfg.model.registry)
    return root if root.is_absolute() else config_path.resolve().parent / root


def tracked_by_git(registry: Path) -> bool:
    """Whether the registry's registry.json is tracked by git: a source checkout's shipped model.

    Only a warning depends on it, so anything that keeps git from answering (not installed, not
    a work tree, untracked, too slow) counts as not tracked."""
    directory = registry.resolve()  # a symlinked folder: git needs the path inside the work tree
    try:
        result = subprocess.run(
            ["git", "-C", str(directory), "ls-files", "--error-unmatch", REGISTRY_FILE],
            capture_output=True,
            timeout=GIT_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return result.returncode == 0


def _warn_if_shipped(registry: Path, err: Console) -> None:
    """Training into a checkout's git-tracked `models/` changes what is shipped: say so."""
    if tracked_by_git(registry):
        err.print(
            f"warning: {registry}/ is tracked by git in this checkout: training here changes the"
            " shipped model (use --config with a deployment's registry, or --output)",
            markup=False,
            highlight=False,
        )


def run_train(
    data: Sequence[Path],
    text_column: str,
    label_column: str,
    output: Path | None,
    no_seed: bool,
    out: Console,
    err: Console,
    search_minutes: float | None = None,
    registry: Path = CHECKOUT_REGISTRY,
) -> int:
    """Train and write the model to `output`, or to `<registry>/<version>` without one."""
    try:
        parts = [read_labelled_csv(p, text_column, label_column) for p in data]
    except TrainingDataError as exc:
        err.print(f"training data error: {exc}", markup=False, highlight=False)
        return 2
    if not parts and no_seed:
        err.print("nothing to train on: give --data or allow the seed corpus", markup=False)
        return 2
    merged = merge(parts) if parts else seed_corpus()
    if output is None:
        _warn_if_shipped(registry, err)  # before the minutes of training, so it can be stopped
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
    target = output or registry / card.version
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
    infos = ModelRegistry(root).list()
    if not infos:
        out.print(f"no model versions in {root}", markup=False, highlight=False)
        return
    # Without side borders: the columns fit a narrower terminal, and an id copies cleanly.
    table = Table(
        title=str(root),
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )
    # The id is what `promote` takes: never cut or wrapped, however narrow the terminal (the
    # other columns give way; a minimum width holds even below the terminal's width).
    table.add_column("version", no_wrap=True, min_width=max(len(i.version) for i in infos))
    table.add_column("created (UTC)")
    table.add_column("held-out macro-F1", justify="right")
    table.add_column("current", justify="center")
    for info in infos:
        f1 = "—" if info.macro_f1 is None else f"{info.macro_f1:.4f}"
        created = _minutes(info.created_at)
        table.add_row(info.version, created, f1, "★" if info.current else "")
    out.print(table, highlight=False)


def _minutes(created_at: str) -> str:
    """`2026-11-30T13:19:41+00:00` as `2026-11-30 13:19`: short enough to stay on one line;
    a card's time that is not ISO 8601 is shown as written."""
    try:
        created = datetime.fromisoformat(created_at)
    except ValueError:
        return created_at
    if created.tzinfo is not None:
        created = created.astimezone(UTC)
    return created.strftime("%Y-%m-%d %H:%M")


class PromotionError(Exception):
    """A promotion that did not happen: `code` 1 refused by the gate, 2 an error."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def promote_checked(
    root: Path, version: str, force: bool, categories: Iterable[str] | None = None
) -> PromotionResult:
    """The gate every promotion passes, from the command line or the console: the config's
    categories, then the held-out score against the current model (unless forced)."""
    if categories is not None and not force:
        try:
            labels = read_card(root / version).labels
        except (OSError, ValueError) as exc:
            raise PromotionError(f"error: {root / version}: {exc}", 2) from None
        mismatch = _label_mismatch(labels, categories)
        if mismatch:
            raise PromotionError(f"refused: model {version} {mismatch}", 1)
    try:
        return ModelRegistry(root).promote(version, force=force)
    except PromotionRefused as exc:
        raise PromotionError(f"refused: {exc}", 1) from None
    except (ModelLoadError, LookupError, ValueError) as exc:
        raise PromotionError(f"error: {exc}", 2) from None


def promote_model(
    root: Path,
    version: str,
    force: bool,
    out: Console,
    err: Console,
    categories: Iterable[str] | None = None,
) -> int:
    try:
        result = promote_checked(root, version, force, categories)
    except PromotionError as exc:
        err.print(str(exc), markup=False, highlight=False)
        return exc.code
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
