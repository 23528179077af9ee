"""Config validation: every problem names the key, the value and the reason."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from botkit.checks import config_problems
from botkit.config import ConfigError, load_config
from botkit.config.loader import parse_config
from tests.conftest import BASE_CONFIG, ROOT


def test_the_shipped_config_is_valid() -> None:
    config = load_config(ROOT / "config.toml")
    assert config.jurisdiction.province == 66
    assert config.jurisdiction.default == 24280  # "Xã Cư M'gar" resolved to its code
    assert config_problems(config) == []


def broken(path: str, value: Any) -> dict[str, Any]:
    raw = copy.deepcopy(BASE_CONFIG)
    node: Any = raw
    parts = path.split(".")
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
    node[parts[-1]] = value
    return raw


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("categories.scam.threshold", 1.5, "categories.scam.threshold = 1.5"),
        ("categories.scam.policy", "shout", "categories.scam.policy = 'shout'"),
        ("categories.scam.unit", "army", "no unit has that id or kind"),
        ("officers.0.unit", "nowhere", "officers[0].unit = 'nowhere'"),
        ("jurisdiction.default", "Xã Không Có", "is no commune or ward of province 66"),
        ("bot.retention_days", 0, "bot.retention_days = 0"),
        ("bot.hash_key_env", "my secret", "must name an environment variable"),
        ("bot.colour", "blue", "bot.colour: unknown key"),
        ("units.0.escalation", [{"notify": "everyone"}], "must be on_duty, leader"),
        ("storage.backend", "postgres", "storage.backend = 'postgres'"),
        ("storage.key_prefix", "a b", "storage.key_prefix = 'a b'"),
        ("storage.url_env", "redis://x", "storage.url_env = 'redis://x'"),
    ],
)
def test_a_wrong_value_is_named(path: str, value: Any, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(broken(path, value))
    assert expected in str(info.value)


def test_a_misspelt_commune_in_the_config_gets_did_you_mean() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(broken("jurisdiction.default", "Xã Ea Tuul"))
    assert "did you mean Xã Ea Tul (24277)" in str(info.value)


def test_commune_names_are_matched_as_residents_write_them() -> None:
    raw = broken("jurisdiction.default", "cu mgar")
    assert parse_config(raw).jurisdiction.default == 24280


@pytest.mark.parametrize("given", [66, "66", "Đắk Lắk", "dak lak", "Tỉnh Đắk Lắk", "DakLak"])
def test_a_province_is_given_by_code_or_by_name(given: int | str) -> None:
    config = parse_config(broken("jurisdiction.province", given))
    assert config.jurisdiction.province == 66
    assert config.jurisdiction.default == 24280  # commune names resolved in that province


@pytest.mark.parametrize("given", [99, "Không Có", ""])
def test_an_unknown_province_is_one_clear_error(given: int | str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(broken("jurisdiction.province", given))
    message = str(info.value)
    assert f"jurisdiction.province = {given!r}: no such province" in message
    assert "66 Đắk Lắk" in message and "\n" not in message


def test_missing_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[bot\nlanguage = 'vi'")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


def test_roster_gaps_and_overlaps_are_reported() -> None:
    raw = copy.deepcopy(BASE_CONFIG)
    raw["units"][0]["shifts"] = [
        {"officers": ["thanh"], "start": "07:00:00", "end": "12:00:00"},
        {"officers": ["dung"], "start": "11:00:00", "end": "18:59:59"},
    ]
    problems = config_problems(parse_config(raw))
    assert any("11:00–12:00 shifts overlap" in p for p in problems)
    assert any("19:00–" in p and "nobody on duty" in p for p in problems)


def test_an_enabled_adapter_whose_token_variable_is_not_set_is_reported() -> None:
    from botkit.checks import environment_problems

    raw = copy.deepcopy(BASE_CONFIG)
    raw["adapters"] = {
        "tg": {"token_env": "TG_TOKEN", "webhook_secret_env": "TG_SECRET"},
        "off": {"enabled": False, "token_env": "OFF_TOKEN"},
    }
    config = parse_config(raw)
    assert environment_problems(config, {"TG_TOKEN": "123:abc"}) == [
        "adapters.tg.webhook_secret_env: $TG_SECRET is not set on this machine"
    ]
    problems = environment_problems(config, {})
    assert len(problems) == 2 and not any("OFF_TOKEN" in p for p in problems)
    assert not any("123:abc" in p for p in environment_problems(config, {"TG_TOKEN": "123:abc"}))
