"""How a `respawn` subcommand refuses settings that cannot work: it says why on stderr, with the
command's name, and exits with 2, argparse's own status for a command line that cannot run."""

from __future__ import annotations

import sys

USAGE_ERROR = 2


def refuse(command: str, error: Exception) -> int:
    """Report `error` (its message says what to change) and return the exit status."""
    print(f"respawn {command}: {error}", file=sys.stderr)
    return USAGE_ERROR
