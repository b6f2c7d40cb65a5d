"""An Anki package's fingerprint (is it unchanged since its last import?) reads only regular files: a FIFO
or a device named x.apkg is refused at once with one line, from the function itself and from the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from conftest import run_srs

PROBE = """
import sys
from pathlib import Path
from srs.model import SrsError
from srs.sources import package_fingerprint
try:
    package_fingerprint(Path(sys.argv[1]), with_progress=False)
except SrsError as error:
    print(error)
    sys.exit(1)
"""


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_package_fingerprint_refuses_what_is_not_a_regular_file_at_once(tmp_path, kind):
    path = tmp_path / "x.apkg"
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")
    try:
        result = subprocess.run([sys.executable, "-c", PROBE, str(path)], capture_output=True, text=True, timeout=10)
    except subprocess.TimeoutExpired:
        pytest.fail("package_fingerprint read from a FIFO or a device")
    assert result.returncode == 1 and "not a regular file" in result.stdout, result.stdout + result.stderr


def test_import_of_a_fifo_named_apkg_is_one_line_and_exit_1(tmp_path, basics):
    db = tmp_path / "srs.db"
    assert run_srs("--db", str(db), "import", str(basics)).returncode == 0  # a store to compare fingerprints with
    fifo = tmp_path / "x.apkg"
    os.mkfifo(fifo)
    for args in (["import", str(fifo)], ["import", "--with-progress", str(basics), str(fifo)]):
        started = time.monotonic()
        result = run_srs("--db", str(db), *args, timeout=20)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 1 and len(lines) == 1 and "not a regular file" in lines[0], result.stderr
        assert str(fifo) in lines[0] and time.monotonic() - started < 10
