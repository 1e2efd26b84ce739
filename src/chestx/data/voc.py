"""PASCAL VOC files of hand-drawn boxes: one instance a file, folders of them <-> the CSV.

One :class:`BoxAnnotation` a file; a folder of them converts to and from
``BBox_List_2017.csv``.

The paper's radiologists drew one box per finding instance and saved each in its own XML file
(§2.4). An instance file::

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
new one; see :mod:`chestx.data.annotations`).
"""

from __future__ import annotations

import os
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pydicom
from PIL import Image
from pydicom.errors import InvalidDicomError

from chestx.atomic import atomic_write_text
from chestx.boxes import Box
from chestx.data.bbox_csv import format_number, read_bbox_list, write_bbox_list
from chestx.data.nih import find_images
from chestx.errors import ChestxError
from chestx.findings import canonical


@dataclass(frozen=True)
class BoxAnnotation:
    """One instance, as one VOC file holds it: a hand-drawn :class:`~chestx.boxes.Box` (which
    names its image and finding) on a ``width`` x ``height`` stored image, with ``k``
    numbering the instances of its finding on its image from 1, and who saved which version.
    """

    box: Box
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
        return f"{Path(self.box.image).stem}_{self.box.finding}_{self.k}"

    def to_dict(self) -> dict:
        box = self.box
        return {"id": self.id, "image": box.image, "finding": box.finding, "x": box.x,
                "y": box.y, "w": box.w, "h": box.h, "k": self.k,
                "annotator": self.annotator, "time": self.time, "version": self.version,
                "uid": self.uid}


def bbox_rows(boxes: Iterable[BoxAnnotation]
              ) -> list[tuple[str, str, float, float, float, float]]:
    """Instances -> rows for :func:`write_bbox_list`, instances of one image and finding in
    ``k`` order."""
    ordered = sorted(boxes, key=lambda b: (b.box.image, b.box.finding, b.k))
    return [(b.box.image, b.box.finding, *b.box.xywh) for b in ordered]


def _decimal(value: float) -> Decimal:
    return Decimal(format_number(value))


def voc_xml(box: BoxAnnotation) -> str:
    """The PASCAL VOC XML text of one instance (see the module docstring)."""
    root = ET.Element("annotation")
    ET.SubElement(root, "folder").text = "images"
    ET.SubElement(root, "filename").text = box.box.image
    size = ET.SubElement(root, "size")
    for tag, value in (("width", box.width), ("height", box.height), ("depth", 1)):
        ET.SubElement(size, tag).text = str(int(value))
    ET.SubElement(root, "segmented").text = "0"
    obj = ET.SubElement(root, "object")
    ET.SubElement(obj, "name").text = box.box.finding
    ET.SubElement(obj, "pose").text = "Unspecified"
    ET.SubElement(obj, "truncated").text = "0"
    ET.SubElement(obj, "difficult").text = "0"
    bndbox = ET.SubElement(obj, "bndbox")
    x, y = _decimal(box.box.x), _decimal(box.box.y)
    corners = (("xmin", x), ("ymin", y), ("xmax", x + _decimal(box.box.w)),
               ("ymax", y + _decimal(box.box.h)))
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
    box = Box(float(corners[0]), float(corners[1]), float(corners[2] - corners[0]),
              float(corners[3] - corners[1]), finding=finding, image=image)
    return BoxAnnotation(
        box, width=width, height=height, k=int(match.group(1)) if match else 1,
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
        box = BoxAnnotation(Box(x, y, w, h, finding=finding, image=image), width, height,
                            k=counts[key], annotator=annotator, uid=uuid.uuid4().hex)
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
