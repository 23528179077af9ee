"""The configured province's communes and wards, by code and by name."""

from __future__ import annotations

from functools import cached_property

from classifiers.places import Place, communes_of, find_place, similar_places


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
