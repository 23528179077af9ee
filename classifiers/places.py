"""Communes and wards of a province (2025 two-level structure) and name lookup.

Data comes from the offline ``vietnam-provinces`` package. Names are matched the way
residents type them: without diacritics, with straight or curly apostrophes or none,
with or without the "xã"/"phường" prefix, run together ("CưMgar"), or by a local alias.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType

from vietnam_provinces import Province, Ward

from classifiers.normalize import fold_diacritics

__all__ = [
    "ALIASES",
    "Place",
    "UnknownProvinceError",
    "communes_of",
    "find_place",
    "find_province",
    "place_key",
    "province_codes",
    "province_name",
    "similar_places",
]

# Apostrophes are dropped rather than turned into spaces: residents write "Cư Mgar"
# far more often than "Cư M gar".
_APOSTROPHES = re.compile(r"['’ʼ‘`´]")
_NON_ALNUM = re.compile(r"[^0-9a-z]+")

# Leading words that name the kind of unit rather than the unit; several old
# district-level prefixes are kept because people still say "thị xã Buôn Hồ".
_PREFIXES: tuple[tuple[str, ...], ...] = (
    ("dac", "khu"),
    ("thi", "tran"),
    ("thi", "xa"),
    ("thanh", "pho"),
    ("xa",),
    ("phuong",),
    ("huyen",),
    ("tp",),
    ("tx",),
    ("tt",),
    ("p",),
    ("x",),
    ("h",),
)

_KIND_PREFIX = {"xã": "Xã", "phường": "Phường", "đặc khu": "Đặc khu"}

# Local names keyed by province code, then by place_key() of the alias. Spellings that
# differ only in spaces, apostrophes, diacritics or a "xã"/"tp" prefix need no entry.
ALIASES: Mapping[int, Mapping[str, int]] = MappingProxyType(
    {
        66: MappingProxyType(
            {
                "bmt": 24133,
                "ban me": 24133,
                "ban me thuot": 24133,
                "buon me thuot": 24133,
            }
        ),
    }
)


class UnknownProvinceError(LookupError):
    """Raised for a province code that is not in the 2025 list of 34 provinces."""


@dataclass(frozen=True)
class Place:
    """One commune, ward or special zone."""

    code: int
    name: str
    kind: str
    province_code: int
    key: str

    @property
    def short_name(self) -> str:
        """Official name without the "Xã"/"Phường" prefix."""
        prefix = _KIND_PREFIX.get(self.kind)
        if prefix and self.name.startswith(prefix + " "):
            return self.name[len(prefix) + 1 :]
        return self.name


def place_key(text: str) -> str:
    """Fold, lower-case and strip punctuation so spellings of one name compare equal."""
    text = unicodedata.normalize("NFC", text)
    text = fold_diacritics(text).lower()
    text = _APOSTROPHES.sub("", text)
    return _NON_ALNUM.sub(" ", text).strip()


def _strip_prefix(key: str) -> str:
    words = key.split()
    for prefix in _PREFIXES:
        if len(words) > len(prefix) and tuple(words[: len(prefix)]) == prefix:
            return " ".join(words[len(prefix) :])
    return key


def _province(code: int) -> Province:
    try:
        return Province.from_code(code)  # type: ignore[arg-type]
    except (ValueError, KeyError):
        known = ", ".join(str(c) for c in province_codes())
        raise UnknownProvinceError(
            f"unknown province code {code!r}; known codes (2025): {known}"
        ) from None


def find_province(query: int | str) -> int | None:
    """A province's code from its code (66, "66") or its name as typed ("Đắk Lắk",
    "dak lak", "tỉnh Đắk Lắk", "TP Hồ Chí Minh"); None if there is no such province."""
    if isinstance(query, int) or (query.strip().isascii() and query.strip().isdigit()):
        code = int(query)
        return code if any(int(p.code) == code for p in Province.iter_all()) else None
    key = _province_key(query).replace(" ", "")  # "DakLak" as often as "Dak Lak"
    for province in Province.iter_all():
        if key and _province_key(province.name).replace(" ", "") == key:
            return int(province.code)
    return None


def _province_key(name: str) -> str:
    key = place_key(name)
    for prefix in ("tinh ", "thanh pho ", "tp "):
        key = key.removeprefix(prefix)
    return key


def province_codes() -> list[int]:
    """The 34 provinces' codes (2025 structure), in order."""
    return sorted(int(p.code) for p in Province.iter_all())


def province_name(code: int) -> str:
    """Official name of a province, e.g. 66 -> "Đắk Lắk"."""
    return _province(code).name


def _to_place(ward: Ward) -> Place:
    name = " ".join(ward.name.split())
    kind = ward.division_type.value
    prefix = _KIND_PREFIX.get(kind)
    short = name[len(prefix) + 1 :] if prefix and name.startswith(prefix + " ") else name
    return Place(
        code=int(ward.code),
        name=name,
        kind=kind,
        province_code=int(ward.province_code),
        key=place_key(short),
    )


@lru_cache(maxsize=64)
def communes_of(province_code: int) -> tuple[Place, ...]:
    """All communes, wards and special zones of a province, ordered by code."""
    _province(province_code)
    places = (_to_place(w) for w in Ward.iter_by_province(province_code))  # type: ignore[arg-type]
    return tuple(sorted(places, key=lambda p: p.code))


@lru_cache(maxsize=64)
def _lookup_tables(province_code: int) -> tuple[dict[int, Place], dict[str, Place]]:
    places = communes_of(province_code)
    by_code = {p.code: p for p in places}
    by_key: dict[str, Place] = {}
    ambiguous: set[str] = set()
    for place in places:
        for variant in (place.key, place.key.replace(" ", "")):
            other = by_key.get(variant)
            if other is not None and other.code != place.code:
                ambiguous.add(variant)
            by_key[variant] = place
    for alias, code in ALIASES.get(province_code, {}).items():
        if code in by_code:
            by_key.setdefault(alias, by_code[code])
            by_key.setdefault(alias.replace(" ", ""), by_code[code])
    # A key two places share must not silently resolve to whichever came last.
    for variant in ambiguous:
        del by_key[variant]
    return by_code, by_key


def find_place(query: str, province_code: int) -> Place | None:
    """Find a commune or ward of the province by code ("24280") or by name as typed."""
    by_code, by_key = _lookup_tables(province_code)
    stripped = query.strip()
    if stripped.isascii() and stripped.isdigit():
        return by_code.get(int(stripped))
    key = place_key(stripped)
    if not key:
        return None
    province_key = place_key(_province(province_code).name)
    # The full key first: "Phương Sơn" is a name, not the prefix "phường" plus "Sơn".
    candidates = [key, _strip_prefix(key)]
    # "Ea Tul, Đắk Lắk" / "xa ea tul tinh dak lak": drop a trailing province name.
    for suffix in (
        f" tinh {province_key}",
        f" {province_key}",
        f" {province_key.replace(' ', '')}",
    ):
        if key.endswith(suffix) and len(key) > len(suffix):
            head = key[: -len(suffix)].strip()
            candidates += [head, _strip_prefix(head)]
    for candidate in candidates:
        for variant in (candidate, candidate.replace(" ", "")):
            place = by_key.get(variant)
            if place is not None:
                return place
    return None


def similar_places(query: str, province_code: int, limit: int = 3) -> list[Place]:
    """For a name `find_place` could not settle: the places it could mean. Every place whose
    name it matches when several do ("Hòa Phú" in two districts' old names), else the closest
    spellings ("Ea Tuul" -> Ea Tul), at most `limit`."""
    places = communes_of(province_code)
    key = _strip_prefix(place_key(query))
    if not key:
        return []
    same = [p for p in places if key in (p.key, p.key.replace(" ", ""))]
    if same:
        return same[:limit]
    names = {p.key: p for p in places}
    close = difflib.get_close_matches(key, list(names), n=limit, cutoff=0.6)
    return [names[k] for k in close]
