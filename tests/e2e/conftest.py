"""The end-to-end tests' working folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import ROOT


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A copy of the shipped config and models, so runs write their store under tmp."""
    shutil.copy(ROOT / "config.toml", tmp_path / "config.toml")
    (tmp_path / "models").symlink_to(ROOT / "models")
    return tmp_path
