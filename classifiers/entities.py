"""Entity extraction for neighbourhood-group messages.

Communes/wards come from :mod:`classifiers.places` and are found with a spaCy
``PhraseMatcher`` over token norms (folded, lower-cased, apostrophe-free), so
"Cư M’gar", "cu mgar" and "CưMgar" all match. Hamlet triggers ("thôn", "buôn",
"TDP"...) are found the same way and extended to the hamlet's number or name in
Python. spaCy's blank Vietnamese pipeline is used without pyvi: pyvi segmentation
merges syllables unpredictably ("buôn_Ea_Tul") and measured worse and slower here.
Phones, plates, bank accounts and URLs are regular expressions.
Offsets always refer to the caller's original string, whatever its normal form.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import spacy
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc
from spacy.vocab import Vocab

from classifiers.normalize import fold_diacritics
from classifiers.places import ALIASES, Place, communes_of, place_key

__all__ = ["DEFAULT_MAX_CHARS", "LABELS", "Entity", "EntityExtractor"]

LABELS = ("COMMUNE", "HAMLET", "PHONE", "PLATE", "BANK_ACCOUNT", "URL")
# Work is capped per message so a pasted 100 KB document cannot stall the bot;
# entities past the cap are not reported.
DEFAULT_MAX_CHARS = 10_000

# Lower value wins when two candidate spans of equal length overlap.
_PRIORITY = {"URL": 0, "BANK_ACCOUNT": 1, "PHONE": 2, "PLATE": 3, "COMMUNE": 4, "HAMLET": 5}


@dataclass(frozen=True)
class Entity:
    """One entity; ``start``/``end`` index the original text."""

    label: str
    text: str
    start: int
    end: int
    code: int | None = None


# --------------------------------------------------------------------------- text prep

_APOSTROPHES = re.compile(r"['’ʼ‘`´]")
_TOKEN = re.compile(r"\w+(?:['’ʼ‘`´]\w+)*|[^\w\s]")


@lru_cache(maxsize=65_536)
def _norm(word: str) -> str:
    return _APOSTROPHES.sub("", fold_diacritics(word).lower())


class _Working:
    """NFC text with whitespace runs collapsed, plus a map back to the original."""

    __slots__ = ("_lead", "ends", "original", "starts", "text")

    def __init__(self, original: str) -> None:
        self.original = original
        text = original.strip()
        lead = len(original) - len(original.lstrip())
        if unicodedata.is_normalized("NFC", text) and not re.search(r"\s\s|[^\S ]", text):
            self.text = text
            self.starts: list[int] | None = None
            self.ends: list[int] | None = None
            self._lead = lead
            return
        self._lead = 0
        chars: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        i, n = lead, lead + len(text)
        while i < n:
            j = i + 1
            while j < n and unicodedata.combining(original[j]):
                j += 1
            cluster = original[i:j]
            if cluster.isspace():
                if chars and chars[-1] != " ":
                    chars.append(" ")
                    starts.append(i)
                    ends.append(j)
            else:
                for ch in unicodedata.normalize("NFC", cluster):
                    chars.append(ch)
                    starts.append(i)
                    ends.append(j)
            i = j
        self.text = "".join(chars)
        self.starts = starts
        self.ends = ends

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original offsets of working-text span ``[start, end)``."""
        if self.starts is None or self.ends is None:
            return start + self._lead, end + self._lead
        return self.starts[start], self.ends[end - 1]


class _Tokenizer:
    """Splits words from punctuation and sets each token's norm to its folded form.

    spaCy's Vietnamese tokenizer without pyvi splits on whitespace only, so "M’gar,"
    would stay one token and never match a place name.
    """

    def __init__(self, vocab: Vocab) -> None:
        self.vocab = vocab
        self._normed: set[str] = set()

    def __call__(self, text: str) -> Doc:
        words: list[str] = []
        spaces: list[bool] = []
        for m in _TOKEN.finditer(text):
            words.append(m.group())
            spaces.append(text[m.end() : m.end() + 1] == " ")
        # Norms live on the shared lexemes, so each distinct word is folded only once.
        for word in set(words) - self._normed:
            self.vocab[word].norm_ = _norm(word)
            self._normed.add(word)
        return Doc(self.vocab, words=words, spaces=spaces)


# --------------------------------------------------------------------------- places

_ONSET = r"(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnprstvx])?"
_NUCLEUS = (
    r"(?:uye|uyu|uya|uou|uoi|ieu|yeu|oai|oay|oao|oeo|uay|uai|"
    r"ai|ao|au|ay|eo|eu|ia|iu|oa|oe|oi|oo|ua|ue|ui|uo|uu|uy|ie|ye|a|e|i|o|u|y)"
)
_SYLLABLE = re.compile(rf"{_ONSET}{_NUCLEUS}(?:ng|nh|ch|[cmnpt])?")


def _is_vietnamese_syllable(word: str) -> bool:
    if word.isdigit():
        return True
    if not _SYLLABLE.fullmatch(word):
        return False
    # Vietnamese spells /k/ as "k" only before e, i, y: "ka", "kang" are loan words.
    if word.startswith("k") and not word.startswith("kh") and word[1:2] not in ("e", "i", "y"):
        return False
    return not (word.startswith("c") and not word.startswith("ch") and word[1:2] in ("e", "i", "y"))


def _distinctive(key: str) -> bool:
    """Whether a bare (unprefixed, lower-case) mention of this name is safe to report.

    Names made only of ordinary Vietnamese syllables ("tân tiến", "hòa mỹ", "cư bao")
    are also everyday words, so they need a "xã"/"phường" prefix or capitals.
    """
    words = key.split()
    if len(words) >= 3 or words[:1] == ["ia"]:
        return True
    return any(not _is_vietnamese_syllable(w) for w in words)


# Prefix word sequences (norms) with the spellings accepted for each word: a wrong
# diacritic ("xa" written "xà") means it is another word.
_PLACE_PREFIXES: tuple[tuple[tuple[str, frozenset[str]], ...], ...] = (
    (("dac", frozenset({"đặc", "dac"})), ("khu", frozenset({"khu"}))),
    (("thi", frozenset({"thị", "thi"})), ("tran", frozenset({"trấn", "tran"}))),
    (("thi", frozenset({"thị", "thi"})), ("xa", frozenset({"xã", "xa"}))),
    (("thanh", frozenset({"thành", "thanh"})), ("pho", frozenset({"phố", "pho"}))),
    (("xa", frozenset({"xã", "xa"})),),
    (("phuong", frozenset({"phường", "phuong"})),),
    (("huyen", frozenset({"huyện", "huyen"})),),
    (("tp", frozenset({"tp"})),),
    (("tx", frozenset({"tx"})),),
    (("tt", frozenset({"tt"})),),
    (("p", frozenset({"p"})), (".", frozenset({"."}))),
    (("x", frozenset({"x"})), (".", frozenset({"."}))),
)


def _prefix_start(doc: Doc, start: int) -> int | None:
    """Token index where a place prefix ending right before ``start`` begins."""
    for prefix in _PLACE_PREFIXES:
        begin = start - len(prefix)
        if begin < 0:
            continue
        if all(
            doc[begin + k].norm_ == norm and doc[begin + k].text.lower() in spellings
            for k, (norm, spellings) in enumerate(prefix)
        ):
            return begin
    return None


def _looks_capitalised(word: str) -> bool:
    # "CƯ BAO" in an all-caps message says nothing about being a name; "Cư Bao" does.
    return word[:1].isupper() and not (len(word) > 1 and word.isupper())


# --------------------------------------------------------------------------- hamlets

# Trigger norms -> (accepted spellings per word, lower-case names allowed?)
_HAMLET_TRIGGERS: dict[tuple[str, ...], tuple[tuple[frozenset[str], ...], bool]] = {
    ("thon",): ((frozenset({"thôn", "thon"}),), True),
    ("buon",): ((frozenset({"buôn", "buon"}),), True),
    ("xom",): ((frozenset({"xóm", "xom"}),), True),
    ("plei",): ((frozenset({"plei", "plây"}),), True),
    # "áp", "khỏi", "bọn" fold to the same letters, so lower-case names are not trusted.
    ("ap",): ((frozenset({"ấp", "ap"}),), False),
    ("khoi",): ((frozenset({"khối", "khoi"}),), False),
    ("bon",): ((frozenset({"bon", "bôn"}),), False),
    ("tdp",): ((frozenset({"tdp"}),), False),
    ("kp",): ((frozenset({"kp"}),), False),
    ("to", "dan", "pho"): (
        (frozenset({"tổ", "to"}), frozenset({"dân", "dan"}), frozenset({"phố", "pho"})),
        True,
    ),
    ("khu", "pho"): ((frozenset({"khu"}), frozenset({"phố", "pho"})), False),
}
# "tổ 5" is a hamlet only with its diacritic and a number; "to 5" is too ambiguous.
_NUMBER_ONLY_TRIGGERS: dict[tuple[str, ...], tuple[frozenset[str], ...]] = {
    ("to",): (frozenset({"tổ"}),),
}
_HAMLET_NUMBER = re.compile(r"\d{1,3}[a-z]?")
_ROMAN = re.compile(r"[IVX]{1,5}")
_NAME_WORD = re.compile(r"[^\W\d_]+(?:['’ʼ‘`´][^\W\d_]+)*")

# Folded everyday words that end a lower-case hamlet name ("buon ko tam dem qua").
_STOP_TEXT = """
    a ah ai ak anh ba ban bao bay be bi bo cai cac cam can cho chi chieu chu chuyen co con
    cua cung da dan dang day de den deu di dien do dua duoc dung em gan gap gi gio giup ha
    hay het hoi hom kia khi khong la lai lam lau len luc ma mai may minh moi mot mat muon
    nao nay ne neu nghe ngay nguoi nhe nha nhieu nhu nhung noi nua o oi ong qua ra roi sang
    sao se sau tai thi thay the thu toi tren trong truoc tu va vao ve vi voi vua xa xe xin
    xong xuong phuong dem trom chay
"""
_STOP_WORDS = frozenset(_STOP_TEXT.split())

_MAX_NAME_WORDS = 3
_MAX_LOWER_NAME_WORDS = 2


# --------------------------------------------------------------------------- regexes

_TLDS = (
    "com|net|org|vn|info|xyz|top|me|ly|io|co|online|site|club|shop|store|link|click|live|"
    "app|biz|asia|cc|tk|ml|ga|cf|gq|pw|icu|vip|fun|life|tv|us|cn|ru|gl|gd|win|bet|cloud|"
    "tech|page|dev|ws|in|edu|gov|news|today|world|website|space|pro|one|lol|sbs|cfd"
)
_URL = re.compile(
    rf"(?:https?://|www\.)[^\s<>\"'()\[\]{{}}]+"
    rf"|(?<![@\w.-])(?:[a-z0-9](?:[a-z0-9-]{{0,61}}[a-z0-9])?\.)+(?:{_TLDS})\b"
    rf"(?:[/?#][^\s<>\"'()\[\]{{}}]*)?",
    re.IGNORECASE,
)
_PHONE = re.compile(
    r"(?<![\w+])(?:\+84|84|0)[ .-]?(?:[35789](?:[ .-]?\d){8}|2(?:[ .-]?\d){9})(?![\d])"
    r"|(?<![\w+])1[89]00[ .-]?\d{4}(?:\d{2})?(?!\d)"
)
_PLATE = re.compile(
    r"(?<![\w.])\d{2} ?-? ?[A-Za-z]{1,2}\d? ?[-.]? ?(?:\d{3}\.\d{2}|\d{4,5})(?![\w])"
)
_BANK_NAMES = (
    r"vietcombank|vcb|techcombank|tcb|vietinbank|bidv|agribank|mb ?bank|mbbank|acb|"
    r"sacombank|vpbank|tpbank|vib|shb|hdbank|ocb|seabank|msb|eximbank|lpbank|"
    r"lienvietpostbank|nam ?a ?bank|bac ?a ?bank|scb|abbank|kienlongbank|pvcombank|"
    r"baovietbank|vietabank|momo|zalopay|viettel ?pay"
)
_ACCOUNT_DIGITS = r"\d(?:[ .-]?\d){7,18}"
_BANK_BEFORE = re.compile(
    rf"(?:\bstk\b|\bs\.t\.k\b|\bs[ốo] ?tk\b|\btk\b|\bt[àa]i kho[ảa]n\b|\baccount\b|"
    rf"\bng[âa]n h[àa]ng\b|\b(?:{_BANK_NAMES})\b)"
    rf"[^\d\n]{{0,30}}?(?<!\d)({_ACCOUNT_DIGITS})(?!\d)",
    re.IGNORECASE,
)
_BANK_AFTER = re.compile(
    rf"(?<![\d+])({_ACCOUNT_DIGITS})(?!\d)[ :,.()-]{{0,4}}"
    rf"(?:(?:ng[âa]n h[àa]ng|nh|t[ạa]i) )?(?:{_BANK_NAMES})\b",
    re.IGNORECASE,
)
_MIN_ACCOUNT, _MAX_ACCOUNT = 8, 16
# Cheap pre-checks: every phone/plate has 4+ digits in a row-ish, every account 8+.
_DIGITS4 = re.compile(r"\d(?:[ .-]?\d){3}")
_DIGITS8 = re.compile(r"\d(?:[ .-]?\d){7}")


def _digit_count(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


# --------------------------------------------------------------------------- extractor

_Candidate = tuple[int, int, str, int | None]  # working start, end, label, code


class EntityExtractor:
    """Finds communes, hamlets, phones, plates, bank accounts and URLs in messages."""

    def __init__(
        self,
        province_code: int = 66,
        *,
        max_chars: int = DEFAULT_MAX_CHARS,
        batch_size: int = 256,
        max_vocab: int = 500_000,
    ) -> None:
        if max_chars <= 0:
            raise ValueError(f"max_chars must be positive, got {max_chars}")
        self.province_code = province_code
        self.max_chars = max_chars
        self.batch_size = batch_size
        self.max_vocab = max_vocab
        self._places: dict[int, Place] = {p.code: p for p in communes_of(province_code)}
        self._distinctive: dict[str, bool] = {}
        self._build()

    def _build(self) -> None:
        # spaCy's string store keeps every word ever seen; rebuilding from scratch is
        # how a long-running bot keeps its memory bounded.
        self.nlp: Language = spacy.blank("vi", config={"nlp": {"tokenizer": {"use_pyvi": False}}})
        self.nlp.tokenizer = _Tokenizer(self.nlp.vocab)
        self._build_matchers()

    def _build_matchers(self) -> None:
        self._place_matcher = PhraseMatcher(self.nlp.vocab, attr="NORM")
        self._add_place_patterns()
        self._trigger_matcher = PhraseMatcher(self.nlp.vocab, attr="NORM")
        for norms in (*_HAMLET_TRIGGERS, *_NUMBER_ONLY_TRIGGERS):
            phrase = " ".join(norms)
            self._trigger_matcher.add(phrase, [self.nlp.make_doc(phrase)])

    def _add_place_patterns(self) -> None:
        names: dict[str, set[str]] = {}
        for place in self._places.values():
            short = place.short_name
            variants = {
                place.key,
                place.key.replace(" ", ""),
                place_key(_APOSTROPHES.sub(" ", short)),
            }
            for variant in variants:
                names.setdefault(str(place.code), set()).add(variant)
                self._distinctive[variant] = _distinctive(place.key)
        for alias, code in ALIASES.get(self.province_code, {}).items():
            if code in self._places:
                for variant in (alias, alias.replace(" ", "")):
                    names.setdefault(str(code), set()).add(variant)
                    self._distinctive.setdefault(variant, _distinctive(alias))
        for match_key, variants in names.items():
            docs = [self.nlp.make_doc(v) for v in sorted(variants)]
            self._place_matcher.add(match_key, docs)

    # ----------------------------------------------------------------- public API

    def extract(self, text: str) -> tuple[Entity, ...]:
        """Entities of one message, in text order."""
        return self.extract_many([text])[0]

    def extract_many(self, texts: Iterable[str]) -> list[tuple[Entity, ...]]:
        """Entities of many messages; tokenises through ``nlp.pipe`` in batches."""
        works = []
        for text in texts:
            if not isinstance(text, str):
                raise TypeError(f"expected str, got {type(text).__name__}")
            works.append(_Working(text[: self.max_chars]))
        if len(self.nlp.vocab.strings) > self.max_vocab:
            self._build()
        docs = self.nlp.pipe((w.text for w in works), batch_size=self.batch_size)
        return [self._entities(work, doc) for work, doc in zip(works, docs, strict=True)]

    # ----------------------------------------------------------------- internals

    def _entities(self, work: _Working, doc: Doc) -> tuple[Entity, ...]:
        candidates: list[_Candidate] = []
        candidates += self._regex_candidates(work.text)
        candidates += self._place_candidates(doc)
        candidates += self._hamlet_candidates(doc)
        chosen: list[_Candidate] = []
        taken: list[tuple[int, int]] = []
        for cand in sorted(candidates, key=lambda c: (c[0] - c[1], _PRIORITY[c[2]], c[0])):
            if all(cand[1] <= s or cand[0] >= e for s, e in taken):
                chosen.append(cand)
                taken.append((cand[0], cand[1]))
        entities = []
        for start, end, label, code in sorted(chosen):
            o_start, o_end = work.span(start, end)
            entities.append(Entity(label, work.original[o_start:o_end], o_start, o_end, code))
        return tuple(entities)

    def _regex_candidates(self, text: str) -> list[_Candidate]:
        out: list[_Candidate] = []
        if "." in text:
            for m in _URL.finditer(text):
                end = m.end()
                while end > m.start() and text[end - 1] in ".,;:!?…":
                    end -= 1
                out.append((m.start(), end, "URL", None))
        # Most messages have no long digit run; skipping the digit patterns then is
        # what keeps extraction cheap.
        if not _DIGITS4.search(text):
            return out
        for m in _PHONE.finditer(text):
            out.append((m.start(), m.end(), "PHONE", None))
        for m in _PLATE.finditer(text):
            plate = m.group()
            # Lower-case "12tr 3000" is money; real lower-case plates keep their punctuation.
            if plate.upper() != plate and "-" not in plate and "." not in plate:
                continue
            out.append((m.start(), m.end(), "PLATE", None))
        if _DIGITS8.search(text):
            for pattern in (_BANK_BEFORE, _BANK_AFTER):
                for m in pattern.finditer(text):
                    if _MIN_ACCOUNT <= _digit_count(m.group(1)) <= _MAX_ACCOUNT:
                        out.append((m.start(1), m.end(1), "BANK_ACCOUNT", None))
        return out

    def _place_candidates(self, doc: Doc) -> list[_Candidate]:
        out: list[_Candidate] = []
        for match_id, start, end in self._place_matcher(doc):
            span = doc[start:end]
            code = int(self.nlp.vocab.strings[match_id])
            begin = _prefix_start(doc, start)
            if begin is None:
                key = " ".join(t.norm_ for t in span)
                distinctive = self._distinctive.get(
                    key, self._distinctive.get(key.replace(" ", ""))
                )
                if not distinctive and not all(_looks_capitalised(t.text) for t in span):
                    continue
                begin = start
            out.append((doc[begin].idx, span.end_char, "COMMUNE", code))
        return out

    def _hamlet_candidates(self, doc: Doc) -> list[_Candidate]:
        out: list[_Candidate] = []
        for match_id, start, end in self._trigger_matcher(doc):
            norms = tuple(self.nlp.vocab.strings[match_id].split())
            trigger = [t.text.lower() for t in doc[start:end]]
            if norms in _NUMBER_ONLY_TRIGGERS:
                spellings, lower_ok, number_only = _NUMBER_ONLY_TRIGGERS[norms], False, True
            else:
                (spellings, lower_ok), number_only = _HAMLET_TRIGGERS[norms], False
            if not all(w in s for w, s in zip(trigger, spellings, strict=True)):
                continue
            last = self._hamlet_end(doc, end, lower_ok, number_only)
            if last is not None:
                out.append((doc[start].idx, doc[last - 1].idx + len(doc[last - 1]), "HAMLET", None))
        return out

    @staticmethod
    def _hamlet_end(doc: Doc, pos: int, lower_ok: bool, number_only: bool) -> int | None:
        """Token index just past the hamlet's number or name, or None if there is none."""
        if (
            pos + 1 < len(doc)
            and doc[pos].norm_ == "so"
            and _HAMLET_NUMBER.fullmatch(doc[pos + 1].norm_)
        ):
            return pos + 2
        if pos >= len(doc):
            return None
        first = doc[pos]
        if _HAMLET_NUMBER.fullmatch(first.norm_) or _ROMAN.fullmatch(first.text):
            return pos + 1
        if number_only or not _NAME_WORD.fullmatch(first.text):
            return None
        if _looks_capitalised(first.text):
            end = pos
            while (
                end < len(doc)
                and end - pos < _MAX_NAME_WORDS
                and _NAME_WORD.fullmatch(doc[end].text)
                and _looks_capitalised(doc[end].text)
            ):
                end += 1
            return end
        if not lower_ok:
            return None
        end = pos
        while (
            end < len(doc)
            and end - pos < _MAX_LOWER_NAME_WORDS
            and _NAME_WORD.fullmatch(doc[end].text)
            and doc[end].text.islower()
            and doc[end].norm_ not in _STOP_WORDS
        ):
            end += 1
        return end if end > pos else None
