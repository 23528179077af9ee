"""Normalisation of chat text: one canonical form, a folded view, masked evidence.

Residents type with and without diacritics, in teencode, with spaced or leet
evasions (`c0vid`, `v.i.r.u.s`), emoji and ALL CAPS. The model sees one normalised
form; phone numbers, money, bank accounts and links become tokens (their values are
kept as evidence), so it learns "a scam asks for a transfer", not a number.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from classifiers.teencode import TEENCODE

# Features come from the head of a long text: a hoax or a lure shows itself early, and
# a 100 KB paste must not cost a hundred times a chat line.
MAX_CHARS = 5000


@dataclass(frozen=True)
class Evidence:
    kind: str  # "url" | "phone" | "money" | "bank_account"
    value: str


@dataclass(frozen=True)
class NormalizedText:
    original: str
    text: str
    folded: str
    evidence: tuple[Evidence, ...]


def fold_diacritics(text: str) -> str:
    """Vietnamese without diacritics: `Đắk Lắk` → `Dak Lak` (NFC or NFD input)."""
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return unicodedata.normalize("NFC", stripped.replace("đ", "d").replace("Đ", "D"))


_BANKS = (
    r"vietcombank|vcb|techcombank|tcb|mbbank|mb\s?bank|mb|agribank|agri|bidv|vietinbank|vtb|"
    r"acb|tpbank|tp\s?bank|vpbank|vp\s?bank|sacombank|scb|shb|hdbank|ocb|msb|seabank|"
    r"eximbank|lienvietpostbank|lpbank|vib|momo|zalopay|viettelpay"
)
_URL = re.compile(
    r"(?i)(?:https?://|www\.)[^\s<>\"']+"
    r"|\b[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\."
    r"(?:com|vn|net|org|info|xyz|top|site|online|shop|me|link|click|cc|io|co|biz|club|live|app|tk|ml|ga|cf|gq|pw|asia)"
    r"\b(?:/[^\s<>\"']*)?"
)
_ACCOUNT = re.compile(
    rf"(?i)(?:\b(?:stk|s[ốo] t[àa]i kho[ảa]n|t[àa]i kho[ảa]n|tk|account|acc)\b[\s:.#\-]*"
    rf"(?:(?:{_BANKS})\b[\s:.\-]*)?)(\d(?:[\s.\-]?\d){{6,18}})"
    rf"|\b(\d(?:[\s.\-]?\d){{7,18}})\s*[-–,(]?\s*(?:ng[âa]n h[àa]ng\s*|nh\s+)?(?:{_BANKS})\b"
)
_PHONE = re.compile(r"(?<![\w.])(?:\+84|84|0)(?:[\s.\-]?[\dxX*]){8,10}(?![\w])")
_MONEY = re.compile(
    r"(?i)(?<![\w.])\d+(?:[.,]\d+)*\s*"
    r"(?:k|tr|triệu|trieu|củ|nghìn|nghin|ngàn|ngan|đồng|dong|đ|d|vnd|vnđ|tỷ|tỏi|lít|xị)(?!\w)"
    r"|(?<![\w.])\d{1,3}(?:[.,]\d{3}){1,4}(?![\w.,])"
)
_ZERO_WIDTH = re.compile(r"[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
# Emoji and pictographs, with their joiners and variation selectors.
_EMOJI = re.compile(
    "[\U0001f000-\U0001faff\u2600-\u27bf\u2300-\u23ff\u2b00-\u2bff\u3030\u303d\ufe0f\u200d"
    "\U0001f1e6-\U0001f1ff]+"
)
# Four or more single letters split by spaces, or three or more by dots/dashes/stars.
_SPACED = re.compile(r"(?<!\w)(?:\w(?: (?=\w(?!\w)))){3,}\w(?!\w)")
_DOTTED = re.compile(r"(?<!\w)(?:[^\W\d_][.\-*_]){2,}[^\W\d_](?![^\W_])")
_LEET_TOKEN = re.compile(r"(?<![\w@$])[^\W\d_]+[0134579@$][^\W_]*[^\W\d_](?![\w])")
_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "9": "g", "@": "a", "$": "s"}
)
_REPEAT_PUNCT = re.compile(r"([!?.,~\-])\1+")
_ELONGATED = re.compile(r"([^\W\d_])\1{2,}")
_WORD = re.compile(r"\w+")
_CK_HUSBAND = re.compile(r"\b(?:vk|vợ)\s+ck\b|\bck\s+(?:em|tôi|tui|chị|mình|nó)\b")


def _mask(text: str) -> tuple[str, list[Evidence]]:
    found: list[Evidence] = []

    def sub(pattern: re.Pattern[str], kind: str, value: str | None = None) -> None:
        nonlocal text

        def repl(m: re.Match[str]) -> str:
            groups = [g for g in m.groups() if g] if m.groups() else []
            val = groups[0] if groups and kind == "bank_account" else m.group(0)
            found.append(Evidence(kind, val.strip()))
            if kind == "bank_account" and groups:
                start, end = m.span(m.groups().index(groups[0]) + 1)
                return m.string[m.start() : start] + " __bank_account__ " + m.string[end : m.end()]
            return f" __{kind}__ "

        text = pattern.sub(repl, text)

    sub(_URL, "url")
    sub(_ACCOUNT, "bank_account")
    sub(_PHONE, "phone")
    sub(_MONEY, "money")
    return text, found


def _undo_evasions(text: str) -> str:
    text = _DOTTED.sub(lambda m: re.sub(r"[.\-*_]", "", m.group(0)), text)
    text = _SPACED.sub(lambda m: m.group(0).replace(" ", ""), text)
    return _LEET_TOKEN.sub(lambda m: m.group(0).translate(_LEET), text)


def _expand_teencode(text: str) -> str:
    husband = {m.start() for m in _CK_HUSBAND.finditer(text)}

    def repl(m: re.Match[str]) -> str:
        word = m.group(0)
        if word == "ck":
            near = any(abs(m.start() - h) < 8 for h in husband)
            return "chồng" if near else "chuyển khoản"
        return TEENCODE.get(word, word)

    return _WORD.sub(repl, text)


def _clean(text: str) -> str:
    # Lone surrogates (broken UTF-16 from some exports) must not crash anything.
    text = text.encode("utf-8", "replace").decode("utf-8")
    text = unicodedata.normalize("NFC", text[:MAX_CHARS])
    return _ZERO_WIDTH.sub("", text)


def normalize(text: str) -> NormalizedText:
    original = text
    text = _clean(text)
    masked, evidence = _mask(text)
    lowered = masked.lower()
    lowered = _EMOJI.sub(" __emoji__ ", lowered)
    lowered = _undo_evasions(lowered)
    lowered = _REPEAT_PUNCT.sub(r"\1", lowered)
    lowered = _ELONGATED.sub(r"\1", lowered)
    lowered = _expand_teencode(lowered)
    lowered = " ".join(lowered.split())
    return NormalizedText(original, lowered, fold_diacritics(lowered), tuple(evidence))


_NOT_WORD = re.compile(r"[^\w]+")
_FORWARD_PREFIX = re.compile(r"^(?:fw|fwd|chuyen tiep)\b\s*")


def canonical_text(text: str) -> str:
    """The form behind de-duplication hashes: folded, no punctuation or emoji."""
    folded = normalize(text).folded.replace("__emoji__", " ")
    words = _NOT_WORD.sub(" ", folded)
    return _FORWARD_PREFIX.sub("", " ".join(words.split()))
