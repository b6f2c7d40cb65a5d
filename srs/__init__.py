"""srs: a spaced-repetition study engine for the terminal, scheduled by FSRS."""

import _signal  # the C module, loaded with Python: `signal` would import enum first (milliseconds)
import os as _os
import sys as _sys

__version__ = "0.1.0"


def _interrupted_while_starting(signum, frame) -> None:  # pragma: no cover - timing
    """Ctrl-C while the `srs` command is still loading (before `srs.entry.main` runs and takes over):
    one line and exit status 130, as at any later moment, instead of a traceback of the import."""
    _os.write(2, b"srs: interrupted\n")
    _os._exit(130)


# Only as the `srs` command (its console script imports `srs.entry`): a library user keeps Python's own
# Ctrl-C. `srs.entry.main` puts Python's handler back first thing, so its own clean-up runs from then on.
if _os.path.basename(_sys.argv[0] if _sys.argv else "") == "srs" and \
        _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler:
    _signal.signal(_signal.SIGINT, _interrupted_while_starting)
