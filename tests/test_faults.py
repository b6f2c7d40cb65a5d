"""Issue 14: outputs never clobber inputs, concurrent sessions, bounds, damaged databases, hostile input."""

from __future__ import annotations

import hashlib
import os
import resource
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import HERE, run_srs

LESSON = HERE / "lessons" / "seed.txt"
DECK = "# Basic\n\n" + "".join(f"## Question {i}?\nAnswer {i}\n\n" for i in range(10))


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def db(tmp_path) -> Path:
    db = tmp_path / "srs.db"
    deck = tmp_path / "deck.md"
    deck.write_text(DECK)
    assert run_srs("--db", str(db), "import", str(deck)).returncode == 0
    return db


def dump(db: Path) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return list(conn.iterdump())
    finally:
        conn.close()


def one_error(result, *words: str) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert len(lines) == 1 and lines[0].startswith("srs: error:"), result.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


# -- 1. outputs never clobber inputs ---------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", "-wal", "-shm"])
@pytest.mark.parametrize("command", ["export", "html", "write-deck"])
def test_no_output_is_written_over_the_database(db, tmp_path, command, suffix):
    target = Path(str(db) + suffix)
    before = dump(db)
    args = {"export": ("export", "anki", str(target)), "html": ("stats", "--html", str(target)),
            "write-deck": ("import", str(LESSON), "--write-deck", str(target))}[command]
    one_error(run_srs("--db", str(db), *args), "refusing to write over the database")
    assert db.read_bytes()[:16] == b"SQLite format 3\x00" and dump(db) == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert run_srs("--db", str(db), "status").returncode == 0
    assert "AI Engineer" not in run_srs("--db", str(db), "status").stdout  # nothing imported


def test_write_deck_onto_the_lesson_itself_is_refused(db, tmp_path):
    lesson = tmp_path / "lesson.txt"
    lesson.write_bytes(LESSON.read_bytes())
    one_error(run_srs("--db", str(db), "import", str(lesson), "--write-deck", str(lesson)),
              "refusing to write over a source being imported")
    assert lesson.read_bytes() == LESSON.read_bytes()
    assert "AI Engineer" not in run_srs("--db", str(db), "status").stdout


def test_write_deck_that_cannot_be_written_imports_nothing(db, tmp_path):
    target = tmp_path / ("x" * 300 + ".md")
    result = run_srs("--db", str(db), "import", str(LESSON), "--write-deck", str(target))
    one_error(result, "cannot write")
    assert "AI Engineer" not in run_srs("--db", str(db), "status").stdout
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("command", ["export", "html", "write-deck"])
def test_devices_and_pipes_are_refused(db, tmp_path, command):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for target in ("/dev/null", str(fifo)):
        args = {"export": ("export", "anki", target), "html": ("stats", "--html", target),
                "write-deck": ("import", str(LESSON), "--write-deck", target)}[command]
        one_error(run_srs("--db", str(db), *args, timeout=20), "not a regular file")
    assert Path("/dev/null").is_char_device()


def test_a_page_that_cannot_be_written_whole_leaves_the_old_one(db, tmp_path):
    page = tmp_path / "stats.html"
    assert run_srs("--db", str(db), "stats", "--html", str(page)).returncode == 0
    old = page.read_bytes()
    page.write_bytes(old + b"<!-- the old page -->")
    old = page.read_bytes()

    assert len(old) > 40_000

    def small_files():  # a disk that fills up after 40 KB: writes beyond fail with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (40_000, 40_000))

    proc = subprocess.run([sys.executable, "-m", "srs", "--db", str(db), "stats", "--html", str(page)],
                          capture_output=True, text=True, preexec_fn=small_files, timeout=60)
    assert proc.returncode == 1 and "cannot write" in proc.stderr, proc.stderr
    assert page.read_bytes() == old
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_outputs_module_writes_whole_files(tmp_path):
    from srs import outputs
    from srs.model import SrsError

    target = tmp_path / "a.txt"
    outputs.write_file(target, "one")
    assert target.read_text() == "one"
    with pytest.raises(KeyboardInterrupt):
        def fill(handle):
            handle.write(b"partial")
            raise KeyboardInterrupt
        outputs.write_file(target, fill)
    assert target.read_text() == "one" and [p.name for p in tmp_path.iterdir()] == ["a.txt"]
    link = tmp_path / "hard"
    os.link(target, link)
    with pytest.raises(SrsError, match="same file under another name"):
        outputs.write_file(link, "two", protect=[(target, "a source being imported")])
    with pytest.raises(SrsError, match="is a folder"):
        outputs.write_file(tmp_path, "x")


# -- 2. concurrent sessions ------------------------------------------------------------------

TWO = "# Two\n\n## First?\nOne\n\n## Second?\nTwo\n"


def test_undo_takes_back_only_this_sessions_own_answer(tmp_path):
    from test_reliability import read_until, send, start

    db = tmp_path / "srs.db"
    deck = tmp_path / "two.md"
    deck.write_text(TWO)
    assert run_srs("--db", str(db), "import", str(deck)).returncode == 0
    a = start(db, "review", now="2026-02-01T09:00:00Z")
    try:
        for rating in ("3", "1"):  # card 1 Good (due in 10m), card 2 Again (due in 1m)
            read_until(a, "Enter shows the answer")
            send(a, "")
            read_until(a, "Rate 1-4")
            send(a, rating)
        b = start(db, "review", now="2026-02-01T09:05:00Z")  # only card 2 is due for b
        try:
            read_until(b, "Second?")
            read_until(b, "Enter shows the answer")
            send(b, "")
            read_until(b, "Rate 1-4")
            send(b, "3")
            read_until(b, "Enter shows the answer")  # card 1 comes next in b (learn-ahead)
            send(b, "q")
            assert b.wait(20) == 0
        finally:
            b.kill()
        read_until(a, "Second?")  # a shows card 2 again (learn-ahead)
        read_until(a, "q quit): ")
        send(a, "u")
        seen = read_until(a, "q quit): ")
        assert "Cannot undo: card #2 was changed in another session" in seen, seen
        send(a, "q")
        assert a.wait(20) == 0
    finally:
        a.kill()
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT card_id, rating FROM reviews ORDER BY id").fetchall() == [(1, 3), (2, 1), (2, 3)]


def suspended_meanwhile(tmp_path, how: str):
    from srs.session import ReviewSession
    from srs.store import Store

    db = tmp_path / "srs.db"
    deck = tmp_path / "two.md"
    deck.write_text(TWO)
    assert run_srs("--db", str(db), "import", str(deck)).returncode == 0
    session = ReviewSession(Store(db))
    card = session.next_card()
    shown = session.show(card)
    if how == "suspend":
        assert run_srs("--db", str(db), "suspend", str(card.id)).returncode == 0
    else:
        sqlite3.connect(db, isolation_level=None).execute(
            "UPDATE card_state SET suspended = 2, buried_until = '2999-01-01T00:00:00.000000Z' WHERE card_id = ?",
            (card.id,))
    assert session.answer(shown, 3, 1000)
    return db, card.id, session


@pytest.mark.parametrize("how", ["suspend", "bury"])
def test_an_answer_never_unsuspends_a_card_suspended_elsewhere(tmp_path, how):
    db, card_id, session = suspended_meanwhile(tmp_path, how)
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT suspended, reps FROM card_state WHERE card_id = ?", (card_id,)).fetchone() == (
        1 if how == "suspend" else 2, 1)
    assert "stays out of review" in session.take_notice() and session.take_notice() is None
    assert session.undo() is not None  # undo restores the schedule, not the suspension
    assert conn.execute("SELECT suspended, reps FROM card_state WHERE card_id = ?", (card_id,)).fetchone() == (
        1 if how == "suspend" else 2, 0)


def test_a_key_given_elsewhere_is_kept(tmp_path):
    from srs.session import ReviewSession
    from srs.store import Store

    db = tmp_path / "srs.db"
    deck = tmp_path / "choice.md"
    deck.write_text("# C\n\n## Pick?\n- [ ] a\n- [ ] b\n")
    assert run_srs("--db", str(db), "import", str(deck)).returncode == 0
    here, there = ReviewSession(Store(db)), Store(db)
    card = here.next_card()
    assert card.spec.answer is None
    assert there.set_answer(card.id, "b")
    card = here.set_key(card, "a")
    assert card.spec.answer == "b" and there.card(card.id).spec.answer == "b"
    assert "kept" in here.take_notice()


# -- 3. bounds and clear messages ---------------------------------------------------------------


@pytest.mark.parametrize("args, words", [
    (("suspend", "99999999999999999999"), "out of range"),
    (("card", "99999999999999999999"), "out of range"),
    (("config", "new_per_day", "99999999999999999999"), "0-100000"),
    (("config", "reviews_per_day", "-1"), "0-100000"),
    (("config", "maximum_interval", "99999999"), "1-36500"),
    (("config", "desired_retention", "nan"), "0.70-0.99"),
    (("config", "learning_steps", "1 inf"), "at most 1440"),
    (("config", "relearning_steps", " ".join(["1"] * 21)), "up to 20 steps"),
])
def test_numbers_out_of_range_are_refused_at_the_edge(db, args, words):
    one_error(run_srs("--db", str(db), *args), words)
    assert run_srs("--db", str(db), "status").returncode == 0
    assert run_srs("--db", str(db), "stats", "--json").returncode == 0


@pytest.mark.parametrize("time, words", [
    ("0001-01-01T00:00:00Z", "review_time 0001-01-01 is out of range"),
    ("9999-12-31T23:59:59Z", "review_time 9999-12-31 is out of range"),
    ("9999-12-31T23:59:59-01:00", "out of range"),
    ("1969-12-31T23:59:59Z", "out of range"),
    ("99999999999999999", "after 2200"),
])
def test_history_times_outside_1970_2200_are_refused_with_file_and_line(db, tmp_path, time, words):
    log = tmp_path / "log.csv"
    log.write_text("card_id,review_rating,review_time,review_duration\n1,3,2024-01-01T10:00:00Z,5000\n"
                   f"2,3,{time},5000\n")
    line = one_error(run_srs("--db", str(db), "import-history", str(log)), words)
    assert f"{log}:3:" in line
    assert run_srs("--db", str(db), "stats", "--json").returncode == 0


def test_huge_durations_and_ids_in_a_history_are_refused(db, tmp_path):
    log = tmp_path / "log.csv"
    log.write_text("card_id,review_rating,review_time,review_duration\n1,3,2024-01-01T10:00:00Z,99999999999999\n")
    one_error(run_srs("--db", str(db), "import-history", str(log)), ":2:", "more than a day")
    log.write_text("card_id,review_rating,review_time\n99999999999999999999,3,2024-01-01T10:00:00Z\n")
    one_error(run_srs("--db", str(db), "import-history", str(log)), ":2:", "card_id is too large")


@pytest.mark.parametrize("zone", ["UTC+24", "XYZ-25"])
def test_a_time_zone_python_cannot_use_warns_and_uses_utc(db, zone):
    result = run_srs("--db", str(db), "status", env={"TZ": zone})
    assert result.returncode == 0 and "Basic" in result.stdout
    assert result.stderr.strip() == f"srs: warning: the time zone TZ={zone} cannot be used; using UTC"
    assert run_srs("--db", str(db), "stats", env={"TZ": zone}).returncode == 0


def test_output_that_cannot_show_a_character_gets_a_replacement(tmp_path):
    db = tmp_path / "srs.db"
    deck = tmp_path / "deck.md"
    deck.write_text("# Déck 漢字\n\n## Qué?\nÄ\n")
    for args in (("import", str(deck)), ("status",), ("cards",), ("log",), ("import", str(tmp_path / "ñ.md"))):
        result = run_srs("--db", str(db), *args, env={"PYTHONIOENCODING": "ascii"})
        assert "internal error" not in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert "D?ck ??" in run_srs("--db", str(db), "status", env={"PYTHONIOENCODING": "ascii"}).stdout


def test_invalid_utf8_piped_into_key_is_not_an_internal_error(tmp_path):
    db = tmp_path / "srs.db"
    deck = tmp_path / "deck.md"
    deck.write_text("# C\n\n## Pick?\n- [ ] a\n- [ ] b\n")
    assert run_srs("--db", str(db), "import", str(deck)).returncode == 0
    proc = subprocess.run([sys.executable, "-m", "srs", "--db", str(db), "key"], input=b"\xff\xfe\x80\n\n",
                          capture_output=True, timeout=60)
    assert proc.returncode == 0 and b"still without a key" in proc.stdout, proc.stderr


def ctrl_c_as_from_a_terminal() -> None:
    """In the child before Python starts: SIGINT as a shell's foreground job has it (a job started with `&`
    by a shell without job control, as a test run in the background, has it ignored: Ctrl-C does nothing)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_at_any_moment_is_one_line_and_130(db, tmp_path):
    import random
    import signal
    import time

    rng = random.Random(14)
    deck = tmp_path / "deck.md"
    interrupted = 0
    for number in range(12):
        args = rng.choice([("status",), ("cards",), ("stats",), ("import", str(deck)), ("log", "--csv")])
        # from the moment srs's entry point runs (Python's own start-up is not srs's), 0-230 ms in: 'ready' is
        # printed from inside it (printed before the call, a Ctrl-C could land in this harness's own line)
        proc = subprocess.Popen([sys.executable, "-c", "import sys, srs.entry as e; prepare = e._prepare_process; "
                                 "e._prepare_process = lambda: (print('ready', flush=True), prepare()); "
                                 "e.main(sys.argv[1:])", "--db", str(db), *args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, preexec_fn=ctrl_c_as_from_a_terminal)
        assert proc.stdout.readline() == b"ready\n"
        time.sleep(0.02 * number)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        lines = err.decode().strip().splitlines()
        assert b"Traceback" not in err and proc.returncode in (0, 130), (args, proc.returncode, err)
        if proc.returncode == 0:  # the command had ended (its status decided): Ctrl-C is too late, and ignored
            assert b"Exception ignored" not in err and b"interrupted" not in err, err
        if proc.returncode == 130:
            assert lines == ["srs: interrupted"], err
            interrupted += 1
    assert interrupted >= 3 and dump(db)


# A Ctrl-C that lands inside a __del__, a weakref callback (the import lock's...) or an atexit function cannot be
# raised there: Python prints "Exception ignored in ..." with a traceback and goes on. These put one there on
# purpose (a finaliser that raises KeyboardInterrupt, as the interrupt does when it lands in it), at a chosen
# moment of a real command in a process of its own.
FINALISER_INTERRUPTS = """
import sys, time, weakref
from contextlib import contextmanager
import srs.entry, srs.read_outs, srs.store

class Interrupted:  # a Ctrl-C landing in this object's finaliser
    def __del__(self):
        raise KeyboardInterrupt

def callback(ref):  # ... or in a weakref callback
    raise KeyboardInterrupt

where = sys.argv[1]
Store = srs.store.Store
if where == "status":  # the quick path: before anything is printed
    status = srs.read_outs.status
    def patched(store, now):
        class Thing: pass
        thing = Thing()
        ref = weakref.ref(thing, callback)
        del thing
        time.sleep(0.5)  # the status goes on: the Ctrl-C reaches it here (were it lost, it would print it)
        return status(store, now)
    srs.read_outs.status = patched
elif where == "set-name":  # in a descriptor's __set_name__, as a class is made: Python wraps it in a RuntimeError
    status = srs.read_outs.status
    def patched(store, now):
        class Descriptor:
            def __set_name__(self, owner, name):
                raise KeyboardInterrupt
        class Made:
            field = Descriptor()
        return status(store, now)
    srs.read_outs.status = patched
elif where == "reconfigure":  # in the codec of standard error as srs sets its errors (Python code, in <frozen codecs>):
    import codecs             # the stream is left unable to write
    init, made = codecs.IncrementalEncoder.__init__, []
    def patched(self, *args, **kwargs):
        made.append(1)
        if len(made) == 2:  # standard output's, then standard error's
            raise KeyboardInterrupt
        init(self, *args, **kwargs)
    codecs.IncrementalEncoder.__init__ = patched
elif where == "status-end":  # the very end of the quick path: the command may finish first
    status = srs.read_outs.status
    def patched(store, now):
        data = status(store, now)
        Interrupted()
        return data
    srs.read_outs.status = patched
elif where == "import":  # an import's write transaction, after its cards are in, before COMMIT
    write = Store.write
    @contextmanager
    def patched(self):
        with write(self) as conn:
            before = conn.execute("SELECT count(*) FROM cards").fetchone()[0]
            yield conn
            if conn.execute("SELECT count(*) FROM cards").fetchone()[0] > before:
                Interrupted()
                time.sleep(0.5)  # still before COMMIT: the Ctrl-C reaches the import here
    Store.write = patched
elif where == "answer":  # right after an answer is committed, before the next card
    record = Store.record_answer
    def patched(self, *args):
        review_id = record(self, *args)
        Interrupted()
        time.sleep(0.5)  # (were it lost, the review would go on to the next card)
        return review_id
    Store.record_answer = patched
srs.entry.main(sys.argv[2:])
"""


def interrupt_in_finaliser(where: str, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", FINALISER_INTERRUPTS, where, *args], input=input, text=True,
                          capture_output=True, timeout=60, preexec_fn=ctrl_c_as_from_a_terminal)


def test_ctrl_c_inside_a_weakref_callback_ends_the_command_in_one_line_and_130(db):
    result = interrupt_in_finaliser("status", "--db", str(db), "status")
    assert (result.returncode, result.stderr, result.stdout) == (130, "srs: interrupted\n", ""), result.stderr


def test_ctrl_c_wrapped_in_another_error_is_still_one_line_and_130(db):
    result = interrupt_in_finaliser("set-name", "--db", str(db), "status")
    assert (result.returncode, result.stderr, result.stdout) == (130, "srs: interrupted\n", ""), result.stderr


def test_ctrl_c_that_leaves_standard_error_unable_to_write_is_still_said(db):
    result = interrupt_in_finaliser("reconfigure", "--db", str(db), "status")
    assert (result.returncode, result.stderr) == (130, "srs: interrupted\n"), result.stderr


def test_ctrl_c_inside_a_finaliser_as_the_command_ends_is_still_130(db):
    result = interrupt_in_finaliser("status-end", "--db", str(db), "status")
    assert (result.returncode, result.stderr) == (130, "srs: interrupted\n"), result.stderr


def test_ctrl_c_inside_a_finaliser_during_an_import_writes_nothing(db, tmp_path):
    before = dump(db)
    deck = tmp_path / "more.md"
    deck.write_text("# More\n\n" + "".join(f"## More {i}?\nYes {i}\n\n" for i in range(5)))
    result = interrupt_in_finaliser("import", "--db", str(db), "import", str(deck))
    assert (result.returncode, result.stderr) == (130, "srs: interrupted\n"), result.stderr
    assert dump(db) == before  # the transaction rolled back whole: no card, no deck
    assert run_srs("--db", str(db), "import", str(deck)).returncode == 0  # and the same import then goes in
    assert sqlite3.connect(db).execute("SELECT count(*) FROM cards").fetchone()[0] == 15


def test_ctrl_c_inside_a_finaliser_after_an_answer_keeps_it_and_stops_the_review(db):
    result = interrupt_in_finaliser("answer", "--db", str(db), "review", input="\n3\n\n3\n\n3\n")
    assert result.returncode == 130 and result.stderr.splitlines()[-1:] == ["srs: interrupted"], result.stderr
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr, result.stderr
    assert sqlite3.connect(db).execute("SELECT count(*) FROM reviews").fetchone()[0] == 1  # kept; no second card


def test_escape_sequences_in_names_are_shown_not_run(db, tmp_path):
    evil = "\x1b]52;c;ZXZpbA==\x07\x1b[2J\x1b]0;title\x07"
    result = run_srs("--db", str(db), "review", f"deck{evil}")
    line = one_error(result, "no deck named", "decks: Basic")
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr and "\\x1b]52" in line
    result = run_srs("--db", str(db), "import", str(tmp_path / f"file{evil}.md"))
    assert "\x1b" not in result.stderr and "\\x1b[2J" in one_error(result, "no such file")
    deck = tmp_path / "named.md"
    deck.write_text(f"# Named{evil}\n\n## Q?\nA\n")
    result = run_srs("--db", str(db), "import", str(deck))
    assert result.returncode == 0 and "\x1b" not in result.stdout
    result = run_srs("--db", str(db), "review", "nope")
    assert "\x1b" not in result.stderr and "Named\\x1b]52" in one_error(result, "no deck named")


# -- busy, read-only, full, damaged ----------------------------------------------------------------


def test_a_review_waits_for_a_busy_database_and_keeps_the_answer(db):
    import time

    from test_reliability import read_until, send, start

    proc = start(db, "review")
    holder = sqlite3.connect(db, isolation_level=None)
    try:
        read_until(proc, "Enter shows the answer")
        holder.execute("BEGIN IMMEDIATE")  # another program holds the write lock, for longer than any timeout
        holder.execute("UPDATE settings SET value = value")
        send(proc, "")
        read_until(proc, "Rate 1-4")
        send(proc, "3")
        read_until(proc, "waiting for another srs", timeout=20)
        time.sleep(2.5)
        assert proc.poll() is None  # still waiting, not ended
        holder.execute("COMMIT")
        read_until(proc, "Enter shows the answer")  # the next card: the answer went in
        send(proc, "q")
        assert proc.wait(20) == 0
    finally:
        proc.kill()
        holder.close()
    assert sqlite3.connect(db).execute("SELECT count(*) FROM reviews").fetchone()[0] == 1


def damage(db: Path) -> None:
    """Overwrite one page in the middle of the cards table's b-tree (quick_check sees it)."""
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    data = bytearray(db.read_bytes())
    page = pages // 2
    data[size * (page - 1):size * page] = b"\xa5" * size
    db.write_bytes(bytes(data))


@pytest.fixture
def big(tmp_path) -> Path:
    db = tmp_path / "big.db"
    deck = tmp_path / "big.md"
    deck.write_text("# Big\n\n" + "".join(f"## Question number {i} about something long enough?\nAnswer {i}\n\n"
                                         for i in range(800)))
    assert run_srs("--db", str(db), "import", str(deck)).returncode == 0
    return db


def test_a_damaged_database_is_refused_before_anything_is_written_and_can_be_recovered(big, tmp_path):
    damage(big)
    before = digest(big)
    for args in (("review",), ("import", str(tmp_path / "big.md")), ("suspend", "1"), ("key",)):
        one_error(run_srs("--db", str(big), *args), "damaged")
        assert digest(big) == before and not Path(str(big) + "-wal").exists()
    result = run_srs("--db", str(big), "check")
    assert result.returncode == 1 and "damaged" in result.stderr
    out = tmp_path / "recovered.db"
    result = run_srs("--db", str(big), "check", "--repair", str(out))
    assert result.returncode == 0 and "the new file checks whole" in result.stdout, result.stdout + result.stderr
    assert digest(big) == before
    assert run_srs("--db", str(out), "check").returncode == 0
    cards = sqlite3.connect(out).execute("SELECT count(*) FROM cards").fetchone()[0]
    assert 500 < cards < 800  # what the damaged page held is lost, the rest is there
    assert run_srs("--db", str(out), "status").returncode == 0
    one_error(run_srs("--db", str(big), "check", "--repair", str(big)), "refusing to write over the database")


def test_check_on_a_whole_database(db):
    result = run_srs("--db", str(db), "check")
    assert result.returncode == 0 and "ok" in result.stdout


def as_nobody():
    os.setgid(65534)
    os.setuid(65534)


def run_as_nobody(*args: str):
    return subprocess.run([sys.executable, "-m", "srs", *args], capture_output=True, text=True, timeout=60,
                          preexec_fn=as_nobody, env={**os.environ, "HOME": "/tmp"}, cwd="/")


@pytest.fixture
def shared(tmp_path_factory) -> Path:
    """A folder that the user nobody can read but not write, holding a database nobody cannot write."""
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="srs-ro-", dir="/tmp"))
    deck = folder / "deck.md"
    deck.write_text(DECK)
    assert run_srs("--db", str(folder / "srs.db"), "import", str(deck)).returncode == 0
    os.chmod(folder, 0o755)
    yield folder
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a command as another user")
def test_read_only_file_and_folder_each_have_their_own_message(shared, tmp_path):
    try:
        probe = run_as_nobody("--version")
    except PermissionError:
        probe = None
    if probe is None or probe.returncode != 0:
        pytest.skip("python cannot run as the user nobody here (test_read_only_error_messages covers the words)")
    db = shared / "srs.db"
    # a read-only folder (and file): said before the first answer
    result = run_as_nobody("--db", str(db), "review")
    one_error(result, "read-only")
    # a writable folder, a read-only file
    os.chmod(shared, 0o777)
    result = run_as_nobody("--db", str(db), "review")
    one_error(result, "the database file is read-only")
    result = run_as_nobody("--db", str(db), "import", str(shared / "deck.md"))
    one_error(result, "the database file is read-only")


def test_a_full_disk_at_open_says_so(tmp_path):
    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))

    deck = tmp_path / "deck.md"
    deck.write_text(DECK)
    proc = subprocess.run([sys.executable, "-m", "srs", "--db", str(tmp_path / "new.db"), "import", str(deck)],
                          capture_output=True, text=True, preexec_fn=small_files, timeout=60)
    assert proc.returncode == 1 and "not a usable" not in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_not_an_srs_file_says_so(tmp_path):
    other = tmp_path / "notes.db"
    sqlite3.connect(other).execute("CREATE TABLE notes (x)")
    one_error(run_srs("--db", str(other), "review"), "not an srs database (it is some other SQLite file)")
    text = tmp_path / "text.db"
    text.write_text("hello " * 1000)
    one_error(run_srs("--db", str(text), "review"), "not an SQLite file at all")


def test_read_only_error_messages(db, monkeypatch):
    from srs import store as store_module

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    with pytest.raises(sqlite3.OperationalError) as caught:
        conn.execute("UPDATE settings SET value = value")
    assert "the database file is read-only" in store_module.explain(caught.value, db).message
    monkeypatch.setattr(store_module.os, "access", lambda path, mode: Path(path) != db.parent)
    assert "the folder is read-only" in store_module.explain(caught.value, db).message


# -- 9. CSV cells that spreadsheets would run --------------------------------------------------------


def test_log_csv_neutralises_formulas(tmp_path):
    import csv
    import io

    db = tmp_path / "srs.db"
    deck = tmp_path / "deck.md"
    deck.write_text("# =HYPERLINK(\"http://x\")\n\n## Pick?\n- [x] @SUM(1+1)\n- [ ] -2+3\n")
    assert run_srs("--db", str(db), "import", str(deck)).returncode == 0
    assert run_srs("--db", str(db), "review", input="a\n\nq\n").returncode == 0
    rows = list(csv.DictReader(io.StringIO(run_srs("--db", str(db), "log", "--csv").stdout)))
    assert len(rows) == 1
    assert rows[0]["deck"] == "'=HYPERLINK(\"http://x\")" and rows[0]["choice"] in ("'@SUM(1+1)", "'-2+3")
    assert rows[0]["rating"] in ("1", "3") and rows[0]["card_id"] == "1"


def test_neutralised_cells():
    from srs.read_outs import neutralised

    for text in ("=1+1", "+1", "-1+2", "@x", "\tx", "\rx"):
        assert neutralised(text) == "'" + text
    assert neutralised("plain") == "plain" and neutralised(-5) == -5 and neutralised(None) is None


# -- bombs and quadratic cases: under 2 s of CPU and 200 MB ------------------------------------------

MEMORY_CAP = 1024 * 1024 * 1024  # address space: a runaway stops here instead of eating the machine


def bounded(db: Path, *args: str, timeout: float = 60):
    """Run srs under a memory cap; (exit code, stderr, CPU seconds, peak MB) of the child."""
    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))

    proc = subprocess.Popen([sys.executable, "-m", "srs", "--db", str(db), *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, preexec_fn=cap)
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        if proc.returncode is None and proc.poll() is None:
            proc.kill()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    return os.waitstatus_to_exitcode(status), err, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def assert_bounded(code_err_cpu_mb, code: int) -> None:
    got, err, cpu, mb = code_err_cpu_mb
    assert got == code, err
    assert cpu < 2.0 and mb < 200, (cpu, mb)


def long_deck(questions: list[str]) -> str:
    return "# Long\n\n" + "".join(f"## {q}\nanswer {i}\n\n" for i, q in enumerate(questions))


@pytest.mark.parametrize("alphabet", ["words", "one letter"])
def test_reimport_after_small_edits_to_long_questions_is_fast(tmp_path, alphabet):
    import random

    rng = random.Random(3)
    words = "the a of memory card review schedule interval learner answer question recall".split()
    if alphabet == "words":
        questions = [" ".join(rng.choice(words) for _ in range(330)) for _ in range(20)]
    else:  # the worst case of difflib: long runs of one character, each question a different length
        questions = ["a" * (1500 + 37 * i) + "?" for i in range(20)]
    deck = tmp_path / "long.md"
    deck.write_text(long_deck(questions))
    db = tmp_path / "srs.db"
    assert run_srs("--db", str(db), "import", str(deck)).returncode == 0
    ids = dict(sqlite3.connect(db).execute("SELECT position, id FROM cards"))
    edited = [q[:len(q) // 2] + "X" + q[len(q) // 2 + 1:] for q in questions]
    deck.write_text(long_deck(edited))
    assert_bounded(bounded(db, "import", str(deck)), 0)
    conn = sqlite3.connect(db)
    assert dict(conn.execute("SELECT position, id FROM cards WHERE retired = 0")) == ids  # every card kept its id
    assert conn.execute("SELECT count(*) FROM cards").fetchone()[0] == 20


def test_many_unmatched_long_questions_stay_within_the_budget(tmp_path):
    db = tmp_path / "srs.db"
    deck = tmp_path / "many.md"
    deck.write_text(long_deck([("ab" * (100 + i)) + "?" for i in range(450)]))
    assert run_srs("--db", str(db), "import", str(deck)).returncode == 0
    deck.write_text(long_deck([("ba" * (100 + i)) + "!" for i in range(450)]))  # every question different
    assert_bounded(bounded(db, "import", str(deck)), 0)


def test_a_csv_of_unclosed_tags_is_linear(tmp_path):
    table = tmp_path / "tags.csv"
    table.write_text("question,answer\n" + "<a " * 60_000 + ",x\n" + "<!-- " * 40_000 + ",y\n")
    assert table.stat().st_size > 180_000
    assert_bounded(bounded(tmp_path / "srs.db", "import", str(table)), 0)


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "long-line", "history-fifo"])
def test_devices_pipes_and_long_lines_are_refused_at_once(tmp_path, kind):
    if kind in ("fifo", "history-fifo"):
        path = tmp_path / ("deck.md" if kind == "fifo" else "log.csv")
        os.mkfifo(path)
    elif kind == "dev-zero":
        path = tmp_path / "zero.md"
        path.symlink_to("/dev/zero")
    else:
        path = tmp_path / "long.md"
        path.write_text("# L\n\n## " + "x" * 2_000_000 + "\nA\n")
    result = bounded(tmp_path / "srs.db", "import-history" if kind == "history-fifo" else "import", str(path))
    assert_bounded(result, 1)
    assert ("line too long" if kind == "long-line" else "not a regular file") in result[1]
    if kind == "long-line":
        assert f"{path}:3:" in result[1]


# -- 4. a copy of the .db alone (a lost -wal) lags the answers by at most CHECKPOINT_EVERY ------------------


def test_a_copy_of_the_database_file_alone_lags_by_at_most_50_answers(tmp_path):
    import shutil
    import time

    from srs.session import CHECKPOINT_EVERY
    from test_reliability import read_until, send, start

    assert CHECKPOINT_EVERY <= 50
    db = tmp_path / "srs.db"
    deck = tmp_path / "deck.md"
    deck.write_text("# Many\n\n" + "".join(f"## Question {i}?\nAnswer {i}\n\n" for i in range(130)))
    assert run_srs("--db", str(db), "import", str(deck)).returncode == 0
    assert run_srs("--db", str(db), "config", "new_per_day", "200").returncode == 0
    proc = start(db, "review")
    try:
        answered = 0
        read_until(proc, "Enter shows the answer")
        while answered < 120:
            send(proc, "")
            read_until(proc, "Rate 1-4")
            send(proc, "4")
            answered += 1
            read_until(proc, "Enter shows the answer")  # committed: the next card is up
            if answered in (49, 50, 77, 120):
                time.sleep(0.5)  # a background checkpoint that is due has run
                copy = tmp_path / f"copy{answered}.db"
                shutil.copyfile(db, copy)  # the .db alone, as a sync tool that skips the -wal copies it
                in_copy = sqlite3.connect(copy).execute("SELECT count(*) FROM reviews").fetchone()[0]
                assert in_copy == answered // CHECKPOINT_EVERY * CHECKPOINT_EVERY, (answered, in_copy)
        send(proc, "q")
        assert proc.wait(20) == 0
    finally:
        proc.kill()
    copy = tmp_path / "after.db"
    shutil.copyfile(db, copy)  # the session folded everything in when it ended
    assert sqlite3.connect(copy).execute("SELECT count(*) FROM reviews").fetchone()[0] == 120


def test_two_first_imports_at_once_both_succeed(tmp_path):
    deck = tmp_path / "deck.md"
    deck.write_text(DECK)
    for attempt in range(4):
        db = tmp_path / f"two{attempt}.db"
        procs = [subprocess.Popen([sys.executable, "-m", "srs", "--db", str(db), "import", str(deck)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
        outs = [proc.communicate(timeout=60) for proc in procs]
        assert [proc.returncode for proc in procs] == [0, 0], outs
        assert sorted(out.split(":")[1].split(",")[0].strip() for out, _ in outs) == ["0 added", "10 added"]
        assert dump(db)


def test_a_large_database_is_checked_whole_before_the_first_write(tmp_path, monkeypatch):
    """Above BACKGROUND_CHECK_BYTES the review log is checked in a thread: a damaged page there still
    refuses the first write, and the file is left as it was."""
    from srs import store as store_module
    from srs.model import SrsError

    db = tmp_path / "srs.db"
    log = tmp_path / "log.csv"
    log.write_text("card_id,review_rating,review_time,review_duration\n" + "".join(
        f"{card},3,2025-0{1 + day // 28}-{1 + day % 28:02d}T10:00:00Z,4000\n" for card in range(300)
        for day in range(0, 200, 5)))
    assert run_srs("--db", str(db), "import-history", str(log)).returncode == 0
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    leaves = [page for (page,) in conn.execute(
        "SELECT pageno FROM dbstat WHERE name = 'reviews' AND pagetype = 'leaf' ORDER BY pageno")]
    conn.close()
    data = bytearray(db.read_bytes())
    page = leaves[len(leaves) // 2]
    data[size * (page - 1):size * page] = b"\xa5" * size
    db.write_bytes(bytes(data))
    before = digest(db)
    monkeypatch.setattr(store_module, "BACKGROUND_CHECK_BYTES", 0)
    store = store_module.Store(db)
    store.check_writable()  # the tables but the log are whole: the learner may see the first card
    with pytest.raises(SrsError, match="damaged"):
        store.suspend_cards([1])  # the first write waits for the whole check, and is refused
    with pytest.raises(SrsError, match="damaged"):
        store.set_answer(1, "x")  # and every later one
    store.conn.close()
    assert digest(db) == before


def test_a_card_suspended_with_srs_suspend_while_shown_stays_suspended(db):
    from test_reliability import read_until, send, start

    proc = start(db, "review")
    try:
        read_until(proc, "Question 0?")
        read_until(proc, "Enter shows the answer")
        assert run_srs("--db", str(db), "suspend", "1").returncode == 0  # meanwhile, elsewhere
        send(proc, "")
        read_until(proc, "Rate 1-4")
        send(proc, "3")
        seen = read_until(proc, "Enter shows the answer")
        assert "suspended or buried elsewhere while shown: your answer is kept" in seen, seen
        send(proc, "q")
        assert proc.wait(20) == 0
    finally:
        proc.kill()
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT suspended, reps FROM card_state WHERE card_id = 1").fetchone() == (1, 1)
    assert conn.execute("SELECT card_id, rating FROM reviews").fetchall() == [(1, 3)]


@pytest.fixture
def small_disk(tmp_path):
    """A 3 MB file system of its own (tmpfs), when this process may mount one."""
    folder = tmp_path / "small"
    folder.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(folder)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small file system here (test_a_full_disk_at_open_says_so covers the limit)")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def fill(folder: Path) -> None:
    with open(folder / "filler", "wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass


def test_a_full_disk_is_said_before_the_learner_answers(small_disk, tmp_path):
    db = small_disk / "srs.db"
    deck = tmp_path / "deck.md"
    deck.write_text(DECK)
    assert run_srs("--db", str(db), "import", str(deck)).returncode == 0
    page = small_disk / "stats.html"
    assert run_srs("--db", str(db), "stats", "--html", str(page)).returncode == 0
    old = page.read_bytes()
    fill(small_disk)
    for args in (("review",), ("import", str(deck)), ("suspend", "1")):
        one_error(run_srs("--db", str(db), *args), "the disk is full")
    result = run_srs("--db", str(db), "stats", "--html", str(page))
    assert result.returncode == 1 and page.read_bytes() == old  # the old page stays whole
    assert not [p for p in small_disk.iterdir() if p.name.endswith(".tmp")]
    (small_disk / "filler").unlink()
    assert run_srs("--db", str(db), "review", input="\n3\nq\n").returncode == 0
    assert sqlite3.connect(db).execute("SELECT count(*) FROM reviews").fetchone()[0] == 1


def test_a_first_import_onto_a_full_disk_says_so(small_disk, tmp_path):
    deck = tmp_path / "deck.md"
    deck.write_text("# Big\n\n" + "".join(f"## Question {i} with some words to take room?\nAnswer {i}\n\n"
                                         for i in range(20_000)))
    line = one_error(run_srs("--db", str(small_disk / "srs.db"), "import", str(deck)), "the disk is full")
    assert "not a usable" not in line


def test_a_read_only_file_system_is_said_before_the_learner_answers(small_disk, basics):
    db = small_disk / "srs.db"
    assert run_srs("--db", str(db), "import", str(basics)).returncode == 0
    if subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], capture_output=True).returncode != 0:
        pytest.skip("cannot remount read-only here")
    for args in (("review",), ("import", str(basics)), ("suspend", "1"), ("status",)):
        one_error(run_srs("--db", str(db), *args, input="\n3\n"), "read-only file system")


def test_a_pause_in_review_folds_the_answers_into_the_database_file(tmp_path):
    """No key for IDLE_SECONDS at a terminal: the session checkpoints, so a copy of the .db alone (a
    sync tool that skips the -wal) has every answer given before the pause."""
    import shutil
    import time

    from srs.terminal import IDLE_SECONDS

    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    from test_terminal import Tmux

    db = tmp_path / "srs.db"
    deck = tmp_path / "deck.md"
    deck.write_text("# Few\n\n" + "".join(f"## Question {i}?\nAnswer {i}\n\n" for i in range(6)))
    assert run_srs("--db", str(db), "import", str(deck)).returncode == 0
    term = Tmux(["env", "SRS_NOW=2026-02-01T09:00:00Z", sys.executable, "-m", "srs", "--db", str(db), "review"],
                width=80)
    try:
        for number in range(3):
            term.wait_for(f"Question {number}?")
            term.keys("Enter")
            term.wait_for("Rate 1-4")
            term.keys("4")
        term.wait_for("Question 3?")
        copy = tmp_path / "busy.db"
        shutil.copyfile(db, copy)  # at once: the answers are in the -wal only
        assert sqlite3.connect(copy).execute("SELECT count(*) FROM reviews").fetchone()[0] == 0
        time.sleep(IDLE_SECONDS + 1.5)  # the learner pauses
        copy = tmp_path / "paused.db"
        shutil.copyfile(db, copy)
        assert sqlite3.connect(copy).execute("SELECT count(*) FROM reviews").fetchone()[0] == 3
    finally:
        term.close()


def test_ctrl_c_while_the_srs_command_is_still_loading_is_one_line(db):
    """The `srs` console script itself, interrupted while srs's modules are still being imported (a
    traceback of the import before): one line and 130. Only Python's own start-up, before any code
    of srs's runs, may still end with Python's traceback (no frame of srs's in it)."""
    import re
    import shutil
    import signal
    import time

    script = shutil.which("srs", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("no srs console script beside this Python")
    ours = re.compile(r'File "[^"]*[/\\]srs[/\\][^"]*\.py"')  # a frame in the srs package
    interrupted = 0
    for delay in [n / 1000 for n in range(14, 90, 2)]:  # every 2 ms across the import of srs and typer
        proc = subprocess.Popen([script, "--db", str(db), "cards"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                preexec_fn=ctrl_c_as_from_a_terminal)
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        assert not ours.search(err.decode(errors="replace")), (delay, err)
        if proc.returncode == 130:
            assert err.decode().strip().splitlines() == ["srs: interrupted"], err
            interrupted += 1
    assert interrupted >= 10


@pytest.mark.skipif(__import__("shutil").which("tmux") is None, reason="tmux is not installed")
def test_ctrl_c_inside_a_finaliser_at_a_terminal_gives_the_terminal_back(db, tmp_path):
    """The same on a real terminal (tmux): right after the answer is committed, a Ctrl-C lands in a finaliser;
    the review ends with the answer kept, exit 130, and the terminal's line mode and echo back."""
    from test_terminal_keys import CHECK_MODE, Shell

    script = tmp_path / "interrupts.py"
    script.write_text(FINALISER_INTERRUPTS)
    term = Shell()
    try:
        path = f"PYTHONPATH={os.environ['PYTHONPATH']} " if os.environ.get("PYTHONPATH") else ""  # (tmux's own env)
        term.type(f"{path}{sys.executable} {script} answer --db {db} review; echo EXIT=$?")
        term.wait_for("Enter shows the answer")
        term.keys("Enter")
        term.wait_for("Rate 1-4")
        term.keys("3")
        screen = term.wait_for("EXIT=", count=2)  # (the first is the command line's)
        assert "EXIT=130" in screen and "srs: interrupted" in screen and "Traceback" not in screen, screen
        term.type(CHECK_MODE)
        term.wait_for("RAWFLAGS=0")  # echo and line editing are on again
    finally:
        term.close()
    assert sqlite3.connect(db).execute("SELECT count(*) FROM reviews").fetchone()[0] == 1
