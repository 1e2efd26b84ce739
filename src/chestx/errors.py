"""The one exception type for errors a user can cause (bad file, bad option)."""


class ChestxError(Exception):
    """A user-facing error. The message names the file and the problem in one line;
    the CLI prints it as ``error: <message>`` and exits with status 2."""
