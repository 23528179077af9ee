"""The guided tip (`/togiac`): what happened, where, when, a photo if any, anonymous or not.

A pure state machine: a draft and the resident's next message in, the next draft (or the
finished tip) and what to say out. Storing the draft, sealing it and routing the finished
tip are the desk's business.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from enum import StrEnum

from classifiers.normalize import fold_diacritics

MIN_WHAT_CHARS = 8
# Answers to "anonymous?", diacritics folded and lower-cased.
_YES = frozenset({"co", "c", "yes", "y", "ok", "u", "uh", "vang", "da co", "an danh", "co a"})
_NO = frozenset({"khong", "ko", "k", "kg", "no", "n", "khong a", "ko a", "k a"})
_NO_PHOTO = frozenset({"khong co", "ko co", "k co", "khong co anh", "ko co anh", "bo qua", "skip"})
_UNKNOWN_PLACE = frozenset({"khong ro", "ko ro", "k ro", "khong biet", "ko biet", "chua ro"})


class Step(StrEnum):
    WHAT = "what"
    WHERE = "where"
    WHEN = "when"
    PHOTO = "photo"
    ANONYMOUS = "anonymous"


@dataclass(frozen=True, slots=True)
class TipDraft:
    step: Step = Step.WHAT
    what: str = ""
    where: str = ""
    place: int | None = None
    when: str = ""
    photo: str | None = None  # the id of the resident's photo message, in their chat
    retries: int = 0

    def encode(self) -> bytes:
        return json.dumps(asdict(self), ensure_ascii=False).encode()

    @classmethod
    def decode(cls, raw: bytes) -> TipDraft:
        data = json.loads(raw)
        data["step"] = Step(data["step"])
        return cls(**data)


@dataclass(frozen=True, slots=True)
class FinishedTip:
    what: str
    where: str
    place: int | None
    when: str
    anonymous: bool
    photo: str | None = None


@dataclass(frozen=True, slots=True)
class Turn:
    """The outcome of one message: the draft to keep (None: done), the finished tip if
    any, and the text to send (a locale key and its values)."""

    draft: TipDraft | None
    text_key: str
    values: dict[str, str]
    tip: FinishedTip | None = None


def start() -> Turn:
    return Turn(TipDraft(), "tip.ask_what", {})


def advance(
    draft: TipDraft,
    text: str,
    places: tuple[int, ...],
    place_named: int | None,
    photo: str | None = None,
) -> Turn:
    """`places`: communes found in the message; `place_named`: a commune the whole message
    names (a resident answering "where?" with just "Ea Tul"); `photo`: the message is a
    photo (its id)."""
    text = " ".join(text.split())
    said = fold_diacritics(text).lower().strip(" .!?")
    if draft.step is Step.WHAT:
        if len(text) < MIN_WHAT_CHARS:
            return Turn(draft, "tip.ask_what_more", {})
        # A resident who says where in the first message is not asked again.
        place = places[0] if places else None
        return Turn(replace(draft, step=Step.WHERE, what=text, place=place), "tip.ask_where", {})
    if draft.step is Step.WHERE:
        place = places[0] if places else place_named
        unknown = place is None and draft.place is None
        if unknown and said not in _UNKNOWN_PLACE and draft.retries == 0:
            return Turn(replace(draft, retries=1), "tip.where_unknown", {})
        chosen = place if place is not None else draft.place
        return Turn(
            replace(draft, step=Step.WHEN, where=text, place=chosen, retries=0),
            "tip.ask_when",
            {},
        )
    if draft.step is Step.WHEN:
        if not text:
            return Turn(draft, "tip.ask_when", {})
        return Turn(replace(draft, step=Step.PHOTO, when=text), "tip.ask_photo", {})
    if draft.step is Step.PHOTO:
        if photo is not None:
            return Turn(replace(draft, step=Step.ANONYMOUS, photo=photo), "tip.ask_anonymous", {})
        if said in _NO or said in _NO_PHOTO:
            return Turn(replace(draft, step=Step.ANONYMOUS), "tip.ask_anonymous", {})
        return Turn(draft, "tip.ask_photo_again", {})
    if said in _YES or said in _NO:
        tip = FinishedTip(
            draft.what, draft.where, draft.place, draft.when, said in _YES, draft.photo
        )
        return Turn(None, "tip.done", {}, tip)
    return Turn(draft, "tip.ask_anonymous_again", {})
