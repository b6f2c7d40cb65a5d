"""Every example in `srs --help` and in each command's `--help` runs as written (issue 15, point 7),
in a shell, with the installed `srs` on the PATH, in a folder holding the files the examples name."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import typer

from srs.cli import app

ROOT = Path(__file__).parent.parent


def help_examples() -> list[tuple[str, str]]:
    """(command path, example) for every example line of every help text, in the order `srs --help` lists them."""
    out = []

    def walk(command, path: str) -> None:
        for line in (command.help or "").splitlines():
            line = line.strip()
            if line.startswith(("Example:", "Examples:")):
                out.extend((path, example.strip()) for example in line.split(":", 1)[1].split(";"))
        if hasattr(command, "list_commands"):
            ctx = type(command).context_class(command)
            for name in command.list_commands(ctx):
                walk(command.get_command(ctx, name), f"{path} {name}")

    walk(typer.main.get_command(app), "srs")
    return out


def test_every_help_example_runs_as_written(tmp_path):
    shutil.copytree(ROOT / "decks", tmp_path / "decks")
    shutil.copy(ROOT / "tests" / "lessons" / "prompt-review.txt", tmp_path / "lesson.txt")
    log = (ROOT / "tests" / "data" / "real-review-log.csv").read_text().splitlines()[:4000]
    (tmp_path / "revlog.csv").write_text("\n".join(log) + "\n")
    (tmp_path / "my.md").write_text("# My deck\n\n## A question?\nAn answer\n")
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ["PATH"], "SRS_DB": str(tmp_path / "srs.db"),
           "SRS_NOW": "2026-03-02T10:00:00+00:00"}
    env.pop("SRS_DEBUG", None)

    def sh(command: str) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=300)

    examples = help_examples()
    assert len(examples) >= 15 and examples[0] == ("srs", "srs import decks/ && srs review")
    assert sh("srs import decks/ && srs import my.md && srs import-history revlog.csv").returncode == 0
    failed = []
    for where, example in examples:
        result = sh(example)
        if result.returncode != 0:
            failed.append(f"{where}: {example!r} -> {result.returncode}: {result.stderr.strip()[-300:]}")
    assert not failed, "\n".join(failed)
