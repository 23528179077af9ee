"""Configuration: a validated `config.toml`."""

from botkit.config.loader import ConfigError, load_config
from botkit.config.schema import (
    AdapterSettings,
    CategorySettings,
    Config,
    GroupSettings,
    ImageSettings,
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
    "ImageSettings",
    "OfficerSettings",
    "RouteSettings",
    "UnitSettings",
    "load_config",
]
