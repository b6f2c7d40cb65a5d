"""Run under a TZ of the test's choosing: export review cards due around the local 4 a.m.
rollover, import them into Anki, print JSON with the cards whose due day Anki reads
differently from srs. Used by tests/test_anki.py::test_due_days_in_other_time_zones.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest

from srs.anki.export import write_apkg
from srs.anki.reader import read_apkg
from srs.clock import learner_day
from srs.model import CardSpec, Progress, Review, StoredCard

time.tzset()
folder = Path(sys.argv[1])
now = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=5)
local_now = now.astimezone()
cards = []
card_id = 0
for day_offset in (-3, -1, 0, 1, 2, 40, 200):  # 200 days crosses a DST change in both zones
    for hour, minute in ((3, 30), (4, 0), (4, 30), (23, 50), (0, 10)):
        card_id += 1
        due_local = (local_now + timedelta(days=day_offset)).replace(hour=hour, minute=minute, second=0)
        due = due_local.astimezone(timezone.utc)
        last = min(due - timedelta(days=3), now - timedelta(hours=1))
        review = Review(reviewed_at=last, rating=3, kind="review", duration_ms=3000, due_after=due)
        progress = Progress(state="review", stability=5.0, difficulty=5.0, due=due, last_review=last, reps=1)
        cards.append(StoredCard(card_id, "TZ", CardSpec(f"q{card_id}", "a"), progress, [review]))

write_apkg(folder / "tz.apkg", cards, with_progress=True, now=now)
col = Collection(str(folder / "tz.anki2"))
col.import_anki_package(
    ImportAnkiPackageRequest(
        package_path=str(folder / "tz.apkg"), options=ImportAnkiPackageOptions(with_scheduling=True)
    )
)
today = col.sched.today
mismatches = []
for cid in col.find_cards(""):
    card = col.get_card(cid)
    stored = cards[int(card.note()["SrsId"]) - 1]
    expected = (learner_day(stored.progress.due) - learner_day(datetime.now(timezone.utc))).days
    if card.due - today != expected:
        mismatches.append({"id": stored.id, "due": stored.progress.due.isoformat(), "anki": card.due - today,
                           "srs": expected})
problems, ok = col.fix_integrity()
col.close()
back = read_apkg(folder / "tz.apkg", with_progress=True)[0].cards
for spec, stored in zip(back, cards):
    # the revlog keeps whole learner days: the due day read back is the one written
    if learner_day(spec.reviews[0].due_after) != learner_day(stored.reviews[0].due_after):
        mismatches.append({"id": stored.id, "due_after": spec.reviews[0].due_after.isoformat()})
print(json.dumps({"zone": str(local_now.tzinfo), "mismatches": mismatches, "check_ok": ok, "problems": problems}))
