"""A Ctrl-C that lands between an answer's commit and the session's record of it: the answer is kept
and the session knows it (its summary counts it), as `srs.session._CtrlCAfterCommit` makes them one step."""

from __future__ import annotations

import signal
import sqlite3

import pytest

from srs.store import Store


def reviews(db) -> int:
    return sqlite3.connect(db).execute("SELECT count(*) FROM reviews").fetchone()[0]


@pytest.fixture(autouse=True)
def pythons_own_ctrl_c():
    """Ctrl-C as Python has it (KeyboardInterrupt), whatever an earlier test in this process left (srs.entry
    ignores it once a command has ended)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.fixture
def ctrl_c_after_the_commit(monkeypatch):
    """A real SIGINT sent right after the store's COMMIT, before `record_answer` (or `record_cram`) returns."""
    def after(name):
        real = getattr(Store, name)

        def patched(self, *args):
            review_id = real(self, *args)
            signal.raise_signal(signal.SIGINT)  # Python's handler runs here, at the next bytecode
            return review_id

        monkeypatch.setattr(Store, name, patched)
    return after


@pytest.mark.parametrize("how", ["review", "cram"])
def test_ctrl_c_right_after_the_commit_is_counted_in_the_summary(cli, basics, ctrl_c_after_the_commit, how):
    cli("import", str(basics))
    ctrl_c_after_the_commit("record_answer" if how == "review" else "record_cram")
    args = ["review"] if how == "review" else ["review", "--cram", "deck:*"]
    result = cli(*args, input="\n3\n" * 3, ok=False)
    assert isinstance(result.exception, KeyboardInterrupt) or result.exit_code in (1, 130), result.output
    assert reviews(cli.db) == 1  # the answer is kept, and the review stopped there
    assert "1 card, 100% right" in result.output and "No cards answered" not in result.output, result.output


def test_ctrl_c_before_the_commit_still_rolls_the_answer_back(cli, basics, monkeypatch):
    """Before COMMIT, Ctrl-C stops the answer as Python's own handler does: nothing is written or counted."""
    cli("import", str(basics))
    write = Store.write

    from contextlib import contextmanager

    @contextmanager
    def patched(self):
        with write(self) as conn:
            yield conn
            if conn.execute("SELECT count(*) FROM reviews").fetchone()[0]:
                signal.raise_signal(signal.SIGINT)  # inside the transaction, before COMMIT

    monkeypatch.setattr(Store, "write", patched)
    result = cli("review", input="\n3\n" * 3, ok=False)
    assert reviews(cli.db) == 0
    assert "No cards answered" in result.output, result.output


# The real `srs` command in a process of its own: a real SIGINT sent to it right after the COMMIT of its
# first answer (and, from test_faults, one that lands in a finaliser there and is sent again by srs.entry).
AFTER_COMMIT = """
import os, signal, sys, time
import srs.entry, srs.store

Store = srs.store.Store
record = Store.record_answer
def patched(self, *args):
    review_id = record(self, *args)
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(0.5)  # (were it lost, the review would go on to the next card)
    return review_id
Store.record_answer = patched
srs.entry.main(sys.argv[1:])
"""


def test_a_real_ctrl_c_after_the_commit_keeps_the_answer_and_counts_it(tmp_path, basics):
    import subprocess
    import sys

    from conftest import run_srs
    from test_faults import ctrl_c_as_from_a_terminal

    db = tmp_path / "srs.db"
    assert run_srs("--db", str(db), "import", str(basics)).returncode == 0
    result = subprocess.run([sys.executable, "-c", AFTER_COMMIT, "--db", str(db), "review"], input="\n3\n" * 3,
                            text=True, capture_output=True, timeout=60, preexec_fn=ctrl_c_as_from_a_terminal)
    assert (result.returncode, result.stderr) == (130, "srs: interrupted\n"), result.stderr
    assert reviews(db) == 1
    assert "1 card, 100% right" in result.stdout and "No cards answered" not in result.stdout, result.stdout


def test_a_ctrl_c_in_a_finaliser_after_the_commit_is_counted_too(tmp_path, basics):
    from conftest import run_srs
    from test_faults import interrupt_in_finaliser

    db = tmp_path / "srs.db"
    assert run_srs("--db", str(db), "import", str(basics)).returncode == 0
    result = interrupt_in_finaliser("answer", "--db", str(db), "review", input="\n3\n" * 3)
    assert result.returncode == 130 and result.stderr.splitlines()[-1:] == ["srs: interrupted"], result.stderr
    assert reviews(db) == 1
    assert "1 card, 100% right" in result.stdout and "No cards answered" not in result.stdout, result.stdout


@pytest.mark.parametrize("how", ["review", "cram"])
def test_ctrl_c_right_after_an_undo_is_committed_leaves_it_out_of_the_summary(cli, tmp_path, monkeypatch, how):
    deck = tmp_path / "plain.md"
    deck.write_text("# Plain\n\n" + "".join(f"## Question {i}?\nAnswer {i}\n\n" for i in range(4)))
    cli("import", str(deck))
    name = "undo_answer" if how == "review" else "undo_cram"
    real = getattr(Store, name)

    def patched(self, *args):
        card_id = real(self, *args)
        signal.raise_signal(signal.SIGINT)
        return card_id

    monkeypatch.setattr(Store, name, patched)
    args = ["review"] if how == "review" else ["review", "--cram", "deck:*"]
    result = cli(*args, input="\n3\n\n3\nu\n", ok=False)
    assert reviews(cli.db) == 1  # the second answer taken back, and the review stopped there
    assert "1 card, 100% right" in result.output and "2 cards" not in result.output, result.output
    assert result.exit_code != 0 and "Next card" not in result.output.split("Session over")[0], result.output
