"""Input checks: what cannot be a radiograph is flagged with the reason; phantoms pass."""

import numpy as np
from PIL import Image, ImageDraw

from chestx.data.images import read_gray
from chestx.synth.cohort import synthesize
from chestx.trust.checks import check_image, chroma


def _text_page() -> np.ndarray:
    page = Image.new("L", (400, 500), 255)
    draw = ImageDraw.Draw(page)
    for row in range(30):
        draw.text((20, 10 + row * 16), "The quick brown fox jumps over the lazy dog " * 2,
                  fill=0)
    return np.asarray(page)


def test_each_check_names_its_reason(tmp_path):
    rng = np.random.default_rng(0)
    assert check_image(np.full((300, 300), 90, np.uint8))[0].startswith("near-constant")
    assert check_image(rng.integers(0, 256, (40, 50), dtype=np.uint8))[0].startswith(
        "too-small: 50 x 40 px")
    smooth = np.add.outer(np.arange(300), np.arange(300)) % 256
    assert check_image(smooth.astype(np.uint8)) == []
    assert check_image(_text_page())[0].startswith("two-tone")
    photo = np.stack([np.linspace(0, 255, 200)[None].repeat(200, 0),
                      np.full((200, 200), 40.0), np.linspace(255, 0, 200)[:, None].repeat(200, 1)],
                     axis=-1).astype(np.uint8)
    Image.fromarray(photo).save(tmp_path / "photo.png")
    Image.fromarray(photo[..., 0]).convert("RGB").save(tmp_path / "gray_as_rgb.png")
    assert chroma(tmp_path / "photo.png") > 50
    assert chroma(tmp_path / "gray_as_rgb.png") == 0
    gray = np.asarray(Image.open(tmp_path / "photo.png").convert("L"))
    assert any(r.startswith("colour") for r in check_image(gray, chroma(tmp_path / "photo.png")))


def test_noise_is_flagged_and_phantoms_pass(tmp_path):
    rng = np.random.default_rng(1)
    noise = check_image(rng.integers(0, 256, (256, 256), dtype=np.uint8))
    assert len(noise) == 1 and noise[0].startswith("noise: neighbouring pixels correlate")
    assert abs(float(noise[0].split()[4])) < 0.05
    data = synthesize(tmp_path / "ph", n=12, size=128, seed=5, workers=1)
    images = sorted((data / "images").glob("*.png"))
    assert len(images) == 12
    for path in images:
        assert check_image(read_gray(path), chroma(path)) == [], path.name
