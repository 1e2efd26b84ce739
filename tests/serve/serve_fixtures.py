"""Shared pieces of the web tests: small NIH-layout folders, a live server, Chromium."""

from __future__ import annotations

import shutil
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from chestx.data.nih import DATA_ENTRY_COLUMNS

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: Chromium's flags on a closed network (no background connections, no sandbox as root).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
#: ``pytestmark`` of a module that drives the browser.
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed "
                       "(`make browser` or `apt-get install chromium` installs it)"),
]

#: Image Index -> Finding Labels of the default test folder (NIH names, as in Data_Entry).
IMAGES = {
    "00000001_000.png": "Cardiomegaly|Effusion",
    "00000002_000.png": "Mass",
    "00000003_000.png": "No Finding",
    "00000003_001.png": "Nodule",
}


def gray_image(seed: int, size: int) -> np.ndarray:
    """A smooth ``uint8 (size, size)`` picture (compresses well, looks like something)."""
    rng = np.random.default_rng(seed)
    coarse = (rng.random((8, 8)) * 255).astype(np.uint8)
    return np.asarray(Image.fromarray(coarse).resize((size, size), Image.Resampling.BICUBIC))


def make_dataset(root: Path, images: dict[str, str] | None = None, size: int = 1024,
                 pictures: dict[str, np.ndarray] | None = None) -> Path:
    """Write ``Data_Entry_2017.csv``, ``images/*.png``, ``train_val_list.txt`` and
    ``test_list.txt`` (the last image is the test one) under ``root``."""
    images = images or IMAGES
    pictures = pictures or {}
    (root / "images").mkdir(parents=True, exist_ok=True)
    header = "Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender," \
             "View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y]"
    assert len(header.split(",")) == len(DATA_ENTRY_COLUMNS)
    lines = [header]
    for seed, (name, labels) in enumerate(images.items()):
        patient, follow_up = int(name[:8]), int(name[9:12])
        lines.append(f"{name},{labels},{follow_up},{patient},40,F,PA,{size},{size},0.14,0.14")
        picture = pictures.get(name, gray_image(seed, size))
        Image.fromarray(picture).save(root / "images" / name)
    (root / "Data_Entry_2017.csv").write_text("\n".join(lines) + "\n")
    names = list(images)
    (root / "train_val_list.txt").write_text("\n".join(names[:-1]))
    (root / "test_list.txt").write_text(names[-1])
    return root


@contextmanager
def live(app):
    """``app`` under uvicorn on 127.0.0.1 and a free port (in a thread); yields its URL."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def files_of(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (relative path -> bytes), to show that nothing changed."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}
