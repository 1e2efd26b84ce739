"""The live store of hand-drawn boxes: one VOC file per instance, edited by many at once.

The paper's radiologists drew one box per finding instance and saved each in its own XML file
(§2.4). A dataset folder that is being annotated holds::

    annotations/<image stem>_<finding>_<k>.xml   one instance (k = 1, 2, ... per image+finding)
    BBox_List_2017.csv                           regenerated from the XML files after each save

Instance files are :mod:`chestx.data.voc`'s; ``version`` counts the saves of an instance and
``uid`` names it for life (a box deleted and redrawn gets a new one): :class:`AnnotationStore`
refuses an edit made against an older version or another uid.
"""

from __future__ import annotations

import fcntl
import math
import os
import re
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from chestx.boxes import Box
from chestx.data.bbox_csv import BBOX_NAMES, format_number, read_bbox_list, write_bbox_list
from chestx.data.voc import BoxAnnotation, bbox_rows, export_voc, read_voc, write_voc
from chestx.errors import ChestxError
from chestx.findings import FINDINGS, canonical

#: Folder of the instance files inside a dataset folder.
ANNOTATIONS_DIR = "annotations"

_FINDING_RANK = {name: rank for rank, name in enumerate(FINDINGS)}

#: A box id names a file inside ``annotations/``: no path separators, no leading dot.
_BOX_ID = re.compile(r"[\w-][\w.-]*_\d+")


class ConflictError(ChestxError):
    """An edit made against a version of an instance that is no longer the saved one."""


class InvalidBoxError(ChestxError):
    """A box that cannot be stored: unknown finding, empty or negative size, outside the image."""


def check_box(finding: str, x: float, y: float, w: float, h: float, width: int,
              height: int) -> str:
    """Return the canonical finding name; raise :class:`InvalidBoxError` for an unknown
    finding, a box without area, or one that leaves the ``width`` x ``height`` image."""
    try:
        name = canonical(finding)
    except KeyError as exc:
        raise InvalidBoxError(f"unknown finding {finding!r} (use one of "
                              f"{', '.join(FINDINGS)})") from exc
    values = (x, y, w, h)
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in values):
        raise InvalidBoxError(f"box {values} is not four finite numbers")
    if w <= 0 or h <= 0:
        raise InvalidBoxError(f"box width and height must be positive, got w={w}, h={h}")
    # 1e-6 px of slack: a box drawn to the edge may sum to 1024.0000000000001 in floats
    if x < 0 or y < 0 or x + w > width + 1e-6 or y + h > height + 1e-6:
        raise InvalidBoxError(f"box x={x}, y={y}, w={w}, h={h} leaves the {width}x{height} "
                              "image")
    return name


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class AnnotationStore:
    """The instances of a dataset folder being annotated, safe for concurrent editors.

    Parameters
    ----------
    root : the dataset folder; instances live in ``root/annotations/``, the regenerated list
        in ``root/BBox_List_2017.csv``.

    Every change takes a thread lock and an ``flock`` on ``annotations/.lock`` (so two servers
    on one folder also take turns), re-reads the instance file it changes, checks the caller's
    ``version`` and ``uid`` against it, writes the XML, then regenerates the CSV from all XML
    files. Unchanged files are not parsed twice (cached by inode, modification time and size).
    """

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self.folder = self.root / ANNOTATIONS_DIR
        self.csv_path = self.root / BBOX_NAMES[0]
        self._lock = threading.RLock()  # writes, and scans (they update the cache)
        self._cache: dict[str, tuple[tuple[int, int, int], BoxAnnotation]] = {}
        self.bad_files: list[tuple[Path, str]] = []

    # -- reading
    def boxes(self, image: str | None = None) -> list[BoxAnnotation]:
        """Saved instances (of one ``image`` when given), by image, finding and ``k``."""
        found = self._scan()
        if image is not None:
            found = [b for b in found if b.box.image == image]
        return sorted(found, key=lambda b: (b.box.image, _FINDING_RANK.get(b.box.finding, 99),
                                            b.k))

    def get(self, box_id: str) -> BoxAnnotation | None:
        """The saved instance ``box_id`` (``<image stem>_<finding>_<k>``), None when absent."""
        if not _BOX_ID.fullmatch(box_id):
            raise InvalidBoxError(f"{box_id!r} is not a box id (<image stem>_<finding>_<k>)")
        try:
            return read_voc(self.folder / f"{box_id}.xml")
        except ChestxError:
            if (self.folder / f"{box_id}.xml").exists():
                raise
            return None

    def _read(self, entry: os.DirEntry) -> BoxAnnotation:
        # An atomic write replaces the file, so its inode changes with every save: the key
        # sees a rewrite even within one tick of the modification clock.
        info = entry.stat()
        key = (info.st_ino, info.st_mtime_ns, info.st_size)
        cached = self._cache.get(entry.name)
        if cached is None or cached[0] != key:
            cached = (key, read_voc(entry.path))
            self._cache[entry.name] = cached
        return cached[1]

    def _scan(self) -> list[BoxAnnotation]:
        with self._lock:
            try:
                with os.scandir(self.folder) as listing:
                    entries = sorted((e for e in listing if e.name.endswith(".xml")
                                      and not e.name.startswith(".")), key=lambda e: e.name)
            except FileNotFoundError:
                return []
            found, bad = [], []
            for entry in entries:
                try:
                    found.append(self._read(entry))
                except (ChestxError, FileNotFoundError) as exc:
                    bad.append((Path(entry.path), str(exc)))
            names = {e.name for e in entries}
            self._cache = {n: v for n, v in self._cache.items() if n in names}
            self.bad_files = bad
            return found

    def _next_k(self, image: str, finding: str) -> int:
        """1 + the largest ``k`` among the files of ``image`` and ``finding`` (names only)."""
        pattern = re.compile(re.escape(f"{Path(image).stem}_{finding}_") + r"(\d+)\.xml")
        taken = [int(m.group(1)) for name in os.listdir(self.folder)
                 if (m := pattern.fullmatch(name))]
        return max(taken, default=0) + 1

    # -- writing
    @contextmanager
    def _writing(self) -> Iterator[None]:
        self.folder.mkdir(parents=True, exist_ok=True)
        with self._lock, open(self.folder / ".lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
                write_bbox_list(self.csv_path, bbox_rows(self._scan()))
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def create(self, image: str, finding: str, box: Sequence[float], size: tuple[int, int],
               annotator: str = "") -> BoxAnnotation:
        """Save a new instance of ``finding`` on ``image`` (``box = (x, y, w, h)``, ``size =
        (width, height)`` of the stored image); it gets the next free ``k``."""
        name = check_box(finding, *box, *size)
        with self._writing():
            saved = BoxAnnotation(Box(*map(float, box), finding=name, image=image), *size,
                                  k=self._next_k(image, name),
                                  annotator=annotator, time=utc_now(), version=1,
                                  uid=uuid.uuid4().hex)
            write_voc(self.folder, saved)
        return saved

    def _current(self, box_id: str, version: int, uid: str) -> BoxAnnotation:
        saved = self.get(box_id)
        if saved is None:
            raise ConflictError(f"box {box_id} was deleted meanwhile; reload to see the "
                                "current boxes")
        if saved.uid != uid or saved.version != version:
            raise ConflictError(f"box {box_id} was changed meanwhile by "
                                f"{saved.annotator or 'someone'} at {saved.time} (version "
                                f"{saved.version}, yours {version}); not saved, reload to "
                                "see it")
        return saved

    def update(self, box_id: str, box: Sequence[float], version: int, uid: str,
               annotator: str = "") -> BoxAnnotation:
        """Move or resize an instance; :class:`ConflictError` unless ``version`` and ``uid``
        are those saved."""
        with self._writing():
            saved = self._current(box_id, version, uid)
            check_box(saved.box.finding, *box, saved.width, saved.height)
            moved = replace(saved.box, x=float(box[0]), y=float(box[1]), w=float(box[2]),
                            h=float(box[3]))
            changed = replace(saved, box=moved, annotator=annotator or saved.annotator,
                              time=utc_now(), version=saved.version + 1)
            write_voc(self.folder, changed)
        return changed

    def delete(self, box_id: str, version: int, uid: str) -> BoxAnnotation:
        """Remove an instance file; :class:`ConflictError` unless ``version`` and ``uid`` are
        those saved. Returns what was deleted."""
        with self._writing():
            saved = self._current(box_id, version, uid)
            (self.folder / f"{box_id}.xml").unlink()
        return saved

    def seed_from_list(self, image_size: Callable[[str], tuple[int, int]]) -> int:
        """When ``annotations/`` holds no instance yet, turn an existing box list of the folder
        into instance files (so editing starts from it and regenerating loses none of it).
        Returns how many were written; refuses a list whose boxes the XML files lack."""
        lists = [self.root / n for n in BBOX_NAMES if (self.root / n).is_file()]
        if not lists:
            return 0
        if not self._scan():
            with self._writing():
                written = export_voc(lists[0], self.folder, image_size)
            return len(written)
        listed = read_bbox_list(lists[0])
        held = {(r[0], r[1], *map(format_number, r[2:])) for r in bbox_rows(self._scan())}
        missing = [row for row in listed.itertuples(index=False, name=None)
                   if (row[0], row[1], *map(format_number, row[2:])) not in held]
        if missing:
            raise ChestxError(f"{lists[0]}: {len(missing)} boxes (e.g. {missing[0][0]} "
                              f"{missing[0][1]}) are not in {self.folder}; regenerating would "
                              f"drop them. Move the list away, or add them with `chestx boxes "
                              f"export-voc --gt {lists[0]} --out EMPTY_DIR` and copy the files")
        return 0
