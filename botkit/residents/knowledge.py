"""The procedures residents ask about, and the answers, from a TOML file an admin may edit.

The shipped file is `botkit/knowledge/procedures.vi.toml`; `[residents] knowledge` in the
config names another. A broken file is one clear line naming the file and the problem.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from classifiers.faq import FaqEntry

MAX_ANSWER_CHARS = 3500  # under every platform's limit for one message (Telegram: 4096)


class KnowledgeError(ValueError):
    """The knowledge file cannot be used; the message names the file and the problem."""


class _Procedure(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^[a-z0-9_]{1,64}$")
    title: str = Field(min_length=1)
    keywords: list[str] = Field(default_factory=list)
    questions: list[str] = Field(min_length=1)
    answer: str = Field(min_length=1, max_length=MAX_ANSWER_CHARS)


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    procedure: list[_Procedure] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class Procedure:
    id: str
    title: str
    answer: str
    entry: FaqEntry


@dataclass(frozen=True, slots=True)
class Knowledge:
    source: str
    procedures: tuple[Procedure, ...]

    def get(self, procedure_id: str) -> Procedure:
        return next(p for p in self.procedures if p.id == procedure_id)

    @property
    def entries(self) -> tuple[FaqEntry, ...]:
        return tuple(p.entry for p in self.procedures)


def load_knowledge(path: str | Path | None = None) -> Knowledge:
    """The given file, or the shipped one when `path` is None."""
    if path is None:
        source = "botkit/knowledge/procedures.vi.toml"
        resource = resources.files("botkit.knowledge").joinpath("procedures.vi.toml")
        raw = resource.read_bytes()
    else:
        source = str(path)
        try:
            raw = Path(path).read_bytes()
        except OSError as exc:
            raise KnowledgeError(f"{source}: cannot read ({exc.strerror or exc})") from None
    return parse_knowledge(raw, source)


def parse_knowledge(raw: bytes, source: str) -> Knowledge:
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise KnowledgeError(f"{source}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise KnowledgeError(f"{source}: not valid TOML ({exc})") from None
    try:
        parsed = _File.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise KnowledgeError(f"{source}: {where}: {first['msg']}") from None
    ids = [p.id for p in parsed.procedure]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise KnowledgeError(f"{source}: procedure id {repeated[0]!r} appears twice")
    return Knowledge(
        source,
        tuple(
            Procedure(
                p.id,
                p.title,
                p.answer.strip(),
                FaqEntry(p.id, p.title, tuple(p.keywords), tuple(p.questions)),
            )
            for p in parsed.procedure
        ),
    )
