"""A monthly report as a terminal table, CSV, or a PNG chart; headers from the locale."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from rich.table import Table

from botkit.reports.monthly import CommuneRow, MonthlyReport
from botkit.texts import Texts

_COLUMNS = (
    "messages",
    "incidents",
    "hoaxes_confirmed",
    "tips",
    "answered",
    "handed_over",
    "ack_median_minutes",
    "bulletins_delivered",
    "bulletins_failed",
)


def _headers(report: MonthlyReport, texts: Texts) -> list[str]:
    flags = [texts.get("report.flag_column", category=texts.category(c)) for c in report.categories]
    rest = [texts.get(f"report.{c}") for c in _COLUMNS]
    return [texts.get("report.commune"), rest[0], *flags, *rest[1:]]


def _cells(row: CommuneRow, report: MonthlyReport, texts: Texts) -> list[str]:
    name = row.name or texts.get("report.total")
    ack = "—" if row.ack_median_minutes is None else f"{row.ack_median_minutes:.1f}"
    values = [str(getattr(row, c)) for c in _COLUMNS]
    values[_COLUMNS.index("ack_median_minutes")] = ack
    flags = [str(row.flags.get(c, 0)) for c in report.categories]
    return [name, values[0], *flags, *values[1:]]


def as_table(report: MonthlyReport, texts: Texts) -> Table:
    names = ", ".join(texts.category(c) for c in report.categories)
    table = Table(
        title=texts.get("report.title", month=_month(report.month)),
        caption=texts.get("report.legend", categories=names),
    )
    for i, header in enumerate(_headers(report, texts)):
        table.add_column(header, justify="left" if i == 0 else "right")
    for row in report.rows:
        table.add_row(*_cells(row, report, texts))
    table.add_section()
    table.add_row(*_cells(report.total, report, texts))
    return table


def as_csv(report: MonthlyReport, texts: Texts) -> str:
    """Machine-readable: stable English column names, commune codes, numbers only."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    flags = [f"flags_{c}" for c in report.categories]
    writer.writerow(["month", "commune_code", "commune", "messages", *flags, *_COLUMNS[1:]])
    for row in [*report.rows, report.total]:
        cells = _cells(row, report, texts)
        code = "" if row.jurisdiction is None else str(row.jurisdiction)
        ack = "" if row.ack_median_minutes is None else f"{row.ack_median_minutes:.2f}"
        numbers = cells[1:]
        numbers[len(report.categories) + _COLUMNS.index("ack_median_minutes")] = ack
        writer.writerow([report.month, code, cells[0], *numbers])
    return out.getvalue()


def write_png(report: MonthlyReport, texts: Texts, path: Path) -> None:
    """Per commune: flags by category (stacked), incidents, tips and questions."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    rows = report.rows
    names = [r.name for r in rows]
    fig = Figure(figsize=(max(6.0, 1.2 * len(rows) + 3), 5.0), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    positions = list(range(len(rows)))
    width = 0.25
    bottom = [0.0] * len(rows)
    for category in report.categories:
        heights = [float(r.flags.get(category, 0)) for r in rows]
        ax.bar(
            [p - width for p in positions],
            heights,
            width,
            bottom=bottom,
            label=texts.get("report.flags", category=texts.category(category)),
        )
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    ax.bar(positions, [r.incidents for r in rows], width, label=texts.get("report.incidents"))
    ax.bar(
        [p + width for p in positions],
        [r.tips + r.handed_over + r.answered for r in rows],
        width,
        label=texts.get("report.residents"),
    )
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts, not fractions
    ax.set_xticks(positions, names, rotation=20, ha="right")
    ax.set_title(texts.get("report.title", month=_month(report.month)))
    ax.legend(fontsize="small")
    fig.savefig(path, dpi=120)


def _month(month: str) -> str:
    year, number = month.split("-")
    return f"{number}/{year}"
