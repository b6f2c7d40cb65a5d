"""What an srs Anki package is made of: fixed identities, our note types, deck names.

Shared by `anki.export` (which writes packages) and `anki.reader` (which reads them back,
recognising our own note types by their ids, names and fields). Nothing here reads or
writes a file.

The ids below are part of the file format: never change them, or packages exported
before the change would import into Anki as new note types and new decks.
"""

from __future__ import annotations

import hashlib
import html
import re

FIELDS = ("Question", "Choices", "Answer", "Explanation", "Source", "SrsId")
BASIC_MODEL_ID = 1_684_266_101
CHOICE_MODEL_ID = 1_684_266_102
BASIC_MODEL_NAME = "srs basic"
CHOICE_MODEL_NAME = "srs choice"
GUID_NAMESPACE = "srs"  # note guid = genanki.guid_for("srs", card id)
DEFAULT_DECK_ID = 1  # Anki's "Default" deck
HTML_MARK = "<!-- srs: html -->"  # in a deck's description: its text is HTML (as in a deck file)

# Anki's revlog `type` for each kind of answer, and back (type 3, "filtered", was an answer
# in a filtered deck; 4 manual and 5 rescheduled are not answers).
REVLOG_TYPES = {"learn": 0, "review": 1, "relearn": 2, "filtered": 3, "manual": 4, "rescheduled": 5}
REVLOG_KINDS = {0: "learn", 1: "review", 2: "relearn", 3: "review"}

CSS = """\
.card { font-family: -apple-system, "Segoe UI", Roboto, Arial, sans-serif; font-size: 20px;
        line-height: 1.45; text-align: left; color: #1d1d1f; background-color: #fff;
        max-width: 40em; margin: 0 auto; }
.nightMode.card, .night_mode .card { color: #eee; background-color: #222; }
.srs-question { font-weight: 600; }
ol.srs-choices { margin-top: .8em; }
ol.srs-choices li { margin: .25em 0; }
ol.srs-choices li.srs-right { background: #dff5df; color: #14451a; font-weight: 600; }
.srs-correct { margin-top: .6em; padding: .35em .6em; border-left: 5px solid #2e7d32;
               background: #dff5df; color: #14451a; font-weight: 600; }
.srs-unkeyed { margin-top: .6em; padding: .35em .6em; border-left: 5px solid #9e9e9e;
               background: #f1f1f1; color: #444; font-style: italic; }
.srs-explanation { margin-top: .8em; font-size: .9em; }
.srs-source { margin-top: .8em; font-size: .75em; color: #777; }
"""

_EXTRA = (
    "{{#Explanation}}<div class=\"srs-explanation\">{{Explanation}}</div>{{/Explanation}}\n"
    "{{#Source}}<div class=\"srs-source\">{{Source}}</div>{{/Source}}"
)
BASIC_QFMT = '<div class="srs-question">{{Question}}</div>'
BASIC_AFMT = '{{FrontSide}}\n<hr id="answer">\n<div class="srs-answer">{{Answer}}</div>\n' + _EXTRA
CHOICE_QFMT = '<div class="srs-question">{{Question}}</div>\n{{Choices}}'
# The back repeats the options (FrontSide) and shows the right one in a highlighted box;
# where the card viewer runs scripts (Anki desktop, AnkiDroid, AnkiMobile) the matching
# option in the list is highlighted too.
CHOICE_AFMT = (
    '{{FrontSide}}\n<hr id="answer">\n'
    '{{#Answer}}<div class="srs-correct">&#10004; <span class="srs-key">{{Answer}}</span></div>{{/Answer}}'
    '{{^Answer}}<div class="srs-unkeyed">The key to this question is not known yet.</div>{{/Answer}}\n'
    + _EXTRA
    + "\n<script>(function () {\n"
    "  var key = document.querySelector('.srs-correct .srs-key');\n"
    "  if (!key) { return; }\n"
    "  document.querySelectorAll('ol.srs-choices li').forEach(function (li) {\n"
    "    if (li.textContent === key.textContent) { li.classList.add('srs-right'); }\n"
    "  });\n"
    "})();</script>"
)


# The note types of the other card kinds (srs.kinds), with our FIELDS (the typed one adds the other
# right answers), so that a package read back is known as ours: each card comes back as the srs card
# it was (`kinds.from_anki`). A cloze note holds every cloze number of one text; a reversed note has
# two cards, the second asking the Answer for the Question.
CLOZE_MODEL_ID = 1_684_266_103
TYPED_MODEL_ID = 1_684_266_104
REVERSED_MODEL_ID = 1_684_266_105
CLOZE_MODEL_NAME = "srs cloze"
TYPED_MODEL_NAME = "srs typed answer"
REVERSED_MODEL_NAME = "srs reversed"
TYPED_FIELDS = FIELDS + ("Alternatives",)
CLOZE_QFMT = '<div class="srs-question">{{cloze:Question}}</div>'
CLOZE_AFMT = CLOZE_QFMT + "\n" + _EXTRA
TYPED_QFMT = '<div class="srs-question">{{Question}}</div>\n{{type:Answer}}'
TYPED_AFMT = ('<div class="srs-question">{{Question}}</div>\n<hr id="answer">\n{{type:Answer}}\n'
              '{{#Alternatives}}<div class="srs-correct">Also right: {{Alternatives}}</div>{{/Alternatives}}\n'
              + _EXTRA)
REVERSED_TEMPLATES = (
    ("Card 1", BASIC_QFMT, BASIC_AFMT),
    ("Card 2", '<div class="srs-question">{{Answer}}</div>',
     '{{FrontSide}}\n<hr id="answer">\n<div class="srs-answer">{{Question}}</div>\n' + _EXTRA),
)
_OURS = ((CLOZE_MODEL_ID, CLOZE_MODEL_NAME, "cloze"), (TYPED_MODEL_ID, TYPED_MODEL_NAME, "typed"),
         (REVERSED_MODEL_ID, REVERSED_MODEL_NAME, "reversed"))
CSS += "pre { text-align: left; white-space: pre; overflow-x: auto; }\n.cloze { font-weight: bold; color: #1565c0; }\n"


_OUR_CODE = re.compile(r'<pre><code(?: class="language-([^"<>]*)")?>(.*?)</code></pre>', re.S)
_OUR_IMAGE = re.compile(r'<img src="([^"<>]*)" alt="([^"<>]*)" data-srs-path="([^"<>]*)">')


def our_field(fragment: str) -> str:
    """A field we wrote with its code blocks and images put back in deck syntax (a fenced block,
    `![alt](path)`), still HTML: the field's text is then the card text it was written from."""
    if "<pre><code" not in fragment and "data-srs-path" not in fragment:
        return fragment

    def code(m: re.Match) -> str:
        after = "<br>" if m.end() < len(fragment) else ""
        return f"```{m.group(1) or ''}<br>" + m.group(2).replace("\n", "<br>") + "<br>```" + after

    fragment = _OUR_CODE.sub(code, fragment)
    return _OUR_IMAGE.sub(lambda m: f"![{m.group(2)}]({m.group(3)})", fragment)


def our_images(fields: list[str]) -> dict[str, str]:
    """{path as the deck file writes it: media name} of the images in fields we wrote."""
    return {html.unescape(m.group(3)): html.unescape(m.group(1))
            for fragment in fields if "data-srs-path" in fragment for m in _OUR_IMAGE.finditer(fragment)}


def normalize_deck_name(name: str) -> str:
    """A deck name as Anki keeps it: `::`-separated parts, stripped, none empty."""
    parts = [part.strip() for part in str(name).split("::")]
    parts = [part for part in parts if part]
    return "::".join(parts) if parts else "Default"


def stable_id(kind: str, name: str) -> int:
    """A fixed id in [2**30, 2**31) derived from a name (deck ids, deck option ids)."""
    digest = hashlib.sha256(f"srs-{kind}:{name}".encode("utf-8")).digest()
    return (1 << 30) | (int.from_bytes(digest[:4], "big") & ((1 << 30) - 1))


def deck_id_for(name: str) -> int:
    """Anki deck id for one of our deck names: stable, so re-exports land in the same deck."""
    name = normalize_deck_name(name)
    return DEFAULT_DECK_ID if name == "Default" else stable_id("deck", name)


def note_kind(notetype_id: int, name: str, fields: list[str]) -> str | None:
    """"basic", "choice", "cloze", "typed" or "reversed" for our own note types, "either" for a renamed
    copy of a basic or choice one, else None."""
    if tuple(fields[: len(FIELDS)]) != FIELDS:
        return None
    for model_id, model_name, kind in _OURS:
        if notetype_id == model_id or name.startswith(model_name):
            return kind
    if notetype_id == CHOICE_MODEL_ID or name.startswith(CHOICE_MODEL_NAME):
        return "choice"
    if notetype_id == BASIC_MODEL_ID or name.startswith(BASIC_MODEL_NAME):
        return "basic"
    return "either"
