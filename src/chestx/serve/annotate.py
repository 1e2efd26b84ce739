"""``chestx annotate``: the viewer in annotation mode on a dataset folder in the NIH layout.

A radiologist, given an image and a finding, draws a box around the finding's instance; each
instance is saved at once as its own PASCAL VOC file and ``BBox_List_2017.csv`` is regenerated
(:class:`chestx.data.annotations.AnnotationStore`). With a checkpoint the model's boxes for the
image's labelled findings are offered as proposals.

Routes
------
``GET /``                                   the annotation page (``static/annotate.*``)
``GET /api/config``                         annotator, findings, splits, whether proposals exist
``GET /api/images``                         work list; ``?finding=&split=&unboxed=true``
``GET /api/images/{image}``                 size, labels and saved boxes of one image
``GET /api/images/{image}/pixels.png``      the stored image as 8-bit gray PNG
``GET /api/images/{image}/proposals``       the model's boxes for the image's labels (404 without)
``POST /api/images/{image}/boxes``          ``{finding, x, y, w, h, annotator}`` -> 201, the box
``PUT /api/boxes/{id}``                     ``{x, y, w, h, version, uid, annotator}`` -> the box
``DELETE /api/boxes/{id}?version=&uid=``    -> the deleted box

Boxes are ``x, y, w, h`` in pixels of the stored image. Bad input answers 4xx and writes
nothing: 404 unknown image, 422 unknown finding / empty or negative size / box outside the
image, 409 an edit against a version that is no longer the saved one.
"""

from __future__ import annotations

import getpass
import os
import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from PIL import Image
from pydantic import BaseModel

from chestx import __version__
from chestx.data.annotations import AnnotationStore, ConflictError, InvalidBoxError
from chestx.data.images import read_gray
from chestx.data.nih import find_images, read_data_entry, read_split_list
from chestx.data.voc import stored_size
from chestx.errors import ChestxError
from chestx.findings import FINDINGS, canonical, split_labels
from chestx.inference import Predictor
from chestx.serve.app import page_app
from chestx.serve.results import png_bytes

#: Split lists offered as work-list filters, from ``DIR/split/`` (``chestx split``) first,
#: then NIH's official lists.
SPLIT_FILES = {"train": "split/train.txt", "val": "split/val.txt", "test": "split/test.txt",
               "train_val": "train_val_list.txt"}
OFFICIAL_TEST = "test_list.txt"


@dataclass
class AnnotationDataset:
    """A dataset folder's images as the annotation page needs them.

    ``labels`` maps each ``Image Index`` of ``Data_Entry_2017.csv`` that has a file to its
    findings (canonical names, in the CSV's order); ``splits`` maps a split name to its set of
    images; sizes are read from the files' headers when first asked for.
    """

    root: Path
    labels: dict[str, list[str]]
    paths: dict[str, Path]
    splits: dict[str, set[str]] = field(default_factory=dict)
    _sizes: dict[str, tuple[int, int]] = field(default_factory=dict)

    @classmethod
    def load(cls, root: str | os.PathLike) -> AnnotationDataset:
        root = Path(root)
        entries = read_data_entry(root)
        paths = find_images(root)
        labels = {name: split_labels(cell) for name, cell in
                  zip(entries["Image Index"], entries["Finding Labels"], strict=True)
                  if name in paths}
        if not labels:
            raise ChestxError(f"{root}: none of the images of Data_Entry_2017.csv is under "
                              "images/")
        splits = {}
        for name, relative in SPLIT_FILES.items():
            if (root / relative).is_file():
                splits[name] = set(read_split_list(root / relative))
        if "test" not in splits and (root / OFFICIAL_TEST).is_file():
            splits["test"] = set(read_split_list(root / OFFICIAL_TEST))
        return cls(root, labels, paths, splits)

    def path(self, image: str) -> Path:
        """The file of ``image``; HTTP 404 when the dataset has no such image."""
        if image not in self.labels:
            raise HTTPException(404, f"image {image!r} is not in {self.root.name}'s "
                                     "Data_Entry_2017.csv with a file under images/")
        return self.paths[image]

    def size(self, image: str) -> tuple[int, int]:
        """``(width, height)`` of the stored image (DICOM files are decoded once)."""
        if image not in self._sizes:
            self._sizes[image] = stored_size(self.path(image))
        return self._sizes[image]

    def gray_png(self, image: str) -> bytes | Path:
        """The stored image as the page shows it: the file itself when it is an 8-bit gray
        PNG, else PNG bytes of :func:`chestx.data.images.read_gray`'s 8-bit rendering."""
        path = self.path(image)
        try:
            with Image.open(path) as handle:
                if handle.format == "PNG" and handle.mode == "L":
                    return path
        except OSError:
            pass
        return png_bytes(read_gray(path))


class ProposalMaker:
    """The model's boxes for an image's labelled findings, through :class:`Predictor`;
    the last ``cache_size`` images' proposals are kept."""

    def __init__(self, predictor: Predictor, cache_size: int = 32) -> None:
        self.predictor = predictor
        self.cache_size = cache_size
        self._cache: OrderedDict[str, list[dict]] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def from_checkpoint(cls, checkpoint: str | os.PathLike) -> ProposalMaker:
        if not Path(checkpoint).is_file():
            raise ChestxError(f"{checkpoint}: checkpoint not found")
        return cls(Predictor.from_checkpoint(checkpoint, boxes_for="all"))

    def proposals(self, image: str, path: Path, findings: list[str]) -> list[dict]:
        """``[{finding, x, y, w, h, score}]`` in pixels of the stored image, for ``findings``
        the model knows."""
        with self._lock:
            if image in self._cache:
                self._cache.move_to_end(image)
                return self._cache[image]
        prediction = self.predictor.predict_grays([read_gray(path)], [image])[0]
        found = [{"finding": box.finding, **box.to_dict()}
                 for box in prediction.boxes if box.finding in findings]
        with self._lock:
            self._cache[image] = found
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return found


class BoxRequest(BaseModel):
    """The body of ``POST /api/images/{image}/boxes`` (``finding`` required) and of
    ``PUT /api/boxes/{id}`` (``version`` and ``uid`` of the saved box required): a box in
    stored-image pixels and who draws it."""

    x: float
    y: float
    w: float
    h: float
    finding: str = ""
    version: int | None = None
    uid: str = ""
    annotator: str = ""

    @property
    def xywh(self) -> tuple[float, float, float, float]:
        return (self.x, self.y, self.w, self.h)


def create_annotate_app(dataset: AnnotationDataset, store: AnnotationStore,
                        annotator: str = "", proposer: ProposalMaker | None = None) -> FastAPI:
    """Build the annotation app over ``dataset`` writing to ``store`` (see the module
    docstring for the routes); ``annotator`` is the name saved when the page gives none."""
    app = page_app("chestx annotate", "annotate.html")
    app.state.store = store

    @app.exception_handler(ConflictError)
    async def _conflict(request: Request, exc: ConflictError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @app.exception_handler(InvalidBoxError)
    async def _invalid(request: Request, exc: InvalidBoxError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(OSError)
    async def _disk(request: Request, exc: OSError) -> JSONResponse:
        return JSONResponse({"detail": f"could not save ({exc})"}, status_code=500)

    @app.get("/api/config")
    def config() -> dict:
        return {"annotator": annotator, "findings": list(FINDINGS), "dataset": dataset.root.name,
                "images": len(dataset.labels), "splits": sorted(dataset.splits),
                "proposals": proposer is not None, "version": __version__}

    @app.get("/api/images")
    def images(finding: str = "", split: str = "", unboxed: bool = False) -> dict:
        wanted = _finding_or_422(finding) if finding else None
        if split and split not in dataset.splits:
            raise HTTPException(422, f"unknown split {split!r} (this folder has "
                                     f"{', '.join(sorted(dataset.splits)) or 'none'})")
        counts = Counter(saved.box.image for saved in store.boxes())
        rows = [{"image": name, "labels": labels, "boxes": counts[name]}
                for name, labels in dataset.labels.items()
                if (wanted is None or wanted in labels)
                and (not split or name in dataset.splits[split])
                and (not unboxed or counts[name] == 0)]
        return {"images": rows, "total": len(dataset.labels)}

    @app.get("/api/images/{image}")
    def image_detail(image: str) -> dict:
        width, height = dataset.size(image)
        return {"image": image, "width": width, "height": height,
                "labels": dataset.labels[image],
                "boxes": [box.to_dict() for box in store.boxes(image)]}

    @app.get("/api/images/{image}/pixels.png")
    def pixels(image: str) -> Response:
        data = dataset.gray_png(image)
        if isinstance(data, Path):
            return FileResponse(data, media_type="image/png",
                                headers={"Cache-Control": "private"})
        return Response(data, media_type="image/png", headers={"Cache-Control": "private"})

    @app.get("/api/images/{image}/proposals")
    def proposals(image: str) -> dict:
        path = dataset.path(image)
        if proposer is None:
            raise HTTPException(404, "no model: start chestx annotate with --checkpoint "
                                     "for proposals")
        return {"image": image,
                "proposals": proposer.proposals(image, path, dataset.labels[image])}

    @app.post("/api/images/{image}/boxes", status_code=201)
    def create_box(image: str, body: BoxRequest) -> dict:
        if not body.finding:
            raise HTTPException(422, "a new box needs its finding")
        size = dataset.size(image)
        box = store.create(image, body.finding, body.xywh, size,
                           annotator=body.annotator.strip() or annotator)
        return box.to_dict()

    @app.put("/api/boxes/{box_id}")
    def update_box(box_id: str, body: BoxRequest) -> dict:
        if body.version is None or not body.uid:
            raise HTTPException(422, "an edit needs the version and uid of the saved box")
        box = store.update(box_id, body.xywh, body.version, body.uid,
                           annotator=body.annotator.strip() or annotator)
        return box.to_dict()

    @app.delete("/api/boxes/{box_id}")
    def delete_box(box_id: str, version: int = Query(...), uid: str = Query(...)) -> dict:
        return store.delete(box_id, version, uid).to_dict()

    return app


def _finding_or_422(name: str) -> str:
    try:
        return canonical(name)
    except KeyError as exc:
        raise HTTPException(422, f"unknown finding {name!r}") from exc


def load_annotate_app(data_dir: str | os.PathLike, checkpoint: str | os.PathLike | None = None,
                      annotator: str | None = None) -> tuple[FastAPI, int]:
    """Open ``data_dir`` for annotation; returns the app and how many boxes of an existing
    ``BBox_List_2017.csv`` were turned into instance files (when ``annotations/`` had none)."""
    dataset = AnnotationDataset.load(data_dir)
    store = AnnotationStore(data_dir)
    try:
        store.folder.mkdir(exist_ok=True)
        (store.folder / ".lock").touch()
        seeded = store.seed_from_list(_size_or_default(dataset))
    except OSError as exc:
        raise ChestxError(f"{store.folder}: cannot write the annotations ({exc})") from exc
    proposer = ProposalMaker.from_checkpoint(checkpoint) if checkpoint else None
    app = create_annotate_app(dataset, store, annotator or _login_name(), proposer)
    return app, seeded


def _size_or_default(dataset: AnnotationDataset):
    """Image sizes for seeding: the file's, or NIH's 1024 x 1024 for a box whose image is not
    in the folder."""
    def size(image: str) -> tuple[int, int]:
        return dataset.size(image) if image in dataset.labels else (1024, 1024)
    return size


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "annotator"


__all__ = ["AnnotationDataset", "ProposalMaker", "create_annotate_app", "load_annotate_app"]
