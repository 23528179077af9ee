"""Labelled text data: reading CSVs with clear errors, the shipped seed and held-out sets."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

DEFAULT_LABELS: Final = ("fake_news", "crime_report", "scam", "traffic_accident", "normal")

DATA_DIR: Final = Path(__file__).resolve().parent / "data"
SEED_DIR: Final = DATA_DIR / "seed"
HELDOUT_DIR: Final = DATA_DIR / "heldout"
HELDOUT_CSV: Final = HELDOUT_DIR / "heldout.csv"

_SEED_COLUMNS: Final = ("id", "label", "kind", "text")


class TrainingDataError(ValueError):
    """Labelled data that cannot be trained on; the message names file, column and rows."""


@dataclass(frozen=True)
class LabelledData:
    texts: tuple[str, ...]
    labels: tuple[str, ...]
    ids: tuple[str, ...]
    source: str

    def __post_init__(self) -> None:
        if not len(self.texts) == len(self.labels) == len(self.ids):
            raise ValueError(
                f"{self.source}: {len(self.texts)} texts, {len(self.labels)} labels, "
                f"{len(self.ids)} ids"
            )

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def label_set(self) -> frozenset[str]:
        return frozenset(self.labels)


def _rows_summary(rows: Sequence[int], limit: int = 10) -> str:
    shown = ", ".join(str(r) for r in rows[:limit])
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    return f"{shown}{more}"


def _decode(path: Path, raw: bytes) -> str:
    """UTF-8 (with or without BOM); anything else names the row and byte offset."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        offset = exc.start
        row = raw.count(b"\n", 0, offset) + 1
        snippet = raw[max(0, offset - 20) : offset + 20]
        raise TrainingDataError(
            f"{path}: not valid UTF-8 at byte offset {offset} (line {row}, near {snippet!r}); "
            "save the file as UTF-8 (mixed or legacy encodings such as Windows-1258 "
            "are not supported)"
        ) from None


def read_labelled_csv(
    path: Path | str,
    text_column: str = "text",
    label_column: str = "label",
    id_column: str | None = None,
    *,
    min_classes: int = 2,
) -> LabelledData:
    """Read and validate a labelled CSV; every problem is reported before any training.

    `min_classes=1` reads one part of a larger set (a seed file holds one label).
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise TrainingDataError(f"{path}: no such file") from None
    except OSError as exc:
        raise TrainingDataError(f"{path}: cannot read ({exc.strerror})") from None
    content = _decode(path, raw)
    try:
        reader = csv.DictReader(io.StringIO(content, newline=""))
        header = reader.fieldnames
        if not header:
            raise TrainingDataError(f"{path}: empty file (no header row)")
        wanted = [c for c in (text_column, label_column, id_column) if c is not None]
        missing = [c for c in wanted if c not in header]
        if missing:
            raise TrainingDataError(
                f"{path}: missing column(s) {', '.join(repr(c) for c in missing)}; "
                f"available columns: {', '.join(repr(c) for c in header)}"
            )
        texts: list[str] = []
        labels: list[str] = []
        ids: list[str] = []
        empty_text: list[int] = []
        empty_label: list[int] = []
        # Row numbers are CSV record numbers with the header as row 1, as a spreadsheet shows.
        for row_number, row in enumerate(reader, start=2):
            text = (row.get(text_column) or "").strip()
            label = (row.get(label_column) or "").strip()
            if not text:
                empty_text.append(row_number)
            if not label:
                empty_label.append(row_number)
            texts.append(text)
            labels.append(label)
            row_id = (row.get(id_column) or "").strip() if id_column else ""
            ids.append(row_id or f"{path.name}:{row_number}")
    except csv.Error as exc:
        raise TrainingDataError(f"{path}: malformed CSV: {exc}") from None
    if not texts:
        raise TrainingDataError(f"{path}: no data rows under the header")
    if empty_text:
        raise TrainingDataError(
            f"{path}: column {text_column!r} is empty in row(s) {_rows_summary(empty_text)}"
        )
    if empty_label:
        raise TrainingDataError(
            f"{path}: column {label_column!r} is empty in row(s) {_rows_summary(empty_label)}"
        )
    distinct = sorted(set(labels))
    if len(distinct) < min_classes:
        raise TrainingDataError(
            f"{path}: column {label_column!r} has a single class ({distinct[0]!r}); "
            "a classifier needs at least two"
        )
    return LabelledData(tuple(texts), tuple(labels), tuple(ids), str(path))


def _read_shipped(paths: Iterable[Path], source: str) -> LabelledData:
    texts: list[str] = []
    labels: list[str] = []
    ids: list[str] = []
    for path in sorted(paths):
        part = read_labelled_csv(path, "text", "label", "id", min_classes=1)
        texts.extend(part.texts)
        labels.extend(part.labels)
        ids.extend(part.ids)
    if len(set(labels)) < 2:
        raise TrainingDataError(f"{source}: a single class ({labels[0]!r}) in all files")
    return LabelledData(tuple(texts), tuple(labels), tuple(ids), source)


def seed_corpus(directory: Path | None = None) -> LabelledData:
    """All shipped seed CSVs (`id,label,kind,text`) merged, in file-name order."""
    directory = directory or SEED_DIR
    paths = list(directory.glob("*.csv"))
    if not paths:
        raise TrainingDataError(f"{directory}: no seed CSV files")
    return _read_shipped(paths, f"seed:{_shown(directory)}")


def heldout_corpus(path: Path | None = None) -> LabelledData:
    """The shipped held-out split: never trained on, used to gate promotions.

    Every CSV of `heldout/` (each by an author who saw no training file), or one file.
    """
    if path is not None:
        return _read_shipped([path], f"heldout:{_shown(path)}")
    paths = sorted(HELDOUT_DIR.glob("*.csv"))
    if not paths:
        raise TrainingDataError(f"{HELDOUT_DIR}: no held-out CSV files")
    return _read_shipped(paths, f"heldout:{_shown(HELDOUT_DIR)}")


def _shown(path: Path) -> str:
    """Shipped paths relative to the package, so cards name no machine's directories."""
    try:
        return str(path.resolve().relative_to(SEED_DIR.parent.parent.resolve()))
    except ValueError:
        return str(path)


def merge(parts: Sequence[LabelledData], source: str | None = None) -> LabelledData:
    """Concatenate labelled sets in order."""
    return LabelledData(
        texts=tuple(t for p in parts for t in p.texts),
        labels=tuple(lab for p in parts for lab in p.labels),
        ids=tuple(i for p in parts for i in p.ids),
        source=source or "+".join(p.source for p in parts),
    )


def data_sha256(data: LabelledData) -> str:
    """Hash of the (text, label) pairs in order: the same data gives the same model version."""
    digest = hashlib.sha256()
    for text, label in zip(data.texts, data.labels, strict=True):
        for part in (label, text):
            encoded = part.encode("utf-8", "surrogatepass")
            digest.update(len(encoded).to_bytes(8, "little"))
            digest.update(encoded)
    return digest.hexdigest()
