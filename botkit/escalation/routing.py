"""A routing tree from config: first match wins, `continue` lets later routes match too."""

from __future__ import annotations

from botkit.config import Config


class Router:
    def __init__(self, config: Config) -> None:
        self.config = config

    def units_for(self, category: str, jurisdiction: int) -> list[str]:
        """Unit ids responsible for a category in a commune, the primary one first."""
        units: list[str] = []
        for route in self.config.routes:
            cats, places = route.match.categories, route.match.jurisdictions
            if cats and category not in cats:
                continue
            if places and jurisdiction not in places:
                continue
            unit = self.resolve(route.unit, jurisdiction)
            if unit is not None and unit not in units:
                units.append(unit)
            if not route.continue_:
                break
        if not units:
            settings = self.config.categories.get(category)
            if settings is not None:
                unit = self.resolve(settings.unit, jurisdiction)
                if unit is not None:
                    units.append(unit)
        return units

    def resolve(self, unit_or_kind: str, jurisdiction: int) -> str | None:
        """A unit id stands for itself; a kind picks the unit of that kind covering the commune."""
        ids = {u.id for u in self.config.units}
        if unit_or_kind in ids:
            return unit_or_kind
        of_kind = [u for u in self.config.units if u.kind == unit_or_kind]
        local = [u for u in of_kind if jurisdiction in u.jurisdictions]
        if local:
            return local[0].id
        wide = [u for u in of_kind if not u.jurisdictions]
        return wide[0].id if wide else None

    def ancestors(self, unit_id: str) -> list[str]:
        """The unit and its superiors, nearest first."""
        chain: list[str] = []
        current: str | None = unit_id
        while current is not None and current not in chain:
            chain.append(current)
            current = self.config.unit(current).parent
        return chain
