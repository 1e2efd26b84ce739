"""A real PACS for the pacs tests: Debian's Orthanc (+ DICOMweb plugin) on loopback ports.

``hospital`` writes a small hospital's archive (:mod:`hospital_archive`); ``pacs`` starts one
Orthanc for the module, uploads it and stops it after. Tests skip with a reason only where
Orthanc is not installed (``make test`` installs it where it can).
"""

from __future__ import annotations

import pytest
from hospital_archive import Hospital, build_hospital, free_port, start_orthanc


@pytest.fixture(scope="module")
def hospital(tmp_path_factory) -> Hospital:
    return build_hospital(tmp_path_factory.mktemp("hospital"))


@pytest.fixture(scope="module")
def pacs(tmp_path_factory, hospital):
    """A running Orthanc holding the hospital's archive; ``pacs.store_port`` is the port our
    storage SCP must use for C-MOVE (registered at the PACS as ``CHESTX``)."""
    store_port = free_port()
    server = start_orthanc(tmp_path_factory.mktemp("orthanc"), store_port)
    server.store_port = store_port
    try:
        server.upload([hospital.root])
        yield server
    finally:
        server.stop()
