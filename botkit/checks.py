"""Config checks beyond the schema: warnings `check-config` prints."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from botkit.config import Config
from botkit.domain.verdict import NORMAL
from botkit.escalation.roster import roster_problems
from botkit.escalation.routing import Router
from botkit.places import PlaceBook


def config_problems(config: Config) -> list[str]:
    problems: list[str] = []
    router = Router(config)
    places = PlaceBook(config.jurisdiction.province)
    for unit in config.units:
        problems += roster_problems(unit)
        if not unit.shifts and not unit.leader:
            problems.append(f"units.{unit.id}: no shifts and no leader: nobody to alert")
    for code in {config.jurisdiction.default, *config.jurisdiction.communes}:
        for category in config.categories:
            if not router.units_for(category, code):
                problems.append(f"{category} in {places.name(code)}: no unit handles it")
    for officer in config.officers:
        if not officer.contacts:
            problems.append(f"officers.{officer.id}: no contact: alerts cannot reach them")
        for adapter in officer.contacts:
            if adapter not in config.adapters:
                problems.append(
                    f"officers.{officer.id}.contacts.{adapter}: no such adapter in config"
                )
    return problems


def environment_problems(config: Config, environ: Mapping[str, str]) -> list[str]:
    """Variables an enabled adapter's section names (keys ending in `_env`) that are not
    set here: the adapter would stop at start (the values are never shown); and OCR for
    pictures missing on this machine."""
    problems: list[str] = []
    if config.images.enabled:
        from botkit.images.ocr import unavailable

        missing = unavailable(config.images.language)
        if missing is not None:
            problems.append(f"images: text in pictures will not be read: {missing}")
    for name in config.enabled_adapters():
        for key, value in (config.adapters[name].model_extra or {}).items():
            if key.endswith("_env") and isinstance(value, str) and not environ.get(value):
                problems.append(f"adapters.{name}.{key}: ${value} is not set on this machine")
    return problems


def label_problems(config: Config, labels: Iterable[str]) -> list[str]:
    """A model's labels against the configured categories (what would never be acted on)."""
    labels = [str(label) for label in labels]
    problems = [
        f"model category {label!r} has no [categories.{label}]: no unit handles it, its flags "
        "are ignored"
        for label in labels
        if label != NORMAL and label not in config.categories
    ]
    problems += [
        f"categories.{key}: the model has no such label, so nothing is ever flagged as it"
        for key in config.categories
        if key not in labels
    ]
    return problems
