"""Image folders (one sub-folder per class, the ImageNet layout on disk) as random-access sources.

Layout of ``data.path``, either::

    train/<class>/*.jpg|*.jpeg|*.png     (any size; grayscale, RGBA, palette images are converted to RGB)
    val/<class>/...   (or test/<class>/...)  the held-out split, used as the test split

or simply ``<class>/*.jpg`` (a folder of class folders): every 10th image of each class (file
names sorted; at least one of a class with two or more) is then held out as the test split.

Classes are the sub-folders of ``train/`` in sorted order (label = position). Scanning reads
directory entries only; images are opened when a record is read, in the pipeline's workers.
An unreadable path, a missing ``train/`` folder, an empty class folder, a split without images
and a held-out class that is not a training class each raise InputError naming it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nas.errors import InputError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
TEST_FOLDERS = ("val", "test")


@dataclass(frozen=True)
class FolderSource:
    """Random access over image files: record ``i`` is ``(name, encoded bytes or None, label)``.

    Paths are kept as one NumPy array of bytes (file-system encoding; about one byte per character,
    compact when pickled into worker processes).
    """

    paths: np.ndarray  # bytes [N] (dtype S)
    labels: np.ndarray  # int32 [N]

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        name = os.fsdecode(self.paths[i])
        try:
            with open(name, "rb") as f:
                data = f.read()
        except OSError:
            data = None
        return name, data, int(self.labels[i])

    def label(self, i: int) -> int:
        return int(self.labels[i])


def _images_in(folder: Path) -> np.ndarray:
    try:
        with os.scandir(folder) as it:
            return np.array(sorted(os.fsencode(e.path) for e in it
                                   if e.is_file() and e.name.lower().endswith(IMAGE_SUFFIXES)), dtype=bytes)
    except OSError as e:
        raise InputError(f"data.path: cannot read {folder} ({e.strerror})") from None


def _class_folders(split_dir: Path) -> list[Path]:
    try:
        with os.scandir(split_dir) as it:
            return sorted(Path(e.path) for e in it if e.is_dir())
    except OSError as e:
        raise InputError(f"data.path: cannot read {split_dir} ({e.strerror})") from None


def scan_split(split_dir: Path, classes: list[str] | None = None) -> tuple[FolderSource, list[str]]:
    """``(source, class names)`` of one split folder; ``classes`` fixes the label of each name
    (a held-out split must use the training classes)."""
    folders = _class_folders(split_dir)
    if not folders:
        raise InputError(f"data.path: {split_dir} has no class folders (expected {split_dir}/<class>/*.jpg)")
    names = [f.name for f in folders]
    index = {c: i for i, c in enumerate(classes if classes is not None else names)}
    paths, labels = [], []
    for folder in folders:
        if folder.name not in index:
            raise InputError(f"data.path: class folder {folder} is not a training class "
                             f"(label out of range for {len(index)} classes)")
        files = _images_in(folder)
        if not len(files):
            raise InputError(f"data.path: class folder {folder} has no images ({', '.join(IMAGE_SUFFIXES)})")
        paths.append(files)
        labels.append(np.full(len(files), index[folder.name], np.int32))
    return FolderSource(np.concatenate(paths), np.concatenate(labels)), names


def scan_image_folder(root: str | Path) -> tuple[FolderSource, FolderSource, list[str]]:
    """``(train, test, classes)`` of an ImageNet-layout folder (see module doc)."""
    root = Path(root)
    if not str(root) or not root.is_dir():
        raise InputError(f"data.path: {str(root)!r} is not a folder (expected <class>/*.jpg, or train/<class>/*.jpg "
                         f"and val/<class>/*.jpg, under it)")
    if not os.access(root, os.R_OK | os.X_OK):
        raise InputError(f"data.path: {root} is not readable")
    if not (root / "train").is_dir():
        return _flat_folder(root)
    test_dir = next((root / t for t in TEST_FOLDERS if (root / t).is_dir()), None)
    if test_dir is None:
        raise InputError(f"data.path: {root} has no val/ or test/ folder (the held-out split)")
    train, classes = scan_split(root / "train")
    test, _ = scan_split(test_dir, classes)
    return train, test, classes


def write_synthetic_image_folder(root: str | Path, *, num_classes: int = 4, per_class: int = 8,
                                 test_per_class: int = 2, sizes: tuple[int, int] = (40, 320),
                                 seed: int = 0, quality: int = 85) -> Path:
    """Write a learnable ImageNet-layout folder of JPEGs of mixed sizes (tests, benchmarks).

    Each class is a colour and a bright square's position on a noisy gradient; width and height
    are drawn independently from ``sizes``. Every 7th image is grayscale, every 11th a PNG with
    an alpha channel, every 13th a CMYK JPEG and every 17th a PNG named ``.JPEG`` (as ImageNet's
    archives hold a few), so decoding sees the usual mix of modes and misnamed files.
    """
    from PIL import Image

    root = Path(root)
    rng = np.random.default_rng(seed)
    colours = rng.integers(40, 215, (num_classes, 3))
    k = 0
    for split, n in (("train", per_class), ("val", test_per_class)):
        for c in range(num_classes):
            d = root / split / f"n{c:08d}"
            d.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                h, w = (int(v) for v in rng.integers(sizes[0], sizes[1] + 1, 2))
                x = np.linspace(0, 60, w)[None, :, None] + rng.integers(0, 40, (h, w, 3))
                x = x + colours[c] * 0.6
                qy, qx = divmod(c % 4, 2)
                x[qy * h // 2:qy * h // 2 + h // 3, qx * w // 2:qx * w // 2 + w // 3] = colours[c]
                img = Image.fromarray(np.clip(x, 0, 255).astype(np.uint8))
                k += 1
                if k % 11 == 0:
                    img.convert("RGBA").save(d / f"{split}_{c}_{i}.png")
                elif k % 17 == 0:
                    img.save(d / f"{split}_{c}_{i}.JPEG", format="PNG")
                elif k % 13 == 0:
                    img.convert("CMYK").save(d / f"{split}_{c}_{i}.JPEG", quality=quality)
                else:
                    (img.convert("L") if k % 7 == 0 else img).save(d / f"{split}_{c}_{i}.JPEG", quality=quality)
    return root


HOLD_OUT_EVERY = 10  # a folder of class folders: every 10th image of a class is a test image


def _flat_folder(root: Path) -> tuple[FolderSource, FolderSource, list[str]]:
    """``(train, test, classes)`` of a folder of class folders (no train/ and val/ split)."""
    if (root / "val").is_dir() or (root / "test").is_dir():
        raise InputError(f"data.path: {root} has a held-out folder but no train/ folder (expected train/<class>/*.jpg)")
    everything, classes = scan_split(root)
    test = np.zeros(len(everything), bool)
    for c in range(len(classes)):
        idx = np.flatnonzero(everything.labels == c)
        if len(idx) >= 2:
            test[idx[HOLD_OUT_EVERY - 1::HOLD_OUT_EVERY] if len(idx) >= HOLD_OUT_EVERY else idx[-1:]] = True
    if len(classes) < 2:
        raise InputError(f"data.path: {root} has {len(classes)} class folder; a classifier needs at least two")

    def part(mask):
        return FolderSource(everything.paths[mask], everything.labels[mask])

    return part(~test), part(test), classes
