"""The one exception type for errors a user can cause (bad file, bad option)."""

from __future__ import annotations


class ChestxError(Exception):
    """A user-facing error. The message names the file and the problem in one line;
    the CLI prints it as ``error: <message>`` and exits with status 2.

    ``remedies`` maps names of settings to a value that would avoid the error (``None``: some
    other value), for the caller to phrase in its own terms (the CLI: as its options). The
    message itself speaks of values, never of how a caller spells them.
    """

    def __init__(self, *args: object, remedies: dict[str, object] | None = None) -> None:
        super().__init__(*args)
        self.remedies = dict(remedies or {})
