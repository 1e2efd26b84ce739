"""A throwaway Orthanc PACS on loopback ports, for chestx's tests and demo.

Starts Debian's ``Orthanc`` (with the ``orthanc-dicomweb`` plugin when installed) on two free
loopback ports (HTTP for DICOMweb and REST, DICOM for DIMSE) with a temporary storage folder
and a configuration written here: the called AET is checked, only the modalities registered
in the configuration may query or retrieve (so an unknown calling AET is refused), and the
registered modalities are C-MOVE destinations. Usage::

    chestx pacs sandbox FOLDER DICOM_DIR...   # upload, print URL and AET, wait

:class:`Orthanc` is what chestx's tests use. Needs only the standard library (it is test and
demo tooling, not used by query or retrieve).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from chestx.errors import ChestxError

ORTHANC_BINARIES = ("/usr/sbin/Orthanc", "/usr/bin/Orthanc")
PLUGIN_FOLDERS = ("/usr/share/orthanc/plugins", "/usr/lib/orthanc")
DICOMWEB_PLUGIN = "libOrthancDicomWeb.so"
SERVER_AET = "ORTHANC"


def find_orthanc() -> str | None:
    """Path of the Orthanc executable, or ``None`` when it is not installed."""
    for path in ORTHANC_BINARIES:
        if os.access(path, os.X_OK):
            return path
    return shutil.which("Orthanc")


def find_dicomweb_plugin() -> str | None:
    """Path of the DICOMweb plugin library, or ``None``."""
    for folder in PLUGIN_FOLDERS:
        for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
            if name.startswith(DICOMWEB_PLUGIN):
                return os.path.join(folder, name)
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Orthanc:
    """One Orthanc process with its own storage under ``folder``.

    ``modalities`` maps our AETs to the ports of their storage SCPs (C-MOVE destinations);
    they are also the only calling AETs allowed to query and retrieve.
    """

    def __init__(self, folder: str | os.PathLike, modalities: dict[str, int] | None = None,
                 http_port: int | None = None, dicom_port: int | None = None) -> None:
        self.folder = Path(folder).resolve()  # Orthanc runs in it: a relative path breaks
        self.modalities = dict(modalities or {})
        self.http_port = http_port or free_port()
        self.dicom_port = dicom_port or free_port()
        self.aet = SERVER_AET
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def dicomweb_url(self) -> str:
        return f"{self.url}/dicom-web"

    @property
    def dimse(self) -> str:
        return f"{self.aet}@127.0.0.1:{self.dicom_port}"

    def config(self) -> dict:
        plugin = find_dicomweb_plugin()
        return {
            "Name": "chestx-sandbox",
            "StorageDirectory": str(self.folder / "storage"),
            "IndexDirectory": str(self.folder / "storage"),
            "HttpPort": self.http_port, "DicomPort": self.dicom_port, "DicomAet": self.aet,
            "RemoteAccessAllowed": False, "AuthenticationEnabled": False,
            "DicomCheckCalledAet": True, "DicomCheckModalityHost": False,
            "DicomAlwaysAllowEcho": False, "DicomAlwaysAllowStore": False,
            "DicomAlwaysAllowFind": False, "DicomAlwaysAllowMove": False,
            "DicomAlwaysAllowGet": False, "UnknownSopClassAccepted": True,
            "DicomModalities": {aet.lower(): [aet, "127.0.0.1", port]
                                for aet, port in self.modalities.items()},
            "Plugins": [plugin] if plugin else [],
            "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "StudiesMetadata": "Full"},
            "StableAge": 1, "HttpThreadsCount": 8, "DicomThreadsCount": 4,
            "LimitFindResults": 0, "LimitFindInstances": 0, "StorageCompression": False,
            "SaveJobs": False, "ConcurrentJobs": 2,
        }

    def start(self, timeout: float = 30.0) -> Orthanc:
        binary = find_orthanc()
        if binary is None:
            raise RuntimeError("Orthanc is not installed (Debian: apt-get install orthanc "
                               "orthanc-dicomweb)")
        self.folder.mkdir(parents=True, exist_ok=True)
        config = self.folder / "orthanc.json"
        config.write_text(json.dumps(self.config(), indent=1))
        log = open(self.folder / "orthanc.log", "ab")  # noqa: SIM115 - lives with the process
        self.process = subprocess.Popen([binary, str(config)], stdout=log, stderr=log,
                                        cwd=self.folder)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Orthanc exited at start; see {self.folder / 'orthanc.log'}")
            try:
                self.rest("/system")
                if self.dicom_port_open():
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"Orthanc did not start in {timeout:.0f} s")

    def dicom_port_open(self) -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", self.dicom_port)) == 0

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def rest(self, path: str, data: bytes | None = None, method: str | None = None) -> object:
        request = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/dicom")
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def upload(self, paths) -> int:
        """Store DICOM files (a list of files, or folders walked recursively); returns the
        number of files stored (files Orthanc refuses as not DICOM are left out)."""
        count = 0
        for path in paths:
            path = Path(path)
            for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
                if file.is_file():
                    try:
                        self.rest("/instances", data=file.read_bytes(), method="POST")
                    except urllib.error.HTTPError as exc:
                        if exc.code != 400:
                            raise
                        continue
                    count += 1
        return count

    def __enter__(self) -> Orthanc:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def run_sandbox(folder: str | os.PathLike, dicom: list[Path], peers: list[str],
                announce: Callable[[str], None]) -> None:
    """Start Orthanc in ``folder``, upload ``dicom`` (files or folders), ``announce`` its
    DICOMweb URL and DIMSE address, and wait until Orthanc stops, Ctrl+C or SIGTERM.

    ``peers`` are ``AET:PORT`` of the AEs allowed to query and retrieve (C-MOVE destinations).
    """
    modalities = {}
    for peer in peers:
        aet, _, port = peer.rpartition(":")
        if not aet or not port.isdigit():
            raise ChestxError(f"peer {peer!r}: expected AET:PORT")
        modalities[aet] = int(port)
    # `kill` (SIGTERM) must stop Orthanc too: leave through the with block
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        with Orthanc(folder, modalities) as server:
            count = server.upload(dicom)
            announce(f"{server.dicomweb_url} {server.dimse} ({count} files uploaded; "
                     "Ctrl+C stops)")
            with contextlib.suppress(KeyboardInterrupt):
                while server.process and server.process.poll() is None:
                    time.sleep(1)
    except (RuntimeError, urllib.error.URLError) as exc:
        raise ChestxError(f"Orthanc sandbox in {folder}: {exc}") from exc
    finally:
        signal.signal(signal.SIGTERM, previous)
