"""Translatable user-facing texts; Vietnamese by default."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Any


class Texts:
    def __init__(self, language: str = "vi") -> None:
        self.language = language
        self._table = _load(language)

    def template(self, key: str) -> str:
        """The text with its `{placeholders}` unfilled (Vietnamese when not translated)."""
        section, _, name = key.partition(".")
        try:
            return str(self._table[section][name])
        except KeyError:
            return str(_load("vi")[section][name])

    def get(self, key: str, **values: Any) -> str:
        template = self.template(key)
        return template.format(**values) if values else template

    def category(self, key: str) -> str:
        return self.get(f"category.{key}") if key in self._table["category"] else key


@cache
def _load(language: str) -> dict[str, Any]:
    try:
        raw = resources.files("botkit.locales").joinpath(f"{language}.toml").read_text("utf-8")
    except FileNotFoundError:
        raise ValueError(
            f"no texts for language {language!r} (botkit/locales/{language}.toml)"
        ) from None
    return tomllib.loads(raw)
