"""The viewer's API with a calibrated checkpoint: trust fields, the banner's data, the card."""

import io
import warnings

import numpy as np
import pytest
from PIL import Image

with warnings.catch_warnings():  # starlette's TestClient says it runs on httpx; not ours
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient


def _png(gray: np.ndarray, mode: str = "L") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(gray).convert(mode).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def client(trust_run):
    from chestx.serve import load_app

    with TestClient(load_app(trust_run, max_upload_mb=1)) as test_client:
        yield test_client


def test_model_info_links_the_card(client, trust_run):
    info = client.get("/api/model").json()
    assert info["card_url"] == "api/card" and info["threshold"] is None
    assert "operating point youden (per finding)" in info["trust"]
    card = client.get("/api/card")
    assert card.status_code == 200 and card.headers["content-type"].startswith("text/markdown")
    assert card.text.startswith("# Model card: TRAINED ON SYNTHETIC PHANTOMS")


def test_flagged_upload_still_has_findings(client, trust_data):
    rng = np.random.default_rng(3)
    colourful = np.stack([rng.integers(0, 256, (96, 96)).astype(np.uint8),
                          np.zeros((96, 96), np.uint8), np.full((96, 96), 200, np.uint8)], -1)
    body = client.post("/api/predict", files={"file": ("c.png", _png(colourful, "RGB"),
                                                       "image/png")}).json()
    assert body["out_of_distribution"] is True
    assert any(r.startswith("colour") for r in body["ood_reasons"])
    assert len(body["findings"]) == 14 and body["calibrated"] is True
    assert all("threshold" in f for f in body["findings"])
    phantom = np.asarray(Image.open(sorted((trust_data / "images").glob("*.png"))[0]))
    body = client.post("/api/predict", files={"file": ("p.png", _png(phantom), "image/png")}
                       ).json()
    assert body["ood_reasons"] == [] or body["ood_reasons"][0].startswith("mahalanobis-layers")
    assert isinstance(body["ood_score"], float)
