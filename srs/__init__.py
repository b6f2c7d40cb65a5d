"""srs: a spaced-repetition study engine for the terminal, scheduled by FSRS."""

__version__ = "0.1.0"
