"""Where the PACS is, and who we are: parsed and checked before any network call."""

from __future__ import annotations

import re
from dataclasses import dataclass

from chestx.errors import ChestxError

#: An application entity title: 1-16 characters of the default repertoire, no backslash.
AET_PATTERN = re.compile(r"^[\x20-\x5b\x5d-\x7e]{1,16}$")
DEFAULT_AET = "CHESTX"


def check_aet(aet: str, what: str = "AE title") -> str:
    """``aet`` stripped, or :class:`ChestxError` when it is not a valid AE title."""
    aet = aet.strip()
    if not AET_PATTERN.match(aet):
        raise ChestxError(f"{what} {aet!r}: must be 1-16 characters, no backslash")
    return aet


@dataclass(frozen=True)
class DimseEndpoint:
    """A DIMSE peer: its AE title, host and port."""

    aet: str
    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> DimseEndpoint:
        """``"AET@HOST:PORT"`` -> endpoint; :class:`ChestxError` when malformed."""
        match = re.fullmatch(r"(?P<aet>[^@]+)@(?P<host>[^:@]+|\[[^\]]+\]):(?P<port>\d+)",
                             text.strip())
        if not match:
            raise ChestxError(f"--dimse {text!r}: expected AET@HOST:PORT (e.g. "
                              "ORTHANC@127.0.0.1:4242)")
        port = int(match["port"])
        if not 0 < port < 65536:
            raise ChestxError(f"--dimse {text!r}: port must be 1-65535")
        return cls(check_aet(match["aet"], "--dimse AE title"), match["host"].strip("[]"),
                   port)

    def __str__(self) -> str:
        return f"{self.aet}@{self.host}:{self.port}"
