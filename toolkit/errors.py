"""User-facing errors and the one wrapper every CLI runs inside.

An ``InputError`` is a problem with what the user asked for (bad flag, missing file,
unknown dataset). CLIs print it as one line and exit 2, with no traceback: the
traceback would only bury the sentence that says what to fix.
"""
from __future__ import annotations

import sys
from typing import Callable

EXIT_INPUT_ERROR = 2
EXIT_INTERRUPTED = 130


class InputError(ValueError):
    """Bad input from the user; the message names the problem and, where possible, the fix."""


class PartialFailure(RuntimeError):
    """The run finished but some items failed; they are recorded as nulls plus reasons."""


def run_cli(main: Callable[[list[str] | None], int | None], argv: list[str] | None = None) -> None:
    """Run a CLI ``main`` and turn known failures into clean exits."""
    try:
        code = main(argv)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(EXIT_INPUT_ERROR)
    except KeyboardInterrupt:
        print("\ninterrupted: finished work is saved; run the same command again to continue.",
              file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    sys.exit(code or 0)
