"""`botkit train` and `botkit models …` find the deployment's registry through its config."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.e2e.test_cli import botkit

SHIPPED_REGISTRY = ROOT / "models" / "registry.json"
# Two shipped versions, the newer one better on the held-out set: promotion passes the gate.
OLDER, NEWER = "20261129-055712-c270b802", "20261130-104645-75ca559a"
WARNING = "is tracked by git in this checkout"


def _config(folder: Path, registry: str) -> Path:
    """The shipped config in `folder`, its `[model] registry` set to `registry`."""
    folder.mkdir(parents=True, exist_ok=True)
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    assert 'registry = "models"' in text
    config = folder / "config.toml"
    config.write_text(text.replace('registry = "models"', f'registry = "{registry}"'), "utf-8")
    return config


def _registry(folder: Path, versions: list[str]) -> None:
    """A registry with copies (not links) of shipped versions, the first one promoted."""
    folder.mkdir(parents=True)
    for version in versions:
        shutil.copytree(ROOT / "models" / version, folder / version)
    registry = {"current": versions[0], "history": versions[:1]}
    (folder / "registry.json").write_text(json.dumps(registry, indent=2) + "\n")


def _current(registry: Path) -> str:
    current: str = json.loads((registry / "registry.json").read_text())["current"]
    return current


@pytest.fixture
def deployment(tmp_path: Path) -> Path:
    """`dep/config.toml` whose registry is `dep/registry-dir`, holding OLDER (promoted), NEWER."""
    _config(tmp_path / "dep", "registry-dir")
    _registry(tmp_path / "dep" / "registry-dir", [OLDER, NEWER])
    (tmp_path / "elsewhere").mkdir()
    return tmp_path


@pytest.fixture(autouse=True)
def shipped_registry_untouched() -> Iterator[None]:
    """No test here may change the source checkout's models/registry.json."""
    before = SHIPPED_REGISTRY.read_bytes()
    yield
    assert SHIPPED_REGISTRY.read_bytes() == before


def _small_csv(path: Path) -> Path:
    """40 rows, 2 labels: enough to train in seconds."""
    rumours = ["nghe nói {} có dịch lạ, đóng cửa hết", "CHIA SẺ GẤP {} sắp vỡ đập"]
    facts = ["họp thôn ở {} lúc 3 giờ chiều", "chợ {} hôm nay cà phê 120k"]
    rows = ["text,label"]
    for i in range(10):
        place = f"thôn {i + 1}"
        rows += [f'"{r.format(place)}",rumour' for r in rumours]
        rows += [f'"{f.format(place)} số {i}",normal' for f in facts]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_list_shows_the_deployments_versions_with_full_ids_in_a_narrow_terminal(
    deployment: Path,
) -> None:
    result = botkit(
        "models", "list", "--config", "../dep/config.toml",
        cwd=deployment / "elsewhere", env={"COLUMNS": "60"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for version in (OLDER, NEWER):
        assert any(version in line for line in lines), result.stdout
    assert any(OLDER in line and "★" in line for line in lines), result.stdout
    # only the deployment's versions, not the checkout's
    assert _current(ROOT / "models") not in result.stdout
    assert all(len(line) <= 60 for line in lines if OLDER in line or NEWER in line)


def test_root_overrides_the_config(deployment: Path) -> None:
    result = botkit(
        "models", "list", "--config", "dep/config.toml", "--root", str(ROOT / "models"),
        cwd=deployment,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert _current(ROOT / "models") in result.stdout


def test_without_a_config_here_the_models_folder_here_is_used(deployment: Path) -> None:
    result = botkit("models", "list", cwd=deployment / "dep")  # config.toml is here
    assert result.returncode == 0 and NEWER in result.stdout, result.stderr
    (deployment / "dep" / "config.toml").rename(deployment / "dep" / "other.toml")
    (deployment / "dep" / "registry-dir").rename(deployment / "dep" / "models")
    result = botkit("models", "list", cwd=deployment / "dep")
    assert result.returncode == 0 and NEWER in result.stdout, result.stderr


def test_a_missing_config_given_is_a_config_error(deployment: Path) -> None:
    for command in (["models", "list"], ["models", "rollback"], ["train", "--no-seed"]):
        result = botkit(*command, "--config", "nope.toml", cwd=deployment)
        assert result.returncode == 2, result.stderr
        assert result.stderr.strip() == "config error: nope.toml: no such file"


def test_promote_and_rollback_act_on_the_deployments_registry(deployment: Path) -> None:
    registry = deployment / "dep" / "registry-dir"
    elsewhere = deployment / "elsewhere"
    promoted = botkit("models", "promote", NEWER, "-c", "../dep/config.toml", cwd=elsewhere)
    assert promoted.returncode == 0, promoted.stderr
    assert json.loads((registry / "registry.json").read_text()) == {
        "current": NEWER,
        "history": [OLDER, NEWER],
    }
    back = botkit("models", "rollback", "--config", "../dep/config.toml", cwd=elsewhere)
    assert back.returncode == 0 and OLDER in back.stdout, back.stderr
    assert _current(registry) == OLDER


def test_train_writes_into_the_deployments_registry_without_a_warning(deployment: Path) -> None:
    data = _small_csv(deployment / "small.csv")
    result = botkit(
        "train", "--config", "../dep/config.toml", "--data", str(data), "--no-seed",
        cwd=deployment / "elsewhere",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    registry = deployment / "dep" / "registry-dir"
    trained = [p.name for p in registry.iterdir() if p.is_dir() and p.name not in (OLDER, NEWER)]
    assert len(trained) == 1 and (registry / trained[0] / "model.skops").is_file()
    assert str(registry / trained[0]) in result.stdout
    assert WARNING not in result.stderr
    assert list((deployment / "elsewhere").iterdir()) == []  # nothing in the current directory
    assert _current(registry) == OLDER  # training does not promote


def test_training_into_a_git_tracked_models_folder_warns(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    _config(checkout, "models")
    (checkout / "models").mkdir()
    (checkout / "models" / "registry.json").write_text('{"current": null, "history": []}\n')
    git = ["git", "-C", str(checkout)]
    subprocess.run([*git, "init", "-q"], check=True, timeout=30)
    subprocess.run([*git, "add", "models/registry.json"], check=True, timeout=30)
    data = _small_csv(tmp_path / "small.csv")
    result = botkit("train", "--data", str(data), "--no-seed", cwd=checkout)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if WARNING in line]
    assert len(warnings) == 1 and warnings[0].startswith("warning: "), result.stderr
    assert "--output" in warnings[0]
    # --output elsewhere: the shipped model is not changed, nothing to warn about
    result = botkit(
        "train", "--data", str(data), "--no-seed", "--output", str(tmp_path / "m"), cwd=checkout
    )
    assert result.returncode == 0 and WARNING not in result.stderr, result.stderr
