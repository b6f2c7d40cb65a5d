"""Shared helpers: run the real CLI against a real database file, at a chosen time."""

from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from srs.cli import app

HERE = Path(__file__).parent


def real_packages_dir() -> Path | None:
    """The folder of real Anki packages the optional tests run on (tests/anki/REAL_PACKAGES.md):
    $SRS_REAL_PACKAGES, else ../shared/anki-packages beside the repository; None when neither is there."""
    given = os.environ.get("SRS_REAL_PACKAGES")
    folder = Path(given) if given else HERE.parent.parent / "shared" / "anki-packages"
    return folder if folder.is_dir() else None


@contextmanager
def time_zone(name: str):
    """The process's local time zone set to `name` (TZ), restored afterwards."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = name
    time.tzset()
    try:
        yield
    finally:
        if old is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old
        time.tzset()


class Cli:
    """The real `srs` command (typer's CliRunner), on one database, with SRS_NOW set per call."""

    def __init__(self, db: Path):
        self.db = db
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None, now: str | None = None, ok: bool = True):
        env = {"SRS_NOW": now} if now else {"SRS_NOW": None}
        result = self.runner.invoke(app, ["--db", str(self.db), *args], input=input, env=env)
        if ok and result.exit_code != 0:
            raise AssertionError(f"srs {' '.join(args)} failed ({result.exit_code}):\n{result.output}\n"
                                 f"{result.exception!r}")
        return result

    def json(self, *args: str, now: str | None = None):
        return json.loads(self(*args, "--json", now=now).stdout)


def run_srs(*args: str, input: str | None = None, env: dict | None = None, timeout: float = 60):
    """The installed CLI in a process of its own (python -m srs), as a learner runs it."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "srs", *args], input=input, capture_output=True, text=True,
                          env=full_env, timeout=timeout)


@pytest.fixture
def cli(tmp_path) -> Cli:
    return Cli(tmp_path / "srs.db")


@pytest.fixture
def basics() -> Path:
    return HERE / "decks" / "basics.md"
