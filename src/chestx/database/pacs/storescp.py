"""The storage SCP a C-MOVE retrieve runs itself: the PACS sends the instances here.

It listens on ``host:port`` (loopback by default) as ``aet``. Each C-MOVE opens an
:class:`Inbox` for the SOPInstanceUIDs it brings (:meth:`StorageSCP.expect`); an arriving
instance goes to the inbox that expects it, as the bytes that came over the wire (never
decoded), and waits there until the retrieve takes it. Instances nobody expects are answered
with success and dropped.

The presentation contexts (every storage class, every transfer syntax: nothing is transcoded)
are built once: pynetdicom deep-copies the server's contexts for every incoming association,
and these are shared read-only instead (a few thousand objects a copy otherwise).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator

from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, AllStoragePresentationContexts, evt
from pynetdicom.presentation import PresentationContext, build_context
from pynetdicom.sop_class import Verification

from chestx.database.pacs.dimse import MAX_PDU, as_received, tune_socket
from chestx.database.pacs.wire import Received
from chestx.errors import ChestxError


class SharedContext(PresentationContext):
    """A supported presentation context built once and shared by every association.

    Negotiation only reads an acceptor's supported contexts (it answers with new ones), so a
    copy would be the same object again."""

    def __deepcopy__(self, memo) -> SharedContext:
        return self

    @classmethod
    def of(cls, abstract_syntax: str, syntaxes: list[str]) -> SharedContext:
        built = build_context(abstract_syntax, syntaxes)
        shared = cls()
        shared.abstract_syntax = built.abstract_syntax
        shared.transfer_syntax = built.transfer_syntax
        return shared


def storage_contexts() -> list[SharedContext]:
    """Every storage SOP class and Verification, each with every transfer syntax."""
    contexts = [SharedContext.of(c.abstract_syntax, ALL_TRANSFER_SYNTAXES)
                for c in AllStoragePresentationContexts]
    return contexts + [SharedContext.of(Verification, ALL_TRANSFER_SYNTAXES)]


class Inbox:
    """The instances one C-MOVE expects, as they arrive."""

    def __init__(self, expected: Iterable[str], arrived: threading.Condition) -> None:
        self.expected = frozenset(expected)
        self._items: list[Received] = []
        self._taken = 0
        self._arrived = arrived

    def put(self, item: Received) -> None:  # the caller holds the condition
        self._items.append(item)

    def take(self, wait_for: int = 0, timeout: float = 0.0) -> Iterator[Received]:
        """What has arrived since the last take; with ``wait_for``, first wait (up to
        ``timeout`` s) until that many have arrived in all."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while self._taken + len(self._items) < wait_for:
                left = deadline - time.monotonic()
                if left <= 0 or not self._arrived.wait(left):
                    break
            items, self._items = self._items, []
            self._taken += len(items)
        yield from items


class StorageSCP:
    """A C-STORE SCP in a background thread; use as a context manager."""

    def __init__(self, aet: str, port: int, host: str = "127.0.0.1") -> None:
        self.aet, self.port, self.host = aet, port, host
        self.contexts = storage_contexts()
        self._owners: dict[str, Inbox] = {}
        self._arrived = threading.Condition()
        self._server = None

    def start(self) -> StorageSCP:
        ae = AE(ae_title=self.aet)
        ae.maximum_pdu_size = MAX_PDU
        try:
            self._server = ae.start_server((self.host, self.port), block=False,
                                           contexts=self.contexts,
                                           evt_handlers=[(evt.EVT_C_STORE, self._on_store),
                                                         (evt.EVT_ESTABLISHED,
                                                          self._on_established)])
        except OSError as exc:
            raise ChestxError(f"--store-port {self.port}: cannot listen on {self.host} "
                              f"({exc.strerror or exc})") from exc
        return self

    def expect(self, sop_uids: Iterable[str]) -> Inbox:
        """An inbox for the instances of one C-MOVE (forget it when the move is done)."""
        with self._arrived:
            inbox = Inbox(sop_uids, self._arrived)
            for sop in inbox.expected:
                self._owners[sop] = inbox
            return inbox

    def forget(self, inbox: Inbox) -> None:
        with self._arrived:
            for sop in inbox.expected:
                if self._owners.get(sop) is inbox:
                    del self._owners[sop]

    def _on_established(self, event) -> None:
        tune_socket(event.assoc)  # read ahead; no C-STORE waits ~40 ms for a delayed ACK

    def _on_store(self, event) -> int:
        item = as_received(event)
        with self._arrived:
            inbox = self._owners.get(item.sop_uid)
            if inbox is not None:
                inbox.put(item)
                self._arrived.notify_all()
        return 0x0000

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None

    def __enter__(self) -> StorageSCP:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
