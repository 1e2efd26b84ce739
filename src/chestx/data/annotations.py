"""Hand-drawn boxes on disk: one PASCAL VOC XML per instance, and ``BBox_List_2017.csv``.

The paper's radiologists drew one box per finding instance and saved each in its own XML file
(§2.4). A dataset folder that is being annotated holds::

    annotations/<image stem>_<finding>_<k>.xml   one instance (k = 1, 2, ... per image+finding)
    BBox_List_2017.csv                           regenerated from the XML files after each save

An instance file::

    <annotation>
      <folder>images</folder>
      <filename>00000001_000.png</filename>
      <size><width>1024</width><height>1024</height><depth>1</depth></size>
      <object>
        <name>Cardiomegaly</name>
        <bndbox><xmin>256</xmin><ymin>300.5</ymin><xmax>700</xmax><ymax>650.5</ymax></bndbox>
        <annotator>alice</annotator>
        <time>2026-12-03T17:42:03Z</time>
        <version>2</version>
        <uid>4c1f...</uid>
      </object>
    </annotation>

Coordinates are pixels of the image as stored, top-left origin, ``xmax = x + w`` (exclusive).
They are written in decimal and added without rounding (``decimal.Decimal``), so that
``x, y, w, h`` read back are the very floats that were written: NIH's list survives
``BBox_List_2017.csv -> XML -> BBox_List_2017.csv`` digit for digit. ``version`` counts the
saves of the instance and ``uid`` names the instance for life (a box deleted and redrawn gets a
new one); :class:`AnnotationStore` refuses an edit made against an older version or another uid.
"""

from __future__ import annotations

import fcntl
import math
import os
import re
import threading
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pydicom
from PIL import Image
from pydicom.errors import InvalidDicomError

from chestx.atomic import atomic_write_text
from chestx.data.nih import (
    BBOX_HEADER,
    BBOX_HEADER_READER,
    BBOX_NAMES,
    find_images,
    read_bbox_list,
)
from chestx.errors import ChestxError
from chestx.findings import FINDINGS, canonical

#: Folder of the instance files inside a dataset folder.
ANNOTATIONS_DIR = "annotations"

#: NIH's spelling of a finding in ``BBox_List_2017.csv`` where it differs from the image label.
BBOX_LIST_SPELLING = {"Infiltration": "Infiltrate"}

_FINDING_RANK = {name: rank for rank, name in enumerate(FINDINGS)}


class ConflictError(ChestxError):
    """An edit made against a version of an instance that is no longer the saved one."""


class InvalidBoxError(ChestxError):
    """A box that cannot be stored: unknown finding, empty or negative size, outside the image."""


@dataclass(frozen=True)
class BoxAnnotation:
    """One instance: a finding's box on one image, as one VOC file holds it.

    ``x, y, w, h`` are pixels of the stored image (``width`` x ``height``), top-left origin.
    ``k`` numbers the instances of ``finding`` on ``image`` from 1.
    """

    image: str
    finding: str
    x: float
    y: float
    w: float
    h: float
    width: int
    height: int
    k: int = 1
    annotator: str = ""
    time: str = ""
    version: int = 1
    uid: str = ""

    @property
    def id(self) -> str:
        """``<image stem>_<finding>_<k>``: the instance file's name without ``.xml``."""
        return f"{Path(self.image).stem}_{self.finding}_{self.k}"

    def to_dict(self) -> dict:
        return {"id": self.id, "image": self.image, "finding": self.finding, "x": self.x,
                "y": self.y, "w": self.w, "h": self.h, "k": self.k,
                "annotator": self.annotator, "time": self.time, "version": self.version,
                "uid": self.uid}


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


# ------------------------------------------------------------------ numbers and the CSV
def format_number(value: float) -> str:
    """Shortest text that reads back as the same float; whole numbers without ``.0``
    (NIH's list prints ``512`` beside ``225.084745762712``)."""
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


def _decimal(value: float) -> Decimal:
    return Decimal(format_number(value))


def write_bbox_list(path: str | os.PathLike,
                    rows: Iterable[tuple[str, str, float, float, float, float]],
                    readers: bool = False) -> Path:
    """Write ``BBox_List_2017.csv`` in NIH's format, atomically; the one writer of that file.

    ``rows`` are ``(Image Index, finding, x, y, w, h)`` with canonical finding names; they are
    written in :data:`chestx.findings.FINDINGS` order, then by image (NIH groups its list by
    finding), under NIH's 9-field header, with ``Infiltrate`` for Infiltration. With
    ``readers``, rows end with a 7th item, the reader, under :data:`BBOX_HEADER_READER`.
    """
    ordered = sorted(rows, key=lambda r: (_FINDING_RANK.get(r[1], len(FINDINGS)), r[0]))
    lines = [BBOX_HEADER_READER if readers else BBOX_HEADER]
    for image, finding, *box in ordered:
        label = BBOX_LIST_SPELLING.get(finding, finding)
        extra = [str(box.pop())] if readers else []
        lines.append(",".join([image, label, *(format_number(v) for v in box), *extra]))
    atomic_write_text(path, "\n".join(lines) + "\n")
    return Path(path)


def bbox_rows(boxes: Iterable[BoxAnnotation]) -> list[tuple[str, str, float, float, float, float]]:
    """Instances -> rows for :func:`write_bbox_list`, instances of one image and finding in
    ``k`` order."""
    ordered = sorted(boxes, key=lambda b: (b.image, b.finding, b.k))
    return [(b.image, b.finding, b.x, b.y, b.w, b.h) for b in ordered]


# ------------------------------------------------------------------ one VOC file
def voc_xml(box: BoxAnnotation) -> str:
    """The PASCAL VOC XML text of one instance (see the module docstring)."""
    root = ET.Element("annotation")
    ET.SubElement(root, "folder").text = "images"
    ET.SubElement(root, "filename").text = box.image
    size = ET.SubElement(root, "size")
    for tag, value in (("width", box.width), ("height", box.height), ("depth", 1)):
        ET.SubElement(size, tag).text = str(int(value))
    ET.SubElement(root, "segmented").text = "0"
    obj = ET.SubElement(root, "object")
    ET.SubElement(obj, "name").text = box.finding
    ET.SubElement(obj, "pose").text = "Unspecified"
    ET.SubElement(obj, "truncated").text = "0"
    ET.SubElement(obj, "difficult").text = "0"
    bndbox = ET.SubElement(obj, "bndbox")
    x, y = _decimal(box.x), _decimal(box.y)
    corners = (("xmin", x), ("ymin", y), ("xmax", x + _decimal(box.w)),
               ("ymax", y + _decimal(box.h)))
    for tag, value in corners:
        ET.SubElement(bndbox, tag).text = _decimal_text(value)
    for tag, value in (("annotator", box.annotator), ("time", box.time),
                       ("version", str(box.version)), ("uid", box.uid)):
        ET.SubElement(obj, tag).text = value
    ET.indent(root)
    return ET.tostring(root, encoding="unicode") + "\n"


def _decimal_text(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def write_voc(folder: str | os.PathLike, box: BoxAnnotation) -> Path:
    """Write ``folder/<box.id>.xml`` atomically; returns its path."""
    path = Path(folder) / f"{box.id}.xml"
    atomic_write_text(path, voc_xml(box))
    return path


def instance_files(folder: str | os.PathLike) -> list[Path]:
    """The ``*.xml`` files of ``folder``, sorted, without the hidden temp files of atomic
    writes in progress."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.xml") if not p.name.startswith("."))


_K_SUFFIX = re.compile(r"_(\d+)$")
#: A box id names a file inside ``annotations/``: no path separators, no leading dot.
_BOX_ID = re.compile(r"[\w-][\w.-]*_\d+")


def read_voc(path: str | os.PathLike) -> BoxAnnotation:
    """Read one instance file; :class:`ChestxError` naming the file when it is not one."""
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
        obj = root.find("object")
        bndbox = obj.find("bndbox")
        corners = [Decimal(bndbox.findtext(tag).strip())
                   for tag in ("xmin", "ymin", "xmax", "ymax")]
        finding = canonical(obj.findtext("name", ""))
        image = root.findtext("filename", "").strip()
        width = int(root.findtext("size/width", "0"))
        height = int(root.findtext("size/height", "0"))
    except (ET.ParseError, OSError) as exc:
        raise ChestxError(f"{path}: not a readable VOC XML file ({exc})") from exc
    except (AttributeError, InvalidOperation, ValueError, KeyError) as exc:
        raise ChestxError(f"{path}: not a one-object VOC annotation ({exc})") from exc
    if not image:
        raise ChestxError(f"{path}: no <filename>")
    match = _K_SUFFIX.search(path.stem)
    return BoxAnnotation(
        image=image, finding=finding, x=float(corners[0]), y=float(corners[1]),
        w=float(corners[2] - corners[0]), h=float(corners[3] - corners[1]),
        width=width, height=height, k=int(match.group(1)) if match else 1,
        annotator=(obj.findtext("annotator") or "").strip(),
        time=(obj.findtext("time") or "").strip(),
        version=int(obj.findtext("version") or 1), uid=(obj.findtext("uid") or "").strip())


def read_voc_dir(folder: str | os.PathLike) -> tuple[list[BoxAnnotation], list[tuple[Path, str]]]:
    """Every ``*.xml`` instance of ``folder`` (sorted by file name) and the files that could
    not be read, as ``(path, reason)``."""
    boxes, bad = [], []
    for path in instance_files(folder):
        try:
            boxes.append(read_voc(path))
        except ChestxError as exc:
            bad.append((path, str(exc)))
    return boxes, bad


# ------------------------------------------------------------------ CSV <-> VOC folder
def stored_size(path: str | os.PathLike) -> tuple[int, int]:
    """``(width, height)`` of an image file (PNG, JPEG, DICOM), read from its header only."""
    try:
        with Image.open(path) as handle:
            return handle.size
    except OSError:
        pass
    try:
        header = pydicom.dcmread(path, stop_before_pixels=True, force=True)
        return int(header.Columns), int(header.Rows)
    except (OSError, AttributeError, ValueError, InvalidDicomError) as exc:
        raise ChestxError(f"{path}: cannot read the image size ({exc})") from exc


def image_size_reader(root: str | os.PathLike | None, default: int = 1024
                      ) -> Callable[[str], tuple[int, int]]:
    """``image -> (width, height)`` for :func:`export_voc`: the size of the image's file under
    the dataset folder ``root``, or ``default`` x ``default`` (NIH's 1024) when there is none."""
    found = find_images(root) if root is not None else {}

    def size(image: str) -> tuple[int, int]:
        return stored_size(found[image]) if image in found else (default, default)
    return size


def export_voc(gt: str | os.PathLike, out: str | os.PathLike,
               image_size: Callable[[str], tuple[int, int]] | None = None,
               annotator: str = "") -> list[Path]:
    """Write one VOC file per row of a ``BBox_List_2017.csv`` into ``out``.

    ``image_size(image) -> (width, height)`` gives the ``<size>`` of each file (default 1024 x
    1024, NIH's stored size; see :func:`image_size_reader`). Instances of one image and finding
    are numbered in file order.
    ``out`` must hold no ``.xml`` file yet (numbers would collide with those already there).
    """
    out = Path(out)
    existing = instance_files(out)
    if existing:
        raise ChestxError(f"{out}: already holds {len(existing)} .xml files; "
                          "export into an empty folder")
    frame = read_bbox_list(gt)
    sizes = image_size or (lambda image: (1024, 1024))
    counts: dict[tuple[str, str], int] = {}
    written = []
    for image, finding, x, y, w, h in frame.itertuples(index=False, name=None):
        key = (image, finding)
        counts[key] = counts.get(key, 0) + 1
        width, height = sizes(image)
        box = BoxAnnotation(image, finding, x, y, w, h, width, height, k=counts[key],
                            annotator=annotator, uid=uuid.uuid4().hex)
        written.append(write_voc(out, box))
    return written


def import_voc(folder: str | os.PathLike, out: str | os.PathLike
               ) -> tuple[int, list[tuple[Path, str]]]:
    """Write ``out`` (a ``BBox_List_2017.csv``) from the VOC files of ``folder``.

    Returns the number of boxes written and the files skipped as ``(path, reason)``; raises
    :class:`ChestxError` when the folder is missing or holds no readable file.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ChestxError(f"{folder}: folder not found")
    boxes, bad = read_voc_dir(folder)
    if not boxes:
        raise ChestxError(f"{folder}: no readable VOC .xml file"
                          + (f" ({bad[0][1]})" if bad else ""))
    write_bbox_list(out, bbox_rows(boxes))
    return len(boxes), bad


# ------------------------------------------------------------------ the live store
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
            found = [b for b in found if b.image == image]
        return sorted(found, key=lambda b: (b.image, _FINDING_RANK.get(b.finding, 99), b.k))

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
            saved = BoxAnnotation(image, name, *map(float, box), *size,
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
            check_box(saved.finding, *box, saved.width, saved.height)
            changed = replace(saved, x=float(box[0]), y=float(box[1]), w=float(box[2]),
                              h=float(box[3]), annotator=annotator or saved.annotator,
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
