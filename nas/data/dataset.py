"""The :class:`Dataset` value and :func:`load_dataset` (one entry point for every source).

Splits hold NumPy arrays: ``images`` uint8 ``[N, H, W, C]`` and ``labels`` int32 ``[N]``.
``val`` is carved from the source's training split with a permutation seeded by
``DataConfig.seed`` (``val_size`` examples); ``train`` is the rest; ``test`` is the source's
test split, used only by the final report. Per-channel ``mean``/``std`` (in [0, 1] units) are
computed on ``train`` and used by :func:`nas.data.normalize`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from search_spaces.arch import InputError


@dataclass(frozen=True)
class Split:
    images: np.ndarray  # uint8 [N, H, W, C]
    labels: np.ndarray  # int32 [N]

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, n: int) -> Split:
        """The first ``n`` examples (all when ``n <= 0``)."""
        return self if n <= 0 else Split(self.images[:n], self.labels[:n])


@dataclass(frozen=True)
class Dataset:
    name: str
    train: Split
    val: Split
    test: Split
    num_classes: int
    input_shape: tuple[int, int, int]  # (H, W, C)
    mean: tuple[float, ...]  # per channel, pixel values scaled to [0, 1]
    std: tuple[float, ...]


def channel_stats(images: np.ndarray, max_examples: int = 10000) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std of uint8 images scaled to [0, 1] (first ``max_examples``)."""
    x = images[:max_examples].astype(np.float64) / 255.0
    if x.size == 0:
        c = images.shape[-1]
        return (0.5,) * c, (0.5,) * c
    axes = tuple(range(x.ndim - 1))
    std = np.maximum(x.std(axis=axes), 1e-3)
    return tuple(float(v) for v in x.mean(axis=axes)), tuple(float(v) for v in std)


def make_dataset(name: str, train: tuple, test: tuple, *, num_classes: int | None = None,
                 val_size: int = 0, seed: int = 0, limit_train: int = 0, limit_eval: int = 0) -> Dataset:
    """Build a Dataset from ``(images, labels)`` arrays of the source's train and test splits.

    Raises InputError when ``val_size`` leaves no training examples or labels exceed
    ``num_classes``.
    """
    x, y = np.asarray(train[0]), np.asarray(train[1], np.int32)
    if val_size < 0 or val_size >= len(y):
        raise InputError(f"data.val_size: must be in [0, {len(y)}) for {name} "
                         f"({len(y)} training examples), got {val_size}")
    perm = np.random.default_rng(seed).permutation(len(y))
    val_idx, train_idx = np.sort(perm[:val_size]), np.sort(perm[val_size:])
    tr = Split(x[train_idx], y[train_idx]).take(limit_train)
    va = Split(x[val_idx], y[val_idx]).take(limit_eval)
    te = Split(np.asarray(test[0]), np.asarray(test[1], np.int32)).take(limit_eval)
    top = int(max(y.max(initial=0), te.labels.max(initial=0))) + 1
    num_classes = num_classes or top
    if top > num_classes:
        raise InputError(f"{name}: label {top - 1} out of range for {num_classes} classes")
    mean, std = channel_stats(tr.images)
    return Dataset(name, tr, va, te, int(num_classes), tuple(int(s) for s in x.shape[1:]), mean, std)


def _fashion_mnist(cfg):
    from nas.data import idx

    return idx.load_fashion_mnist(cfg.path or idx.FASHION_MNIST_DIR), "fashion_mnist", 10


def _idx(cfg):
    from nas.data import idx

    if not cfg.path:
        raise InputError("data.path: a folder of IDX files is required for data.source 'idx'")
    return idx.load_idx_folder(cfg.path), f"idx:{cfg.path}", None


def _tfds(cfg):
    from nas.data import tfds_source

    splits, num_classes = tfds_source.load_tfds(cfg.name, cfg.path)
    return splits, f"tfds:{cfg.name}", num_classes


# data.source -> loader(DataConfig) -> (splits {"train", "test": (images, labels)}, name, num_classes | None)
SOURCES = {"fashion_mnist": _fashion_mnist, "idx": _idx, "tfds": _tfds}


def check_source(name: str) -> str:
    """``name`` if it is a registered data source, else InputError naming the known ones."""
    if name not in SOURCES:
        raise InputError(f"data.source: unknown source {name!r} (known: {', '.join(SOURCES)})")
    return name


def load_dataset(cfg) -> Dataset:
    """Load the dataset a :class:`nas.config.DataConfig` names.

    Sources (:data:`SOURCES`): ``"fashion_mnist"`` (Debian files under
    /usr/share/datasets/fashion-mnist, ``cfg.path`` overrides the folder), ``"idx"`` (a folder
    of IDX files, ``cfg.path``), ``"tfds"`` (TFDS dataset ``cfg.name`` prepared as array_record
    in ``cfg.path``). Errors (missing/corrupt files, unknown source, bad sizes) raise InputError.
    """
    splits, name, num_classes = SOURCES[check_source(cfg.source)](cfg)
    return make_dataset(name, splits["train"], splits["test"], num_classes=num_classes,
                        val_size=cfg.val_size, seed=cfg.seed, limit_train=cfg.limit_train,
                        limit_eval=cfg.limit_eval)
