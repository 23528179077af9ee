"""The configured province's communes and wards, by code and by name."""

from __future__ import annotations

from functools import cached_property

from classifiers.places import Place, communes_of, find_place, similar_places


class UnknownPlace(ValueError):
    """A commune named on the command line that the province does not have."""


class PlaceBook:
    def __init__(self, province: int) -> None:
        self.province = province

    @cached_property
    def _by_code(self) -> dict[int, Place]:
        return {p.code: p for p in communes_of(self.province)}

    def name(self, code: int) -> str:
        place = self._by_code.get(code)
        return " ".join(place.name.split()) if place else str(code)

    def find(self, query: str) -> Place | None:
        return find_place(query, self.province)

    def similar(self, query: str) -> list[Place]:
        """What a name that matched nothing (or several) could mean."""
        return similar_places(query, self.province)

    def __contains__(self, code: int) -> bool:
        return code in self._by_code

    def code_of(self, query: str) -> int:
        """A commune by code or by name as people write it; UnknownPlace, with suggestions."""
        if query.strip().isdigit():
            if int(query) in self:
                return int(query)
        else:
            place = self.find(query)
            if place is not None:
                return place.code
        similar = ", ".join(f"{p.name} ({p.code})" for p in self.similar(query))
        hint = f"; did you mean {similar}?" if similar else ""
        raise UnknownPlace(f"{query!r} is no commune or ward of province {self.province}{hint}")
