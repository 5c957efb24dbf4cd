"""The :class:`Dataset` value and :func:`load_dataset` (one entry point for every source).

Splits hold NumPy arrays: ``images`` uint8 ``[N, H, W, C]`` and ``labels`` int32 ``[N]``.
``val`` is carved from the source's training split with a permutation seeded by
``DataConfig.seed`` (``val_size`` examples); ``train`` is the rest; ``test`` is the source's
test split, used only by the final report. Per-channel ``mean``/``std`` (in [0, 1] units) are
computed on ``train`` and used by :func:`nas.data.normalize`.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nas.errors import InputError


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
    train: Split  # or a nas.data.stream.StreamSplit (``streaming``)
    val: Split
    test: Split
    num_classes: int
    input_shape: tuple[int, int, int]  # (H, W, C)
    mean: tuple[float, ...]  # per channel, pixel values scaled to [0, 1]
    std: tuple[float, ...]

    @property
    def streaming(self) -> bool:
        return bool(getattr(self.train, "streaming", False))


def at_resolution(split, resolution: int):
    """``split`` as a network with input side ``resolution`` is scored (and recalibrated) on: the
    one rule for every data source. A streamed split (image folder, TFDS records) is decoded at
    ``resolution`` from the original images (:meth:`nas.data.stream.StreamSplit.at`: shorter side
    to ``resolution / 0.875``, centre crop). An in-memory split is returned as stored: its arrays
    are the only copy of the images and the only size a network trains at in memory (several
    resolutions need streamed data), so resampling them would score a rescaled copy, which
    streamed evaluation never does. (With the shipped in-memory spaces the architecture's
    resolution is the stored size anyway.)"""
    return split.at(resolution) if getattr(split, "streaming", False) else split


def channel_stats(images: np.ndarray, max_examples: int = 10000) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std of uint8 images scaled to [0, 1] (first ``max_examples``)."""
    x = images[:max_examples].astype(np.float64) / 255.0
    if x.size == 0:
        c = images.shape[-1]
        return (0.5,) * c, (0.5,) * c
    axes = tuple(range(x.ndim - 1))
    std = np.maximum(x.std(axis=axes), 1e-3)
    return tuple(float(v) for v in x.mean(axis=axes)), tuple(float(v) for v in std)


def stream_stats(split, n: int = 256, resolution: int = 64) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """:func:`channel_stats` of the first ``n`` examples of a :class:`nas.data.stream.StreamSplit`,
    centre-cropped at ``resolution`` (at most the split's); InputError when none decodes."""
    batches = split.take(n).at(min(resolution, split.resolution)).calibration(min(n, len(split)), 1)
    if not batches:
        raise InputError(f"data: no decodable image among the first {n} examples of {split.name}")
    return channel_stats(np.concatenate(batches))


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


def _image_folder(cfg):
    raise AssertionError("image folders always stream")  # listed for validation; see load_dataset


# data.source -> loader(DataConfig) -> (splits {"train", "test": (images, labels)}, name, num_classes | None)
SOURCES = {"fashion_mnist": _fashion_mnist, "idx": _idx, "tfds": _tfds, "image_folder": _image_folder}
IN_MEMORY_LIMIT_BYTES = 2 << 30  # data.stream "auto": TFDS sets of fixed-shape images below this load into RAM


IMAGENET_MEAN_STD = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))  # data.normalize=imagenet (torchvision, OFA)


def val_count(cfg, n: int) -> int:
    """Validation examples carved from ``n`` training examples: ``data.val_fraction`` of them (at
    least one) when it is set, else ``data.val_size``."""
    frac = getattr(cfg, "val_fraction", 0.0)
    if frac:
        if not 0 < frac < 1:
            raise InputError(f"data.val_fraction: must be in (0, 1), got {frac!r}")
        return max(1, int(round(frac * n)))
    return cfg.val_size


def check_source(name: str) -> str:
    """``name`` if it is a registered data source, else InputError naming the known ones."""
    if name not in SOURCES:
        raise InputError(f"data.source: unknown source {name!r} (known: {', '.join(SOURCES)})")
    return name


def check_location(cfg) -> None:
    """Where the data should be, checked without reading it: InputError naming ``data.path`` and
    how to give it when an idx or image_folder source has no path, or a TFDS dataset given no
    ``data.path`` is not prepared in TFDS's default folder (``TFDS_DATA_DIR`` or
    ~/tensorflow_datasets). Cheap and JAX-free: run before anything else (multi-host set-up)."""
    check_source(cfg.source)
    if cfg.source == "image_folder" and not cfg.path:
        raise InputError("data.path: no data given; pass the image folder with --set data.path=DIR "
                         "(DIR/<class>/*.jpg, or DIR/train/<class>/*.jpg and DIR/val/<class>/*.jpg)")
    if cfg.source == "idx" and not cfg.path:
        raise InputError("data.path: a folder of IDX files is required for data.source 'idx' (--set data.path=DIR)")
    if cfg.source == "tfds" and not cfg.path:
        default = Path(os.environ.get("TFDS_DATA_DIR") or Path.home() / "tensorflow_datasets")
        if cfg.name and not (default / cfg.name).is_dir():
            raise InputError(f"data.path: no data given and TFDS dataset {cfg.name!r} is not prepared in {default}; "
                             f"prepare it once (tfds build {cfg.name} --file_format=array_record --data_dir=DIR) "
                             "and pass --set data.path=DIR, or give a folder of images with "
                             "--set data.source=image_folder data.path=DIR")


def load_dataset(cfg) -> Dataset:
    """Load the dataset a :class:`nas.config.DataConfig` names, in memory or streaming.

    Sources (:data:`SOURCES`): ``"fashion_mnist"`` (Debian files under
    /usr/share/datasets/fashion-mnist, ``cfg.path`` overrides the folder), ``"idx"`` (a folder
    of IDX files, ``cfg.path``), ``"tfds"`` (TFDS dataset ``cfg.name`` prepared as array_record
    in ``cfg.path``), ``"image_folder"`` (``cfg.path`` with ``train/<class>/`` and
    ``val/<class>/``, :mod:`nas.data.imagefolder`). ``cfg.stream``: ``"auto"`` keeps small
    fixed-shape sets in memory (IDX, Fashion-MNIST, TFDS sets under
    :data:`IN_MEMORY_LIMIT_BYTES`, e.g. CIFAR-10) and streams the rest (image folders, TFDS sets of
    variable-size or many images) through :mod:`nas.data.stream`; ``"on"``/``"off"`` force it.
    Errors (missing/corrupt files, unknown source, bad sizes) raise InputError.
    """
    check_source(cfg.source)
    stream = getattr(cfg, "stream", "auto")
    if cfg.source == "image_folder":
        if stream == "off":
            raise InputError("data.stream: image folders are always streamed (set data.stream to auto or on)")
        return _streaming_dataset(cfg)
    if cfg.source == "tfds" and stream != "off":
        return _streaming_dataset(cfg, force=stream == "on")
    if stream == "on":
        raise InputError(f"data.stream: source {cfg.source!r} is read into memory (stream only tfds, image_folder)")
    splits, name, num_classes = SOURCES[cfg.source](cfg)
    return make_dataset(name, splits["train"], splits["test"], num_classes=num_classes,
                        val_size=val_count(cfg, len(splits["train"][1])), seed=cfg.seed, limit_train=cfg.limit_train,
                        limit_eval=cfg.limit_eval)


def _streaming_dataset(cfg, force: bool = True) -> Dataset:
    """Dataset of :class:`nas.data.stream.StreamSplit` splits (val carved from train, seeded)."""
    from nas.data.stream import StreamSplit

    if cfg.source == "image_folder":
        from nas.data.imagefolder import scan_image_folder

        train_src, test_src, classes = scan_image_folder(cfg.path)
        name, num_classes = f"image_folder:{cfg.path}", len(classes)
    else:
        from nas.data.tfds_source import tfds_streaming_sources

        train_src, test_src, num_classes, nbytes = tfds_streaming_sources(cfg.name, cfg.path)
        if not force and nbytes is not None and nbytes <= IN_MEMORY_LIMIT_BYTES:
            return load_dataset(dataclasses.replace(cfg, stream="off"))
        name = f"tfds:{cfg.name}"
    n = len(train_src)
    if n == 0 or len(test_src) == 0:
        raise InputError(f"data.path: {name} has an empty split (train: {n}, test: {len(test_src)} examples)")
    val_size = val_count(cfg, n)
    if val_size < 0 or val_size >= n:
        raise InputError(f"data.val_size: must be in [0, {n}) for {name} ({n} training examples), got {val_size}")
    res = cfg.image_size
    # Positions stay in a seeded random order: an image folder lists its files class by class,
    # and every prefix of a split (data.limit_*, the batches BatchNorm is recalibrated on, the
    # first evaluation batches the search scores on, the channel statistics) must span the classes.
    rng = np.random.default_rng(cfg.seed)
    perm = rng.permutation(n)
    val_pos, train_pos = perm[:val_size], perm[val_size:]

    def split(src, pos, limit, tag):
        return StreamSplit(f"{name}:{tag}", src, pos, num_classes, res, cfg.workers,
                           channels=cfg.channels).take(limit)

    tr = split(train_src, train_pos, cfg.limit_train, "train")
    va = split(train_src, val_pos, cfg.limit_eval, "val")
    te = split(test_src, rng.permutation(len(test_src)), cfg.limit_eval, "test")
    mean, std = IMAGENET_MEAN_STD if getattr(cfg, "normalize", "dataset") == "imagenet" else stream_stats(tr)
    return Dataset(name, tr, va, te, num_classes, (res, res, cfg.channels), mean, std)
