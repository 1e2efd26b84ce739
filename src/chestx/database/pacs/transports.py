"""Two ways to talk to a PACS behind one interface (:class:`~chestx.database.pacs.wire.Transport`):
``find`` (a query at one level) and ``fetch`` (a :class:`~chestx.database.pacs.wire.FetchRequest`,
answered with the Part 10 bytes of each instance as they arrived).

- :class:`~chestx.database.pacs.dicomweb.DicomwebTransport`: QIDO-RS and streamed WADO-RS.
- :class:`~chestx.database.pacs.dimse.DimseTransport`: C-FIND, and C-GET (default: the PACS
  needs no entry for us) or C-MOVE to our own storage SCP
  (:class:`chestx.database.pacs.storescp.StorageSCP`).

Failures raise :class:`~chestx.database.pacs.wire.TransportError`.
"""

from __future__ import annotations

from collections.abc import Callable

from chestx.database.pacs.endpoints import DimseEndpoint, check_aet
from chestx.database.pacs.wire import (
    LEVELS,
    FetchRequest,
    Received,
    Transport,
    TransportError,
    flatten,
)
from chestx.errors import ChestxError

__all__ = ["LEVELS", "FetchRequest", "Received", "Transport", "TransportError", "flatten",
           "transport_factory"]


def transport_factory(dicomweb: str | None, dimse: str | None, aet: str,
                      move_dest: str | None = None, scp=None, timeout: float = 60.0,
                      backoff: float = 0.5) -> tuple[Callable[[], Transport], str]:
    """``(make_transport, description)`` for exactly one of ``dicomweb`` (a URL) and
    ``dimse`` (``AET@HOST:PORT``); C-MOVE when ``move_dest`` is given, else C-GET.
    ``backoff``: first wait (s) before asking a busy DIMSE peer again for an association."""
    if bool(dicomweb) == bool(dimse):
        raise ChestxError("give exactly one of --dicomweb URL and --dimse AET@HOST:PORT")
    # each transport's libraries are imported when it is used: a command's start-up counts
    # against short jobs (pynetdicom alone is some 0.1 s)
    if dicomweb:
        if not dicomweb.startswith(("http://", "https://")):
            raise ChestxError(f"--dicomweb {dicomweb!r}: expected an http(s):// URL")
        from chestx.database.pacs.dicomweb import DicomwebTransport  # noqa: PLC0415
        return (lambda: DicomwebTransport(dicomweb, timeout=timeout)), dicomweb
    from chestx.database.pacs.dimse import DimseTransport  # noqa: PLC0415
    peer = DimseEndpoint.parse(dimse)
    our_aet = check_aet(aet, "--aet")
    mode = "move" if move_dest else "get"
    return (lambda: DimseTransport(peer, our_aet, mode=mode, move_dest=move_dest, scp=scp,
                                   timeout=timeout, backoff=backoff)), \
        f"{peer} as {our_aet} (C-{mode.upper()})"
