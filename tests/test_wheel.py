"""Install the built wheel (not the checkout) into a fresh venv and use it from an unrelated
directory, as a Docker image or a production host would: the shipped config, migrations,
claims weights, demo data and Slack manifest must all come from the installed package."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = [pytest.mark.wheel, pytest.mark.timeout(900)]

ENV_PREFIXES = ("SLACK_", "DISCORD_", "WATCHDESK_")
ARTICLE = (
    "Lukashenko visits Moscow\n"
    "Alexander Lukashenko met Vladimir Putin in Moscow on Tuesday. He said trade between the "
    "two countries grew 12% last year.\n"
)
# Package data the wheel must carry, by path inside it.
DATA_FILES = (
    "bot/defaults/watchdesk.toml",
    "bot/defaults/slack-manifest.yml",
    "bot/store/migrations/env.py",
    "bot/store/migrations/script.py.mako",
    "bot/store/migrations/versions/0001_initial_schema.py",
    "bot/analysis/claims_model/weights.npz",
    "bot/analysis/claims_model/metadata.json",
    "bot/demo/data/items.json",
    "bot/demo/data/zapad-visit.txt",
)


@dataclass(frozen=True)
class Installed:
    venv: Path
    wheel: Path

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def script(self) -> Path:
        return self.venv / "bin" / "watchdesk"


def outside_env() -> dict[str, str]:
    """No PYTHONPATH (it would make the checkout importable), tokens or desk settings."""
    return {
        k: v
        for k, v in os.environ.items()
        if k != "PYTHONPATH" and k != "DATABASE_URL" and not k.startswith(ENV_PREFIXES)
    }


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    base = tmp_path_factory.mktemp("wheel")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(base), str(REPO)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stderr
    [wheel] = base.glob("watchdesk-*.whl")
    venv = base / "venv"
    # System site-packages hold the dependencies already; the venv's own site-packages (first
    # on sys.path) hold only the wheel, so `bot` must resolve there and not to any checkout.
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(venv)],
        check=True,
        env=outside_env(),
        timeout=120,
    )
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install"]
        # --ignore-installed: the shared interpreter may hold an editable watchdesk that pip
        # would otherwise call "already satisfied".
        + ["-q", "--no-deps", "--no-index", "--ignore-installed", str(wheel)],
        env=outside_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert pip.returncode == 0, pip.stderr
    assert (venv / "bin" / "watchdesk").exists(), pip.stdout + pip.stderr
    yield Installed(venv, wheel)


def run(installed: Installed, cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(installed.script), *argv],
        cwd=cwd,
        env=outside_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_wheel_carries_every_module_and_the_package_data(installed: Installed) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    modules = {
        p.relative_to(REPO).as_posix()
        for p in (REPO / "bot").rglob("*.py")
        if "__pycache__" not in p.parts
    }
    assert modules - names == set()
    assert set(DATA_FILES) - names == set()


def test_bot_is_imported_from_the_venv_not_the_checkout(
    installed: Installed, tmp_path: Path
) -> None:
    result = subprocess.run(
        [str(installed.python), "-c", "import bot, bot.settings as s; print(bot.__file__)"] + [],
        cwd=tmp_path,
        env=outside_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).is_relative_to(installed.venv), result.stdout


def test_demo_runs_from_another_directory(installed: Installed, tmp_path: Path) -> None:
    demo = run(installed, tmp_path, "demo")
    assert demo.returncode == 0, demo.stderr
    assert "━━ ALERT" in demo.stdout and "Recorded: claim 1 → unproven" in demo.stdout
    assert list(tmp_path.iterdir()) == []  # the demo keeps its database to itself


def test_check_a_file_with_the_shipped_watchlist(installed: Installed, tmp_path: Path) -> None:
    article = tmp_path / "article.txt"
    article.write_text(ARTICLE, encoding="utf-8")
    check = run(installed, tmp_path, "check", str(article))
    assert check.returncode == 0, check.stderr
    assert "MATCH Lukashenko" in check.stdout and "CLAIMS TO CHECK" in check.stdout


def test_init_then_db_upgrade_and_feeds_list_use_the_local_config(
    installed: Installed, tmp_path: Path
) -> None:
    init = run(installed, tmp_path, "init")
    assert init.returncode == 0, init.stderr
    assert "Next: edit watchdesk.toml" in init.stdout
    shipped = (REPO / "config" / "watchdesk.toml").read_bytes()
    assert (tmp_path / "watchdesk.toml").read_bytes() == shipped
    assert (tmp_path / "slack-manifest.yml").read_bytes() == (
        REPO / "config" / "slack-manifest.yml"
    ).read_bytes()

    listed = run(installed, tmp_path, "feeds", "list")
    assert listed.returncode == 2 and "run `watchdesk db upgrade`" in listed.stderr
    assert not (tmp_path / "watchdesk.db").exists()  # a read-only command creates nothing

    upgrade = run(installed, tmp_path, "db", "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr
    assert upgrade.stdout.strip() == "database at sqlite:///watchdesk.db is up to date"
    listed = run(installed, tmp_path, "feeds", "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.startswith("16 feed(s):") and "BelTA" in listed.stdout

    again = run(installed, tmp_path, "init")
    assert again.returncode == 2 and "already exist" in again.stderr and "--force" in again.stderr


def test_doctor_reports_the_installed_config_and_schema(
    installed: Installed, tmp_path: Path
) -> None:
    assert run(installed, tmp_path, "init").returncode == 0
    assert run(installed, tmp_path, "db", "upgrade").returncode == 0
    doctor = run(installed, tmp_path, "doctor")
    assert "Traceback" not in doctor.stderr, doctor.stderr
    assert "Config: watchdesk.toml" in doctor.stdout
    assert "reachable, schema at revision" in doctor.stdout
    assert "check-worthiness model loads" in doctor.stdout
