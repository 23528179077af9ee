"""Configuration: a validated `config.toml`."""

from botkit.config.loader import ConfigError, load_config
from botkit.config.schema import (
    AdapterSettings,
    CategorySettings,
    Config,
    GroupSettings,
    OfficerSettings,
    RouteSettings,
    UnitSettings,
)

__all__ = [
    "AdapterSettings",
    "CategorySettings",
    "Config",
    "ConfigError",
    "GroupSettings",
    "OfficerSettings",
    "RouteSettings",
    "UnitSettings",
    "load_config",
]
