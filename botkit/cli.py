"""The `botkit` command line."""

from __future__ import annotations

import asyncio
import csv
import json
import logging
import sys
from collections.abc import Coroutine
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from botkit import __version__
from botkit.config import Config, ConfigError, load_config
from botkit.privacy import RedactingFilter
from botkit.stacks import register_task_dump, register_thread_dump

app = typer.Typer(
    name="botkit",
    help="Chat-group moderation and alerting bots for commune and ward police.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
models_app = typer.Typer(
    help="List, promote and roll back classifier models.", no_args_is_help=True
)
labels_app = typer.Typer(
    help="Reviewers' labels and officers' verdicts as labelled data.", no_args_is_help=True
)
app.add_typer(models_app, name="models")
app.add_typer(labels_app, name="labels")
bulletin_app = typer.Typer(help="Warnings to every group of a commune.", no_args_is_help=True)
app.add_typer(bulletin_app, name="bulletin")

err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="Path to config.toml.")]
DEFAULT_CONFIG = Path("config.toml")


def _setup_logging(verbose: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, handlers=[handler])
    for noisy in ("httpx", "aiogram.event", "telegram.ext"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _config(path: Path) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        err.print(f"[bold red]config error[/]: {exc}", markup=True, highlight=False)
        raise typer.Exit(2) from None


T = TypeVar("T")


def _job(coro: Coroutine[Any, Any, T]) -> T:
    """Run an async job; a broken model or database is a clear error and exit code 2."""
    from botkit.keys import KeyProblem
    from botkit.residents.knowledge import KnowledgeError
    from botkit.storage.base import StoreError
    from classifiers.errors import ModelLoadError

    # `kill -USR1 <pid>` / `kill -USR2 <pid>`: where a stuck process's threads / tasks wait.
    register_thread_dump()

    async def traced() -> T:
        register_task_dump(asyncio.get_running_loop())
        return await coro

    try:
        return asyncio.run(traced())
    except ModelLoadError as exc:
        err.print(f"model error: {exc}", markup=False, highlight=False)
    except StoreError as exc:
        err.print(f"store error: {exc}", markup=False, highlight=False)
    except KeyProblem as exc:
        err.print(f"hash key error: {exc}", markup=False, highlight=False)
    except KnowledgeError as exc:
        err.print(f"knowledge file error: {exc}", markup=False, highlight=False)
    raise typer.Exit(2)


def _version(value: bool) -> None:
    if value:
        out.print(f"botkit {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """botkit."""


def _model_label_problems(cfg: Config, config_path: Path) -> list[str]:
    """The configured model's categories against the config's (from its card, not loaded)."""
    from botkit.checks import label_problems
    from classifiers.persistence import read_card
    from classifiers.registry import ModelRegistry

    base = config_path.resolve().parent
    try:
        if cfg.model.path:
            directory = Path(cfg.model.path)
            directory = directory if directory.is_absolute() else base / directory
        else:
            root = Path(cfg.model.registry)
            directory = ModelRegistry(root if root.is_absolute() else base / root).current_dir()
        card = read_card(directory)
    except (LookupError, OSError, ValueError) as exc:
        return [f"model: cannot read its card ({exc})"]
    return label_problems(cfg, card.labels)


@app.command("check-config")
def check_config(config: ConfigOption = DEFAULT_CONFIG) -> None:
    """Validate the configuration and print a summary."""
    import os

    from botkit.checks import config_problems, environment_problems
    from botkit.places import PlaceBook

    cfg = _config(config)
    places = PlaceBook(cfg.jurisdiction.province)
    problems = (
        config_problems(cfg)
        + environment_problems(cfg, os.environ)
        + _model_label_problems(cfg, config)
    )
    table = Table(title=f"{config} — province {cfg.jurisdiction.province}")
    table.add_column("what")
    table.add_column("details")
    table.add_row("default jurisdiction", places.name(cfg.jurisdiction.default))
    table.add_row("communes", ", ".join(places.name(c) for c in cfg.jurisdiction.communes) or "—")
    table.add_row("units", "\n".join(f"{u.id} ({u.kind}): {u.name}" for u in cfg.units))
    table.add_row(
        "officers", "\n".join(f"{o.id} @ {o.unit}: {', '.join(o.contacts)}" for o in cfg.officers)
    )
    table.add_row(
        "groups",
        "\n".join(f"{g.platform}:{g.chat} → {places.name(g.jurisdiction)}" for g in cfg.groups)
        or "—",
    )
    table.add_row(
        "categories",
        "\n".join(
            f"{k}: ≥{c.threshold} → {c.unit} [{c.policy}]" for k, c in cfg.categories.items()
        ),
    )
    table.add_row("adapters", ", ".join(cfg.enabled_adapters()) or "—")
    storage = cfg.storage
    where = (
        storage.path
        if storage.backend == "sqlite"
        else f"${storage.url_env}, keys {{{storage.key_prefix}}}:*"
    )
    table.add_row("storage", f"{storage.backend}: {where}")
    table.add_row(
        "retention", f"{cfg.bot.retention_days} days (audit {cfg.bot.audit_retention_days})"
    )
    table.add_row("residents' questions", _knowledge_summary(cfg, config))
    out.print(table)
    for problem in problems:
        err.print(f"[yellow]warning[/]: {problem}", highlight=False)
    out.print("config OK" + (f" with {len(problems)} warning(s)" if problems else ""))


def _knowledge_summary(cfg: Config, config_path: Path) -> str:
    """What answers residents get; a broken knowledge file stops here (exit 2)."""
    from botkit.residents.knowledge import KnowledgeError, load_knowledge

    settings = cfg.residents
    if not settings.answers:
        return "no automatic answers (residents.answers = false)"
    path = None
    if settings.knowledge is not None:
        path = Path(settings.knowledge)
        path = path if path.is_absolute() else config_path.parent / path
    try:
        knowledge = load_knowledge(path)
    except KnowledgeError as exc:
        err.print(f"knowledge file error: {exc}", markup=False, highlight=False)
        raise typer.Exit(2) from None
    return (
        f"{len(knowledge.procedures)} procedures from {knowledge.source}, "
        f"answered at probability ≥ {settings.answer_threshold}"
    )


@app.command()
def run(
    config: ConfigOption = DEFAULT_CONFIG,
    verbose: bool = False,
    no_worker: Annotated[
        bool,
        typer.Option(
            "--no-worker", help="Intake only (Redis): `botkit worker` processes do the rest."
        ),
    ] = False,
) -> None:
    """Run the bot on the configured adapters until their sources end."""
    from botkit.runner import run_bot

    _setup_logging(verbose)
    cfg = _config(config)
    if no_worker and cfg.storage.backend != "redis":
        err.print(
            '--no-worker needs a shared store ([storage] backend = "redis"): with'
            f" {cfg.storage.backend} nobody else would handle the events",
            markup=False,
        )
        raise typer.Exit(2)
    code = _job(run_bot(cfg, config.resolve().parent, out, config, work=not no_worker))
    raise typer.Exit(code)


@app.command()
def worker(config: ConfigOption = DEFAULT_CONFIG, verbose: bool = False) -> None:
    """Handle the shared intake, send alerts, run due steps (Redis; any number of them)."""
    from botkit.runner import run_worker

    _setup_logging(verbose)
    cfg = _config(config)
    if cfg.storage.backend != "redis":
        err.print(
            'botkit worker needs a shared store ([storage] backend = "redis");'
            f" with {cfg.storage.backend}, `botkit run` does everything in one process",
            markup=False,
        )
        raise typer.Exit(2)
    raise typer.Exit(_job(run_worker(cfg, config.resolve().parent, out, config)))


@app.command()
def replay(
    exports: Annotated[
        list[Path], typer.Argument(help="Telegram result.json exports or .jsonl files.")
    ],
    config: ConfigOption = DEFAULT_CONFIG,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Send nothing, store nothing.")
    ] = False,
    output: Annotated[Path | None, typer.Option("--output", help="Alert events as JSONL.")] = None,
) -> None:
    """Replay chat histories on virtual time and show what the bot would have done."""
    from botkit.runner import run_replay

    _setup_logging()
    cfg = _config(config)
    if output is not None:
        _output(output, force=None)
    code = _job(run_replay(cfg, config.resolve().parent, exports, dry_run, output, out, err))
    raise typer.Exit(code)


@app.command()
def purge(config: ConfigOption = DEFAULT_CONFIG) -> None:
    """Delete stored data older than the retention limit now."""
    from botkit.runner import run_purge

    _setup_logging()
    cfg = _config(config)
    counts = _job(run_purge(cfg, config.resolve().parent))
    out.print("purged: " + ", ".join(f"{k}={v}" for k, v in counts.items()))


@app.command()
def status(
    config: ConfigOption = DEFAULT_CONFIG,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Backlog and health: events waiting, dead letters, sends waiting, timers due."""
    from botkit.runner import store_status

    cfg = _config(config)
    report = _job(store_status(cfg, config.resolve().parent))
    if as_json:
        out.print_json(json.dumps(report.to_json()))
        return
    outbox = ", ".join(f"{k} {v}" for k, v in sorted(report.outbox.items())) or "empty"
    oldest = report.intake_oldest.isoformat(timespec="seconds") if report.intake_oldest else "—"
    for line in (
        f"store: {report.backend} {report.location}",
        f"intake: {report.intake_pending} event(s) waiting ({report.intake_in_flight} in hand),"
        f" oldest {oldest}; {report.dead_letters} dead letter(s)"
        + (
            f"; time in the stream p50 {report.intake_latency_ms[0]} ms,"
            f" p99 {report.intake_latency_ms[1]} ms"
            if report.intake_latency_ms
            else ""
        ),
        f"outbox: {outbox}; {report.edits_due} edit(s) due",
        f"timers: {report.timers_pending} pending, {report.timers_due} due;"
        f" {report.incidents_open} incident(s) open",
        *(
            [
                "workers: "
                + ", ".join(f"{name} holds {n}" for name, n in sorted(report.consumers.items()))
            ]
            if report.consumers
            else []
        ),
    ):
        out.print(line, markup=False, highlight=False)


class ReportFormat(StrEnum):
    table = "table"
    csv = "csv"
    png = "png"


@app.command()
def report(
    month: Annotated[str, typer.Option("--month", help="The month, as YYYY-MM.")],
    config: ConfigOption = DEFAULT_CONFIG,
    jurisdiction: Annotated[
        str | None, typer.Option("--jurisdiction", help="One commune, by code or name.")
    ] = None,
    fmt: Annotated[
        ReportFormat, typer.Option("--format", help="table, csv or png.")
    ] = ReportFormat.table,
    output: Annotated[
        Path | None,
        typer.Option("--output", help="Write here (csv, png; png defaults to report-MONTH.png)."),
    ] = None,
) -> None:
    """A month per commune: messages, flags, incidents, hoaxes, tips, questions, bulletins."""
    from botkit.outputs import replacing, replacing_path
    from botkit.places import PlaceBook, UnknownPlace
    from botkit.reports.command import monthly_report
    from botkit.reports.monthly import MonthError, month_days
    from botkit.reports.render import as_csv, as_table, write_png
    from botkit.texts import Texts

    cfg = _config(config)
    try:
        month_days(month)
        places = PlaceBook(cfg.jurisdiction.province)
        only = places.code_of(jurisdiction) if jurisdiction is not None else None
    except (MonthError, UnknownPlace) as exc:
        err.print(f"report: {exc}", markup=False, highlight=False)
        raise typer.Exit(2) from None
    if fmt is ReportFormat.png and output is None:
        output = Path(f"report-{month}.png")
    if output is not None:
        _output(output, force=None)
    built = _job(monthly_report(cfg, config.resolve().parent, month, only))
    texts = Texts(cfg.bot.language)
    if built.empty:
        where = f" ({jurisdiction})" if jurisdiction else ""
        month_shown = "/".join(reversed(month.split("-")))
        out.print(texts.get("report.empty", month=month_shown, where=where), highlight=False)
        return
    if fmt is ReportFormat.table:
        out.print(as_table(built, texts))
    elif fmt is ReportFormat.csv:
        text = as_csv(built, texts)
        if output is None:
            sys.stdout.write(text)
        else:
            with replacing(output) as fh:
                fh.write(text)
    else:
        assert output is not None
        with replacing_path(output) as tmp:
            write_png(built, texts, tmp)
    if output is not None:
        out.print(f"report written to {output}", highlight=False)


@bulletin_app.command("send")
def bulletin_send(
    jurisdiction: Annotated[
        str, typer.Option("--jurisdiction", help="A commune (code or name), or 'all'.")
    ],
    file: Annotated[Path, typer.Option("--file", help="The bulletin's text (UTF-8).")],
    config: ConfigOption = DEFAULT_CONFIG,
    wait: Annotated[
        float, typer.Option("--wait", help="Seconds to wait for every group's outcome.")
    ] = 120.0,
) -> None:
    """Post a warning to every group of a commune; print which groups got it and which not."""
    from botkit.bulletins import MAX_CHARS, MIN_CHARS
    from botkit.places import PlaceBook, UnknownPlace
    from botkit.runner import send_bulletin

    cfg = _config(config)
    try:
        where = (
            None
            if jurisdiction.strip().lower() == "all"
            else frozenset({PlaceBook(cfg.jurisdiction.province).code_of(jurisdiction)})
        )
    except UnknownPlace as exc:
        _input_error(f"--jurisdiction: {exc}")
    text = _read_text(file, "--file").strip()
    if not MIN_CHARS <= len(text) <= MAX_CHARS:
        _input_error(
            f"--file {file}: a bulletin has {MIN_CHARS} to {MAX_CHARS} characters, this has"
            f" {len(text)}"
        )
    outcome = _job(send_bulletin(cfg, config.resolve().parent, text, where, wait))
    if outcome is None:
        out.print(f"no group belongs to {jurisdiction}: nothing sent", highlight=False)
        raise typer.Exit(1)
    for group in outcome.groups:
        mark = {"sent": "✓", "failed": "✗", "cancelled": "✗"}.get(group.status, "…")
        detail = f" ({group.error})" if group.error and group.status != "sent" else ""
        out.print(
            f"{mark} {group.platform}:{group.chat_id} {group.status}{detail}",
            markup=False,
            highlight=False,
        )
    waiting = sum(g.status not in ("sent", "failed", "cancelled") for g in outcome.groups)
    out.print(
        f"bulletin #{outcome.bulletin.id}: reached {outcome.delivered} of"
        f" {len(outcome.groups)} group(s), {len(outcome.failed)} failed"
        + (f", {waiting} still waiting (sent by the running bot)" if waiting else ""),
        highlight=False,
    )
    raise typer.Exit(0 if outcome.delivered == len(outcome.groups) else 1)


@app.command()
def web(
    config: ConfigOption = DEFAULT_CONFIG,
    host: Annotated[str | None, typer.Option("--host", help="Default: [web] host.")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Default: [web] port.")] = None,
) -> None:
    """Serve /healthz and /metrics (Prometheus) on the store alone, without running the bot."""
    from botkit.runner import run_web

    cfg = _config(config)
    _setup_logging()
    chosen_host = host or cfg.web.host
    chosen_port = port or cfg.web.port
    raise typer.Exit(_job(run_web(cfg, config.resolve().parent, chosen_host, chosen_port)))


@app.command("hash-password")
def hash_password_() -> None:
    """An argon2 hash for a console user's `password_hash` (the password read from stdin,
    or asked without echo at a terminal)."""
    import getpass

    from botkit.web.console import hash_password

    if sys.stdin.isatty():
        password = getpass.getpass("Mật khẩu: ")
    else:
        password = sys.stdin.readline().rstrip("\n")
    if len(password) < 10:
        _input_error("a console password has at least 10 characters")
    out.print(hash_password(password), highlight=False)


@app.command("dead-letters")
def dead_letters_(
    config: ConfigOption = DEFAULT_CONFIG,
    requeue: Annotated[
        bool, typer.Option("--requeue", help="Put them back in the intake to try again.")
    ] = False,
) -> None:
    """Events that failed every attempt (their content stays sealed; errors are shown)."""
    from botkit.runner import dead_letters

    cfg = _config(config)
    letters = _job(dead_letters(cfg, config.resolve().parent, requeue))
    for letter in letters:
        out.print(
            f"#{letter.id} received {letter.received_at:%Y-%m-%d %H:%M:%S}"
            f" attempts {letter.attempts} deliveries {letter.deliveries}: {letter.error}",
            markup=False,
            highlight=False,
        )
    out.print(
        f"{len(letters)} dead letter(s)" + (", put back in the intake" if requeue else ""),
        markup=False,
    )


@app.command()
def classify(
    input: Annotated[str, typer.Option("--input", "-i", help="CSV file, or - for stdin.")] = "-",
    text_column: str = "text",
    id_column: Annotated[
        str | None,
        typer.Option("--id-column", help="Column of ids (default: `id` if there is one)."),
    ] = None,
    format: Annotated[str, typer.Option("--format", help="jsonl or table")] = "jsonl",
    model: Annotated[Path | None, typer.Option("--model", help="A model directory.")] = None,
    config: ConfigOption = DEFAULT_CONFIG,
    batch_size: int = 2048,
) -> None:
    """Classify messages from a CSV (or stdin lines when not CSV) and print labels and scores."""
    from botkit.app import load_classifier_model

    if format not in ("jsonl", "table"):
        err.print(f"--format = {format!r}: must be jsonl or table")
        raise typer.Exit(2)
    if model is None:
        cfg = _config(config)
        loaded = _load_model(lambda: load_classifier_model(cfg, config.resolve().parent))
    else:
        from classifiers.persistence import load_model

        loaded = _load_model(lambda: load_model(model))
    rows = _read_rows(input, text_column, id_column)
    labels = [str(c) for c in loaded.model.classes_]
    table = Table("id", "label", "score", "text") if format == "table" else None
    write = sys.stdout.write
    for start in range(0, len(rows), batch_size):
        chunk = rows[start : start + batch_size]
        probs = loaded.model.predict_proba([t for _, t in chunk])
        for (row_id, text), p in zip(chunk, probs, strict=True):
            best = int(p.argmax())
            if table is not None:
                table.add_row(row_id, labels[best], f"{p[best]:.2f}", text[:60])
            else:
                scores = {lab: round(float(v), 4) for lab, v in zip(labels, p, strict=True)}
                write(
                    json.dumps(
                        {"id": row_id, "label": labels[best], "scores": scores}, ensure_ascii=False
                    )
                    + "\n"
                )
    if table is not None:
        out.print(table)


def _load_model(fn: Any) -> Any:
    from classifiers.errors import ModelLoadError

    try:
        return fn()
    except ModelLoadError as exc:
        err.print(f"[bold red]model error[/]: {exc}", highlight=False)
        raise typer.Exit(2) from None


def _output(path: Path, *, force: bool | None, option: str = "--output") -> None:
    """Refuse an output that cannot be written as asked, before any work is done."""
    from botkit.outputs import OutputError, check_output

    try:
        check_output(path, force=force)
    except OutputError as exc:
        _input_error(str(exc).replace("--output", option, 1))


# Python's csv module refuses a field over this; plain lines are held to the same bound.
MAX_FIELD_CHARS = 131_072


def _input_error(message: str) -> NoReturn:
    """A mistake in what the user gave: one line, exit code 2."""
    err.print(message, markup=False, highlight=False)
    raise typer.Exit(2)


def _read_text(path: Path, option: str) -> str:
    """A small UTF-8 text file the user names; every problem is one line and exit 2."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        _input_error(f"{option} {path}: no such file")
    except OSError as exc:
        _input_error(f"{option} {path}: {exc.strerror}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        _input_error(f"{option} {path}: not UTF-8 (line {line}); save it as UTF-8")


def _read_rows(source: str, text_column: str, id_column: str | None) -> list[tuple[str, str]]:
    """(id, text) rows of a CSV with a `text_column`, or of plain lines (stdin only).

    Every problem of the input is one line and exit code 2: not UTF-8, a field over the CSV
    module's limit (128 KiB), a missing column."""
    name = "stdin" if source == "-" else source
    try:
        data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except FileNotFoundError:
        _input_error(f"--input {source}: no such file")
    except OSError as exc:
        _input_error(f"--input {source}: {exc.strerror}")
    try:
        raw = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        _input_error(f"{name}: not UTF-8 (line {line}, byte {exc.start}); save it as UTF-8")
    lines = raw.splitlines()
    try:
        header = next(csv.reader([lines[0]])) if lines else []
    except csv.Error:
        header = []  # not a CSV header: plain lines (a message may be longer than a field)
    if text_column not in header:
        if source != "-":
            _input_error(f"{source}: no column {text_column!r}; columns: {', '.join(header)}")
        if id_column is not None:
            _input_error(f"--id-column {id_column}: stdin is plain lines, not a CSV with a header")
        for number, line in enumerate(lines, start=1):
            if len(line) > MAX_FIELD_CHARS:
                # The same bound as a CSV field: no chat message is that long.
                _input_error(f"stdin: line {number}: over 128 KiB, too long for one message")
        return [(str(i), line) for i, line in enumerate(lines, start=1) if line.strip()]
    if id_column is not None and id_column not in header:
        _input_error(f"{name}: no column {id_column!r} (--id-column); columns: {', '.join(header)}")
    ids = id_column or ("id" if "id" in header else None)
    reader = csv.DictReader(lines)
    try:
        return [
            ((rec.get(ids) if ids else None) or str(i), rec.get(text_column) or "")
            for i, rec in enumerate(reader, start=1)
        ]
    except csv.Error as exc:
        # The reader stops before counting the line it could not read.
        detail = "a field over 128 KiB" if "field limit" in str(exc) else str(exc)
        _input_error(f"{name}: line {reader.line_num + 1}: {detail}, which a CSV cannot hold")


def _deployment_config(config: Path) -> Config | None:
    """The config naming the model registry; None when the default config.toml is not here (a
    source checkout: its `models/`). A --config given but missing is the usual config error."""
    if config == DEFAULT_CONFIG and not config.exists():
        return None
    return _config(config)


@app.command()
def train(
    data: Annotated[
        list[Path] | None,
        typer.Option("--data", help="Labelled CSV file(s); none: the seed corpus alone."),
    ] = None,
    text_column: str = "text",
    label_column: str = "label",
    output: Annotated[
        Path | None, typer.Option("--output", help="Model directory to write.")
    ] = None,
    no_seed: Annotated[
        bool, typer.Option("--no-seed", help="Do not merge the seed corpus.")
    ] = False,
    search: Annotated[
        bool,
        typer.Option(
            "--search", help="First search the model's settings by cross-validation (bounded)."
        ),
    ] = False,
    search_minutes: Annotated[
        float, typer.Option("--search-minutes", min=0.1, help="Time budget of --search.")
    ] = 10.0,
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing --output directory.")
    ] = False,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Train a classifier from labelled CSV files and write a model directory (without
    --output: a new version in the config's model registry)."""
    from botkit.training import CHECKOUT_REGISTRY, registry_dir, run_train

    registry = CHECKOUT_REGISTRY
    if output is not None:
        _output(output, force=force)
    else:
        registry = registry_dir(_deployment_config(config), config)
    raise typer.Exit(
        run_train(
            data or [],
            text_column,
            label_column,
            output,
            no_seed,
            out,
            err,
            search_minutes=search_minutes if search else None,
            registry=registry,
        )
    )


@app.command("eval")
def eval_(
    data: Annotated[Path, typer.Option("--data", help="Labelled CSV file.")],
    model: Annotated[Path | None, typer.Option("--model")] = None,
    text_column: str = "text",
    label_column: str = "label",
    plot: Annotated[Path | None, typer.Option("--plot", help="PNG to write.")] = None,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Per-class precision, recall, F1, confusion matrix, ROC-AUC; writes a PNG."""
    from botkit.training import run_eval

    if plot is not None:
        _output(plot, force=None, option="--plot")
    model_dir = model
    if model_dir is None:
        cfg = _config(config)
        from botkit.app import load_classifier_model

        model_dir = _load_model(
            lambda: load_classifier_model(cfg, config.resolve().parent)
        ).directory
    raise typer.Exit(run_eval(model_dir, data, text_column, label_column, plot, out, err))


RootOption = Annotated[
    Path | None,
    typer.Option("--root", help="A model registry folder (instead of the config's)."),
]


def _registry_root(config: Path, root: Path | None) -> Path:
    """--root when given, else the config's registry (read only when needed)."""
    from botkit.training import registry_dir

    return root if root is not None else registry_dir(_deployment_config(config), config)


@models_app.command("list")
def models_list(config: ConfigOption = DEFAULT_CONFIG, root: RootOption = None) -> None:
    """Model versions, their held-out macro-F1, and which one is promoted."""
    from botkit.training import list_models

    list_models(_registry_root(config, root), out)


@models_app.command("promote")
def models_promote(
    version: str,
    root: RootOption = None,
    force: Annotated[bool, typer.Option("--force", help="Promote even if worse.")] = False,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Make VERSION the model the bot runs; refuses a worse model, or one whose labels are
    not the config's categories, unless --force."""
    from botkit.training import promote_model, registry_dir

    cfg = _deployment_config(config)
    registry = root if root is not None else registry_dir(cfg, config)
    categories = cfg.categories if cfg is not None else None
    raise typer.Exit(promote_model(registry, version, force, out, err, categories))


@models_app.command("rollback")
def models_rollback(config: ConfigOption = DEFAULT_CONFIG, root: RootOption = None) -> None:
    """Go back to the previously promoted model."""
    from botkit.training import rollback_model

    raise typer.Exit(rollback_model(_registry_root(config, root), out, err))


@labels_app.command("export")
def labels_export(
    config: ConfigOption = DEFAULT_CONFIG,
    output: Annotated[Path, typer.Option("--output")] = Path("verdict_labels.csv"),
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
) -> None:
    """Write reviewers' labels (the console's review queue), else officers' verdicts
    (confirmed / false), as a labelled CSV for `botkit train`."""
    from botkit.runner import export_labels

    cfg = _config(config)
    _output(output, force=force)
    count = _job(export_labels(cfg, config.resolve().parent, output))
    out.print(f"wrote {count} labelled row(s) to {output}")


if __name__ == "__main__":
    app()
