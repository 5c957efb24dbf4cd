"""The elastic-resolution benchmark's data: its classes must survive at 32 px and fade at 16 px,
or the benchmark could not tell resolutions apart (experiments/benchmarks/elastic_resolution.py)."""
import io

import numpy as np
from PIL import Image

from experiments.benchmarks.elastic_resolution import CLASSES, grating_image, write_gratings
from nas.data.stream import center_crop


def _orientation_correct(img: np.ndarray, label: int) -> bool:
    """A fixed detector: fine-frequency power of waves along y against waves along x."""
    g = img.astype(np.float32).mean(-1)
    p = np.abs(np.fft.fft2(g - g.mean())) ** 2
    fine = np.abs(np.fft.fftfreq(g.shape[0])) >= 1 / 5
    along_y = p[fine][:, :2].sum()
    along_x = p[:, fine][:2].sum()
    return (along_y > along_x) == (CLASSES[label] == "horizontal")


def _detector_accuracy(resolution: int, n: int = 200) -> float:
    rng = np.random.default_rng(7)
    hits = []
    for i in range(n):
        label = CLASSES.index("horizontal" if i % 2 else "vertical")
        h, w = (int(v) for v in rng.integers(48, 81, 2))
        buf = io.BytesIO()
        Image.fromarray(grating_image(rng, label, h, w)).save(buf, "JPEG", quality=95)
        img = Image.open(buf)
        img.load()
        hits.append(_orientation_correct(center_crop(img, resolution), label))
    return float(np.mean(hits))


def test_grating_classes_fade_with_resolution():
    acc = {r: _detector_accuracy(r) for r in (16, 32)}
    assert acc[32] >= 0.95, acc
    assert acc[16] <= 0.8, acc


def test_write_gratings_makes_mixed_size_class_folders(tmp_path):
    root = write_gratings(tmp_path, per_class=3, test_per_class=2)
    for split, n in (("train", 3), ("val", 2)):
        folders = sorted(p.name for p in (root / split).iterdir())
        assert folders == sorted(CLASSES)
        assert all(len(list((root / split / c).glob("*.jpg"))) == n for c in CLASSES)
    sizes = {Image.open(p).size for p in root.rglob("*.jpg")}
    assert len(sizes) > 1 and all(48 <= s <= 80 for size in sizes for s in size)
