"""A short coverage-guided fuzzing run of every parser (atheris), when atheris is installed.

Longer runs are made by hand: python tests/fuzz_parsers.py TARGET -atheris_runs=N
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("atheris")


@pytest.mark.parametrize("target, runs", [("deck", 3000), ("lesson", 3000), ("csv", 1500), ("apkg", 1500),
                                          ("html", 3000), ("template", 3000), ("schema", 300)])
def test_atheris_finds_no_crash(target, runs, tmp_path):
    script = Path(__file__).parent / "fuzz_parsers.py"
    result = subprocess.run([sys.executable, str(script), target, f"-atheris_runs={runs}", "-max_len=4096",
                             "-seed=1", "-timeout=30", f"-artifact_prefix={tmp_path}/"], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"Done {runs} in" in result.stderr or "Done" in result.stderr
