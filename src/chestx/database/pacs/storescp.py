"""The storage SCP a C-MOVE retrieve runs itself: the PACS sends the instances here.

It listens on ``host:port`` (loopback by default) as ``aet`` and keeps each received dataset
until the retrieve that asked for it takes it (:meth:`StorageSCP.take`, by SOPInstanceUID).
"""

from __future__ import annotations

import threading

from pydicom.dataset import Dataset
from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, AllStoragePresentationContexts, evt
from pynetdicom.sop_class import Verification

from chestx.errors import ChestxError


class StorageSCP:
    """A C-STORE SCP in a background thread; use as a context manager."""

    def __init__(self, aet: str, port: int, host: str = "127.0.0.1") -> None:
        self.aet, self.port, self.host = aet, port, host
        self._received: dict[str, Dataset] = {}
        self._arrived = threading.Condition()
        self._server = None

    def start(self) -> StorageSCP:
        ae = AE(ae_title=self.aet)
        for context in AllStoragePresentationContexts:  # any syntax: nothing is transcoded
            ae.add_supported_context(context.abstract_syntax, ALL_TRANSFER_SYNTAXES)
        ae.add_supported_context(Verification)
        try:
            self._server = ae.start_server((self.host, self.port), block=False,
                                           evt_handlers=[(evt.EVT_C_STORE, self._on_store)])
        except OSError as exc:
            raise ChestxError(f"--store-port {self.port}: cannot listen on {self.host} "
                              f"({exc.strerror or exc})") from exc
        return self

    def _on_store(self, event) -> int:
        ds = event.dataset
        ds.file_meta = event.file_meta
        with self._arrived:
            self._received[str(ds.SOPInstanceUID)] = ds
            self._arrived.notify_all()
        return 0x0000

    def take(self, sop_uid: str, timeout: float = 60.0) -> Dataset | None:
        """The dataset of ``sop_uid`` once it has arrived (``None`` after ``timeout`` s)."""
        with self._arrived:
            self._arrived.wait_for(lambda: sop_uid in self._received, timeout=timeout)
            return self._received.pop(sop_uid, None)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None

    def __enter__(self) -> StorageSCP:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
