"""Read and validate `config.toml`, turning every problem into one clear sentence."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from botkit.config.schema import Config
from classifiers.places import find_province, province_codes, province_name


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key, value and reason."""


def load_config(path: str | Path) -> Config:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_config(raw, source=str(path))


def parse_config(raw: dict[str, Any], source: str = "config") -> Config:
    jurisdiction = raw.get("jurisdiction") if isinstance(raw, dict) else None
    context: dict[str, int] = {}
    if isinstance(jurisdiction, dict) and isinstance(jurisdiction.get("province"), int | str):
        given = jurisdiction["province"]
        code = find_province(given)
        if code is None:
            known = ", ".join(f"{c} {province_name(c)}" for c in province_codes())
            raise ConfigError(
                f"{source}: jurisdiction.province = {given!r}: no such province"
                f" (2025 structure); a code or a name: {known}"
            )
        # Names are accepted as the README suggests; the code is what the rest uses.
        raw = {**raw, "jurisdiction": {**jurisdiction, "province": code}}
        context = {"province": code}
    try:
        return Config.model_validate(raw, context=context)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, raw, source)) from None


def _describe(exc: ValidationError, raw: dict[str, Any], source: str) -> str:
    lines = [f"{source}: {exc.error_count()} problem(s)"]
    for err in exc.errors():
        loc = _dotted(err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            lines.append(f"  {loc}: unknown key")
            continue
        if err["type"] == "missing":
            lines.append(f"  {loc}: required key is missing")
            continue
        value = _lookup(raw, err["loc"])
        shown = (
            f" = {value!r}" if value is not _MISSING and not isinstance(value, dict | list) else ""
        )
        where = f"  {loc}{shown}: " if loc else "  "
        lines.append(f"{where}{msg}")
    return "\n".join(lines)


_MISSING = object()


def _lookup(raw: Any, loc: tuple[int | str, ...]) -> Any:
    node = raw
    for part in loc:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return _MISSING
    return node


def _dotted(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith(("function-", "int", "str")) and out:
            # pydantic's union branch names say nothing to a user
            continue
        else:
            out += f".{part}" if out else part
    return out
