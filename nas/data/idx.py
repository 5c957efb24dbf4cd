"""IDX files (the MNIST file format), plain or gzipped, and folders of them.

An IDX file is two zero bytes, a type code, the number of dimensions ``n``, ``n`` big-endian
uint32 sizes, then the data in C order. Image files must hold uint8 data of shape
``[N, H, W]`` (a channel axis is added: ``[N, H, W, 1]``) or ``[N, H, W, C]``; label files
uint8 or int32 data of shape ``[N]``.
"""
from __future__ import annotations

import gzip
import re
import zlib
from pathlib import Path

import numpy as np

from nas.errors import InputError

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
FASHION_MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte.gz", "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz", "test_labels": "t10k-labels-idx1-ubyte.gz",
}


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (``.gz`` or plain). Raises InputError naming the file if corrupt."""
    p = Path(path)
    try:
        raw = p.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:
        raise InputError(f"{p}: cannot read IDX file ({e})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES:
        raise InputError(f"{p}: not an IDX file (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise InputError(f"{p}: corrupt IDX file (truncated header)")
    shape = tuple(int(s) for s in np.frombuffer(raw, ">u4", ndim, 4))
    dtype = np.dtype(_DTYPES[raw[2]])
    count = int(np.prod(shape))
    if len(raw) - header != count * dtype.itemsize:
        raise InputError(f"{p}: corrupt IDX file (header says {shape}, data has "
                         f"{len(raw) - header} bytes)")
    return np.frombuffer(raw, dtype, count, header).reshape(shape).astype(dtype.newbyteorder("="))


def _images(path: Path) -> np.ndarray:
    x = read_idx(path)
    if x.dtype != np.uint8 or x.ndim not in (3, 4):
        raise InputError(f"{path}: images must be uint8 [N,H,W] or [N,H,W,C], got {x.dtype} {x.shape}")
    return x[..., None] if x.ndim == 3 else x


def _labels(path: Path, n: int) -> np.ndarray:
    y = read_idx(path)
    if y.ndim != 1 or y.dtype.kind not in "iu":
        raise InputError(f"{path}: labels must be integers of shape [N], got {y.dtype} {y.shape}")
    if len(y) != n:
        raise InputError(f"{path}: {len(y)} labels for {n} images")
    if len(y) and y.min() < 0:
        raise InputError(f"{path}: negative label {int(y.min())}")
    return y.astype(np.int32)


def _find(folder: Path, split_words: tuple[str, ...], kind: str) -> Path:
    pat = re.compile(rf"(^|[-_.])({'|'.join(split_words)})[-_.]{kind}[-_.]")
    hits = sorted(p for p in folder.iterdir() if p.is_file() and pat.search(p.name))
    if not hits:
        raise InputError(f"{folder}: no {split_words[0]} {kind} file "
                         f"(expected a name like {split_words[0]}-{kind}-idx*-ubyte[.gz])")
    if len(hits) > 1:
        raise InputError(f"{folder}: several {split_words[0]} {kind} files: "
                         f"{', '.join(h.name for h in hits)}")
    return hits[0]


def load_idx_folder(folder: str | Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{"train": (images, labels), "test": (images, labels)}`` from a folder of IDX files.

    Files are found by name: ``*train-images*``, ``*train-labels*`` and ``*t10k-*`` or
    ``*test-*`` for the test split (gzipped or not). Missing, ambiguous or corrupt files raise
    InputError naming them.
    """
    d = Path(folder)
    if not d.is_dir():
        raise InputError(f"data.path: {folder!r} is not a folder of IDX files")
    out = {}
    for split, words in (("train", ("train",)), ("test", ("t10k", "test"))):
        x = _images(_find(d, words, "images"))
        out[split] = (x, _labels(_find(d, words, "labels"), len(x)))
    if out["train"][0].shape[1:] != out["test"][0].shape[1:]:
        raise InputError(f"{d}: train images {out['train'][0].shape[1:]} and test images "
                         f"{out['test'][0].shape[1:]} differ in shape")
    return out


def load_fashion_mnist(folder: str | Path = FASHION_MNIST_DIR) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Fashion-MNIST from Debian's ``dataset-fashion-mnist`` files (InputError if absent)."""
    d = Path(folder)
    missing = [f for f in FASHION_MNIST_FILES.values() if not (d / f).is_file()]
    if missing:
        raise InputError(f"Fashion-MNIST not found ({d}/{missing[0]} missing); "
                         "run: apt-get install -y dataset-fashion-mnist")
    f = {k: d / v for k, v in FASHION_MNIST_FILES.items()}
    out = {}
    for split in ("train", "test"):
        x = _images(f[f"{split}_images"])
        out[split] = (x, _labels(f[f"{split}_labels"], len(x)))
    return out
