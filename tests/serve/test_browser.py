"""End to end in a real browser: headless Debian Chromium driven by Playwright.

Upload a phantom (and the real NIH image when ../shared is there), wait for the sorted
probabilities, click a finding, see its heatmap and boxes over the image, move the opacity
slider, and get a readable refusal for a text file. Set CHESTX_SCREENSHOTS=DIR to keep the
screenshots. Skipped, with the reason, only where Chromium is not installed.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from serve_fixtures import BROWSER_MARKS

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("CHESTX_SHARED", REPO.parent / "shared"))
NIH_IMAGE = SHARED / "data" / "nih" / "images" / "00000001_000.png"

pytestmark = BROWSER_MARKS


@pytest.fixture
def phantom_png(tmp_path) -> Path:
    """A synthetic chest with an effusion, as a user's PNG."""
    from chestx.synth.anatomy import sample_anatomy
    from chestx.synth.phantom import render

    rng = np.random.default_rng(7)
    gray, _ = render(384, sample_anatomy(rng), {"Effusion": 1}, rng)
    path = tmp_path / "phantom_effusion.png"
    Image.fromarray(gray).save(path)
    return path


def _screenshot(page, name: str) -> None:
    folder = os.environ.get("CHESTX_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / name), full_page=True)


def _upload_and_check(page, path: Path, shot: str) -> None:
    """Upload ``path``; check the list against the JSON answer; click the top finding."""
    with page.expect_response(lambda r: r.url.endswith("/api/predict")) as answer:
        page.set_input_files("#file-input", str(path))
    result = answer.value.json()
    assert answer.value.status == 200, result
    page.wait_for_selector(f"#caption:has-text('{path.name}')")

    names = page.locator(".finding .name").all_inner_texts()
    by_probability = sorted(result["findings"], key=lambda f: -f["probability"])
    assert names == [f["name"] for f in by_probability]
    assert page.is_visible("#xray") and page.is_hidden("#heatmap")

    top = by_probability[0]
    page.click(f".finding[data-finding='{top['name']}']")
    page.wait_for_function("() => { const h = document.getElementById('heatmap');"
                           " return !h.hidden && h.complete && h.naturalWidth > 0; }")
    assert page.get_attribute("#heatmap", "data-finding") == top["name"]
    assert page.locator("#boxes rect").count() == len(top["boxes"])
    assert page.get_attribute(".finding.selected", "data-finding") == top["name"]
    # the overlay covers the image exactly
    xray, heat = page.locator("#xray").bounding_box(), page.locator("#heatmap").bounding_box()
    assert xray["width"] > 100
    assert all(abs(xray[k] - heat[k]) < 1.5 for k in ("x", "y", "width", "height"))

    page.fill("#opacity", "35")
    page.dispatch_event("#opacity", "input")
    assert page.eval_on_selector("#heatmap", "h => h.style.opacity") == "0.35"
    _screenshot(page, shot)


def test_viewer_end_to_end(browser, live_server, phantom_png, make_dicom, tmp_path):
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    outside, posts = [], []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.on("request", lambda r: None if r.url.startswith(live_server) or r.url.startswith(
        "data:") or r.url.startswith("blob:") else outside.append(r.url))
    page.goto(live_server + "/")
    page.wait_for_selector("#model-info:has-text('resnet18')")
    assert "64 px" in page.inner_text("#model-info")
    _screenshot(page, "viewer_empty.png")

    _upload_and_check(page, phantom_png, "viewer_phantom.png")

    # drag and drop, with a DICOM file this time: the page shows the server's rendering of it
    dicom = make_dicom(tmp_path / "phantom.dcm", np.asarray(Image.open(phantom_png)))
    page.evaluate("""([name, b64]) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const transfer = new DataTransfer();
        transfer.items.add(new File([bytes], name, {type: "application/dicom"}));
        document.getElementById("dropzone").dispatchEvent(
            new DragEvent("drop", {dataTransfer: transfer, bubbles: true}));
    }""", [dicom.name, base64.b64encode(dicom.read_bytes()).decode()])
    page.wait_for_selector("#caption:has-text('phantom.dcm · 384×384 px')")
    assert page.locator(".finding").count() == 14
    assert page.evaluate("document.getElementById('xray').naturalWidth") == 384

    if NIH_IMAGE.is_file():  # the real image, when the project's data is beside the checkout
        page.click("#another")  # opens the file chooser; set_input_files answers it
        _upload_and_check(page, NIH_IMAGE, "viewer_nih.png")

    text = tmp_path / "report.txt"
    text.write_text("FINDINGS: no acute cardiopulmonary process.\n")
    page.set_input_files("#file-input", str(text))
    page.wait_for_selector("#message:has-text('not a PNG, JPEG or DICOM')")
    _screenshot(page, "viewer_refused.png")

    big = tmp_path / "huge.png"  # over the 1 MB cap of the test server: refused before upload
    big.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(2 * 2**20))
    posts_before = len(posts)
    page.set_input_files("#file-input", str(big))
    page.wait_for_selector("#message:has-text('the limit is 1 MB')")
    assert len(posts) == posts_before  # nothing was sent

    assert errors == [] and outside == []
    page.close()
