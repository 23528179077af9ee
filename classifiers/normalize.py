"""Normalisation of chat text: one canonical form, a folded view, masked evidence.

Residents type with and without diacritics, in teencode, with spaced or leet
evasions (`c0vid`, `v.i.r.u.s`, `C O V I D`, `vi-rut`), emoji and ALL CAPS. The model
sees one normalised form; links, phone numbers, money and bank accounts become tokens
(their values are kept as evidence), so it learns "a scam asks for a transfer", not a
particular number.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Final

from classifiers.teencode import TEENCODE

MAX_CHARS: Final = 5000
"""Characters (after NFC) that feed the features.

A hoax or a lure shows itself in its first lines, and a 100 KB paste must not cost a
hundred times a chat line: the regexes and the per-token expansion are linear, so the
cap bounds the worst-case latency of one message.
"""

# Raw input beyond this is cut before NFC. NFD Vietnamese is at most three code points
# per letter, so 4x leaves MAX_CHARS intact whichever form came in.
_RAW_CAP: Final = 4 * MAX_CHARS

URL: Final = "__url__"
PHONE: Final = "__phone__"
MONEY: Final = "__money__"
BANK_ACCOUNT: Final = "__bank_account__"
MASK_TOKENS: Final = (URL, PHONE, MONEY, BANK_ACCOUNT)

# Private-use placeholders stand in for the tokens while the text is rewritten, so no
# later rule (joins, leet, teencode) can touch them; they become the tokens at the end.
_PLACEHOLDER: Final = {
    "url": "\ue000",
    "phone": "\ue001",
    "money": "\ue002",
    "bank_account": "\ue003",
}
_UNPLACE: Final = str.maketrans({v: f" __{k}__ " for k, v in _PLACEHOLDER.items()})


@dataclass(frozen=True)
class Evidence:
    """A value masked out of the text: what it is and what it was."""

    kind: str  # "url" | "phone" | "money" | "bank_account"
    value: str


@dataclass(frozen=True)
class NormalizedText:
    """One message after normalisation.

    `text` is NFC, lower-case, evasions undone, teencode expanded, emoji dropped, masked
    values replaced by tokens; `folded` is `text` without diacritics.
    """

    original: str
    text: str
    folded: str
    evidence: tuple[Evidence, ...]
    truncated: bool = field(default=False, compare=False)


# --- diacritics -----------------------------------------------------------------------

_COMBINING: Final = re.compile(
    "[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+"
)
# Anything but ASCII and the basic combining marks: the fast path below does not apply.
_NOT_SIMPLE: Final = re.compile("[^\x00-\x7f\u0300-\u036f]")


def fold_diacritics(text: str) -> str:
    """Vietnamese without diacritics: `Đắk Lắk` → `Dak Lak` (NFC or NFD input)."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    if _NOT_SIMPLE.search(decomposed) is None:
        # Plain Vietnamese: the only non-ASCII left are combining marks, which the
        # ASCII encoder drops far faster than a regex substitution.
        return decomposed.encode("ascii", "ignore").decode("ascii")
    return unicodedata.normalize("NFC", _COMBINING.sub("", decomposed))


# --- cleaning -------------------------------------------------------------------------

_ZERO_WIDTH: Final = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\ufeff\ufff9-\ufffb\U000e0000-\U000e007f\ue000-\uf8ff]"
)
# Emoji and pictographs with their joiners, selectors, skin tones and keycaps.
_EMOJI: Final = re.compile(
    "[\U0001f000-\U0001faff\u2190-\u21ff\u2300-\u23ff\u2460-\u24ff\u25a0-\u27bf"
    "\u2900-\u297f\u2b00-\u2bff\u3030\u303d\u3297\u3299\ufe00-\ufe0f\u20e3\u200d"
    "\u2122\u2139\u00a9\u00ae\u203c\u2049]+"
)


def _clean(text: str) -> tuple[str, bool]:
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    truncated = False
    if len(text) > _RAW_CAP:
        cut = _RAW_CAP
        # Never split a base letter from its combining marks.
        while cut < len(text) and unicodedata.combining(text[cut]):
            cut += 1
        text, truncated = text[:cut], True
    # Lone surrogates (broken UTF-16 from some exports) must not crash anything.
    text = text.encode("utf-8", "ignore").decode("utf-8")
    text = unicodedata.normalize("NFC", text)
    if len(text) > MAX_CHARS:
        text, truncated = text[:MAX_CHARS], True
    return _ZERO_WIDTH.sub("", text), truncated


# --- evidence masking -----------------------------------------------------------------
# Patterns start with a character class, not a look-behind: the regex engine then skips
# ahead to candidate characters instead of trying every position (5-10x faster).

_BANKS: Final = (
    r"vietcombank|vcb|techcombank|tcb|mbbank|mb\s?bank|mb|agribank|agri|bidv|vietinbank|vtb|"
    r"acb|tpbank|tp\s?bank|vpbank|vp\s?bank|sacombank|scb|shb|hdbank|ocb|msb|seabank|"
    r"eximbank|lienvietpostbank|lpbank|vib|momo|zalopay|viettelpay|ng[âa]n\s+h[àa]ng"
)
_TLDS: Final = (
    r"com|vn|net|org|info|xyz|top|site|online|shop|store|me|link|click|cc|io|co|biz|club|"
    r"live|app|tk|ml|ga|cf|gq|pw|asia|ly|gl|to|ru|cn"
)
_URL_HINT: Final = re.compile(rf"https?:|www\.|\.(?:{_TLDS})\b")
_URL: Final = re.compile(
    rf"(?:https?://|www\.)[^\s<>\"']+"
    rf"|[a-z0-9](?<![\w@.][a-z0-9])[a-z0-9-]*(?:\.[a-z0-9-]+)*\.(?:{_TLDS})\b"
    rf"(?:/[^\s<>\"']*)?"
)
_URL_TRAILING: Final = ".,;:!?)]}\"'…"
_HAS_DIGIT: Final = re.compile(r"\d")
# "Not preceded by a word character, dot or comma", written after the first digit.
_DIGIT_START: Final = r"\d(?<![\w.,]\d)"
_ACCOUNT_DIGITS: Final = re.compile(rf"{_DIGIT_START}(?:[ .\-]?\d){{7,15}}(?!\w)")
# Matched on lower-cased text; a word boundary before the keyword is checked in code.
_ACCOUNT_KW: Final = re.compile(
    rf"(?:stk|s[ốo] t[àa]i kho[ảa]n|t[àa]i kho[ảa]n|tk|acc|account|{_BANKS})(?!\w)"
)
_ACCOUNT_BEFORE: Final = 40  # characters between a keyword and the digits, at most
_ACCOUNT_AFTER: Final = 20
_PHONE: Final = re.compile(
    r"[(+0](?<![\w.,+][(+0])(?:(?<=\()\+84\)|(?<=\+)84|(?<=0))[ .\-]?"
    r"(?:\d[ .\-]?){8}\d(?:[ .\-]?\d)?(?!\w)"
    r"|1(?<![\w.,]1)[89]00[ .\-]?\d{2}[ .\-]?\d{2}(?:[ .\-]?\d{2})?(?!\w)"
)
# An amount with a unit (5tr, 500k, 3 triệu, 1tr2, 2.000.000đ), or a number grouped in
# thousands (118.500) which in these chats is nearly always a price.
_MONEY: Final = re.compile(
    rf"{_DIGIT_START}\d*(?:[.,]\d+)*(?:"
    r" ?(?:k|nghìn|nghin|ngàn|ngan|tr|triệu|trieu|củ|tỷ|tỉ|ty|tỏi|lít|xị|đồng|đ|vnđ|vnd|usd|\$)"
    r"(?:\d{1,3})?(?!\w)"
    r"|(?<=\d[.,]\d{3}) ?[dđ]?(?![\w.,]))"
)


def _spans(low: str) -> list[tuple[int, int, str]]:
    """Non-overlapping (start, end, kind) spans in lower-cased text, by priority."""
    taken: list[tuple[int, int, str]] = []

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e, _ in taken)

    if _URL_HINT.search(low):
        for m in _URL.finditer(low):
            start, end = m.span()
            while end > start and low[end - 1] in _URL_TRAILING:
                end -= 1
            if end > start:
                taken.append((start, end, "url"))
    if not _HAS_DIGIT.search(low):
        return taken
    candidates = [
        m.span()
        for m in _ACCOUNT_DIGITS.finditer(low)
        if 8 <= sum(ch.isdigit() for ch in m.group(0)) <= 16
    ]
    # Keywords are looked for only around long digit runs: most messages have none.
    keywords = (
        [
            m.span()
            for m in _ACCOUNT_KW.finditer(low)
            if m.start() == 0 or not low[m.start() - 1].isalnum()
        ]
        if candidates
        else []
    )
    for start, end in candidates:
        if not keywords or not free(start, end):
            continue
        # A keyword counts when no other number stands between it and the digits.
        if any(
            (start - _ACCOUNT_BEFORE <= k_end <= start and not _HAS_DIGIT.search(low, k_end, start))
            or (end <= k_start <= end + _ACCOUNT_AFTER and not _HAS_DIGIT.search(low, end, k_start))
            for k_start, k_end in keywords
        ):
            taken.append((start, end, "bank_account"))
    for pattern, kind in ((_PHONE, "phone"), (_MONEY, "money")):
        for m in pattern.finditer(low):
            start, end = m.span()
            if free(start, end):
                taken.append((start, end, kind))
    taken.sort()
    return taken


def _mask(text: str) -> tuple[str, tuple[Evidence, ...]]:
    """Lower-case `text` and replace evidence by placeholders; values keep their case."""
    low = text.lower()
    spans = _spans(low)
    if not spans:
        return low, ()
    # lower() keeps the length of Vietnamese text; where it does not (İ), values come
    # from the lower-cased text rather than misaligned slices of the original.
    source = text if len(low) == len(text) else low
    parts: list[str] = []
    evidence: list[Evidence] = []
    pos = 0
    for start, end, kind in spans:
        parts.append(low[pos:start])
        parts.append(f" {_PLACEHOLDER[kind]} ")
        evidence.append(Evidence(kind, source[start:end].strip()))
        pos = end
    parts.append(low[pos:])
    return "".join(parts), tuple(evidence)


# --- evasions -------------------------------------------------------------------------

_L: Final = r"[^\W\d_]"
_SEP: Final = r"[.\-*]"
_DOTTED_HINT: Final = re.compile(rf"{_SEP}{_L}{_SEP}")
# Three or more single letters split by dots, dashes or stars: v.i.r.u.s, l-u-a.
_DOTTED: Final = re.compile(rf"(?<![\w.\-*]){_L}(?:{_SEP}{_L}){{2,}}(?![\w.\-*])")
_SPACED_HINT: Final = re.compile(r" [a-z] [a-z] ")
# Four or more single ASCII letters split by single spaces: C O V I D. ASCII only, since
# ở, ô, à, ạ are one-letter Vietnamese words and would be swallowed.
_SPACED: Final = re.compile(r"(?<!\S)[a-z](?: [a-z]){3,}(?!\S)")
# Dash or star inside a word: vi-rut, l*a (not digits: plates, dates, covid-19).
_INNER_JOIN: Final = re.compile(rf"[\-*](?<={_L}[\-*])(?={_L})")
# A leet digit between two letters: c0vid, v1rus.
_LEET_DIGIT: Final = re.compile(rf"[013457](?<={_L}[013457])(?={_L})")
_LEET: Final = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t"}
_ELONGATED: Final = re.compile(r"(\w)\1\1+")  # \w, not letters only: 2x faster


def _unelongate(m: re.Match[str]) -> str:
    run = m.group(0)
    return run if run[0].isdigit() or run[0] == "_" else run[0]


_PHRASE: Final = re.compile(
    r"[vca](?<!\w[vca])(?:"
    r"(?<=v)[iíì][\s\-]?r[uúù][tst]|(?<=c)[oôó][\s\-]?v[iíì][dt]|(?<=a)/[ce])(?!\w)"
)
_PHRASES: Final = {"a/c": "anh chị", "a/e": "anh em"}


def _phrase(m: re.Match[str]) -> str:
    found = m.group(0)
    if found[0] == "v":
        return "virus"
    if found[0] == "c":
        return "covid"
    return _PHRASES[found]


def _undo_evasions(text: str) -> str:
    if _DOTTED_HINT.search(text):
        text = _DOTTED.sub(lambda m: re.sub(r"[.\-*]", "", m.group(0)), text)
    if _SPACED_HINT.search(f" {text} "):
        text = _SPACED.sub(lambda m: m.group(0).replace(" ", ""), text)
    if "-" in text or "*" in text:
        text = _INNER_JOIN.sub("", text)
    text = _LEET_DIGIT.sub(lambda m: _LEET[m.group(0)], text)
    text = _ELONGATED.sub(_unelongate, text)
    return _PHRASE.sub(_phrase, text)


# --- teencode -------------------------------------------------------------------------

_PUNCT: Final = "!?.,;:…\"'()[]{}<>«»“”‘’~*/\\|"
_CLAUSE_END_CHARS: Final = frozenset(".!?,;:…)")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words after which a bare "a" addresses someone ("cảm ơn a", "nhờ a").
_A_BEFORE: Final = _words(
    "em e cho với vs ơn on chào chao nhờ nho hỏi hoi của cua gọi goi báo bao giúp giup "
    "nhắn nhan thưa thua"
)
_CK_HUSBAND_BEFORE: Final = _words("vk vợ vo của cua nhà nha")
_CK_HUSBAND_AFTER: Final = _words("em e tôi toi tui chị chi mình minh mk nó no vk vợ")
_BN_FRIEND_AFTER: Final = _words("ơi oi ạ nhé nhe nha à ah")
_CA_AUTHORITY_AFTER: Final = _words(
    "xã xa phường phuong huyện huyen tỉnh tinh thị thi tp thành thanh quận quan đến den "
    "tới toi vào vao về ve"
)
_CONTEXTUAL: Final = frozenset({"a", "ck", "bn", "ca", "k", "kg"})
_CANDIDATES: Final = frozenset(TEENCODE) | _CONTEXTUAL


def _expand(core: str, prev: str, nxt: str, at_end: bool) -> str:
    if core == "a":
        return "anh" if prev in _A_BEFORE or not at_end else core
    if core == "ck":
        husband = prev in _CK_HUSBAND_BEFORE or nxt in _CK_HUSBAND_AFTER
        return "chồng" if husband else "chuyển khoản"
    if core == "bn":
        return "bạn" if nxt in _BN_FRIEND_AFTER else "bao nhiêu"
    if core == "ca":
        return "công an" if nxt in _CA_AUTHORITY_AFTER else core
    if core in ("k", "kg") and prev.isdigit():
        return core  # "5 kg", "500 k": a unit, not "không"
    return TEENCODE.get(core, core)


def _expand_teencode(words: list[str]) -> list[str]:
    """Expand abbreviations in whitespace-split words; punctuation around a word stays."""
    cores = [w.strip(_PUNCT) for w in words]
    if _CANDIDATES.isdisjoint(cores):
        return words
    out = list(words)
    last = len(words) - 1
    for i, core in enumerate(cores):
        if core not in _CANDIDATES:
            continue
        word = words[i]
        at_end = i == last or word[-1] in _CLAUSE_END_CHARS
        # Punctuation glued to the previous word ends the clause before this one.
        prev = cores[i - 1] if i and words[i - 1][-1] not in _CLAUSE_END_CHARS else ""
        nxt = cores[i + 1] if not at_end else ""
        repl = _expand(core, prev, nxt, at_end)
        if repl != core:
            out[i] = word.replace(core, repl, 1) if word != core else repl
    return out


_REPEAT_PUNCT: Final = re.compile(r"[!?.,;:~\-=*/\\_]{2,}")


def _collapse_punct(m: re.Match[str]) -> str:
    run = m.group(0)
    if len(set(run)) == 1 or set(run) <= {"!", "?"}:
        return run[0]
    return re.sub(r"(.)\1+", r"\1", run)


# --- public ---------------------------------------------------------------------------


def normalize(text: str) -> NormalizedText:
    """Normalise one message; never raises, whatever the input."""
    original = text
    cleaned, truncated = _clean(text)
    masked, evidence = _mask(cleaned)
    out = _EMOJI.sub(" ", masked)
    out = _undo_evasions(out)
    out = _REPEAT_PUNCT.sub(_collapse_punct, out)
    if evidence:
        out = out.translate(_UNPLACE)
    out = " ".join(_expand_teencode(out.split()))
    return NormalizedText(original, out, fold_diacritics(out), evidence, truncated)


_NOT_WORD: Final = re.compile(r"[^\w]+")
_FORWARD_PREFIX: Final = re.compile(r"^(?:(?:fw|fwd|chuyen tiep)\b\s*)+")


def canonical_text(text: str) -> str:
    """The form behind de-duplication hashes: folded, no punctuation or emoji, tokens kept."""
    return canonical_of(normalize(text))


def canonical_of(normalized: NormalizedText) -> str:
    """`canonical_text` of an already normalised text (saves normalising twice)."""
    words = _NOT_WORD.sub(" ", normalized.folded)
    return _FORWARD_PREFIX.sub("", " ".join(words.split()))
