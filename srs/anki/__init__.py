"""Everything about Anki's file format, in one package.

- `package`: opening an untrusted .apkg/.colpkg safely (zip caps, read-only SQLite in memory).
- `reader`: a collection's notes, cards, decks and revlog as `DeckSpec`s (import).
- `text`: Anki's HTML, templates and cloze deletions as the text a learner sees.
- `format`: our own note types, fixed ids and deck names (shared by reading and writing).
- `export`: writing packages with genanki.
- `progress`: scheduling columns and revlog as Anki keeps them (export with progress).
"""
