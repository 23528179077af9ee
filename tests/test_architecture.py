"""Dependency direction: adapters → botkit → classifiers, and nothing the other way."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PLATFORM_LIBS = {"telegram", "aiogram", "aiohttp", "tornado", "adapters"}


def imported_modules(package: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("botkit", PLATFORM_LIBS),
        ("classifiers", {"botkit", "adapters"} | PLATFORM_LIBS),
        # The kit serves every platform, so no platform's library belongs in it.
        ("adapters/kit", {"telegram", "aiogram", "tornado"}),
    ],
)
def test_no_import_against_the_direction(package: str, forbidden: set[str]) -> None:
    offenders = {
        f: sorted(n & forbidden) for f, n in imported_modules(package).items() if n & forbidden
    }
    assert offenders == {}


def test_running_the_core_loads_no_platform_library() -> None:
    code = (
        "import sys, botkit.cli, botkit.app, botkit.runner, botkit.training;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in"
        f" {sorted(PLATFORM_LIBS)!r}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "[]"


def wait_for_calls(directory: Path) -> list[str]:
    """`asyncio.wait_for(...)` (or a bare `wait_for(...)`) in the code under `directory`."""
    found = []
    for path in directory.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            named = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            owner = func.value if isinstance(func, ast.Attribute) else None
            if named == "wait_for" and (owner is None or getattr(owner, "id", "") == "asyncio"):
                found.append(f"{path.relative_to(directory)}:{node.lineno}")
    return found


@pytest.mark.parametrize("package", ["botkit", "classifiers", "adapters"])
def test_no_asyncio_wait_for(package: str) -> None:
    """On Python 3.11 `asyncio.wait_for` can drop a cancellation (see `botkit.waiting`):
    a stopped sender went on sending. `asyncio.timeout` or `event_within` instead."""
    assert wait_for_calls(ROOT / package) == []


def test_the_wait_for_check_finds_a_call(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(
        "import asyncio\nasync def f(e):\n    await asyncio.wait_for(e.wait(), 1)\n",
        encoding="utf-8",
    )
    assert wait_for_calls(tmp_path) == ["m.py:3"]
