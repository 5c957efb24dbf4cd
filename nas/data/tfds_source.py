"""Any TFDS dataset prepared in ``data_dir``, read through TFDS data sources (no TensorFlow).

``tfds.data_source(name, data_dir=..., download=False)`` opens the dataset's array_record
files; nothing is downloaded. The dataset must have been prepared with
``file_format="array_record"``. Images and labels are the dataset's ``supervised_keys``
(else the features ``"image"`` and ``"label"``); all images must share one shape and be uint8.
The test split is ``"test"`` (or ``"validation"`` when there is no test split).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from nas.errors import InputError


def _open(name: str, data_dir: str):
    import tensorflow_datasets as tfds

    if not name:
        raise InputError("data.name: a TFDS dataset name is required for data.source 'tfds'")
    if data_dir and "://" not in data_dir and not Path(data_dir).is_dir():
        raise InputError(f"data.path: TFDS data_dir {data_dir!r} is not a folder")
    try:
        return tfds.data_source(name, data_dir=data_dir or None, download=False)
    except Exception as e:  # DatasetNotFoundError, missing files, unsupported file format
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InputError(f"data.name: cannot open TFDS dataset {name!r} in {data_dir or 'default data_dir'} "
                         f"(prepared with file_format='array_record'?): {first}") from None


def _keys(source) -> tuple[str, str]:
    info = source.dataset_info
    sk = info.supervised_keys
    if isinstance(sk, tuple) and len(sk) == 2 and all(isinstance(k, str) for k in sk):
        return sk
    return "image", "label"


def _read_split(name: str, split: str, source, image_key: str, label_key: str):
    n = len(source)
    items = source.__getitems__(list(range(n))) if n else []
    try:
        x = [np.asarray(it[image_key]) for it in items]
        y = np.array([int(it[label_key]) for it in items], dtype=np.int32)
    except KeyError as e:
        raise InputError(f"data.name: TFDS dataset {name!r} split {split!r} has no feature {e}") from None
    shapes = {a.shape for a in x}
    if len(shapes) > 1:
        raise InputError(f"data.name: TFDS dataset {name!r} has images of several shapes "
                         f"({sorted(shapes)[:3]}...); resize it when preparing")
    images = np.stack(x) if x else np.zeros((0, 1, 1, 1), np.uint8)
    if images.dtype != np.uint8:
        raise InputError(f"data.name: TFDS dataset {name!r}: images must be uint8, got {images.dtype}")
    if images.ndim == 3:
        images = images[..., None]
    return images, y


def load_tfds(name: str, data_dir: str) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], int]:
    """``({"train": (images, labels), "test": (images, labels)}, num_classes)``.

    Raises InputError naming ``data.name`` / ``data.path`` when the dataset cannot be opened
    or does not hold fixed-shape uint8 images with integer labels.
    """
    sources = _open(name, data_dir)
    test_split = "test" if "test" in sources else "validation"
    for split in ("train", test_split):
        if split not in sources:
            raise InputError(f"data.name: TFDS dataset {name!r} has no {split!r} split "
                             f"(splits: {', '.join(sources)})")
    image_key, label_key = _keys(sources["train"])
    out = {"train": _read_split(name, "train", sources["train"], image_key, label_key),
           "test": _read_split(name, test_split, sources[test_split], image_key, label_key)}
    label_feature = sources["train"].dataset_info.features[label_key]
    num_classes = getattr(label_feature, "num_classes", None)
    if not num_classes:
        num_classes = int(max(out["train"][1].max(initial=0), out["test"][1].max(initial=0))) + 1
    return out, int(num_classes)


class TfdsSource:
    """Random access to one split of a prepared TFDS dataset: record ``i`` is ``(name, image,
    label)``, the image still encoded (JPEG/PNG bytes) when the feature is a ``tfds.features.Image``
    (decoded in the pipeline's workers), else the stored uint8 array. Picklable: each process
    opens the array_record files itself."""

    def __init__(self, name: str, data_dir: str, split: str, image_key: str, label_key: str, length: int,
                 encoded: bool):
        self.name, self.data_dir, self.split = name, data_dir, split
        self.image_key, self.label_key, self.length, self.encoded = image_key, label_key, length, encoded
        self._source = None

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k != "_source"} | {"_source": None}

    def __len__(self) -> int:
        return self.length

    def _open(self):
        if self._source is None:
            import tensorflow_datasets as tfds

            decoders = {self.image_key: tfds.decode.SkipDecoding()} if self.encoded else None
            self._source = tfds.data_source(self.name, data_dir=self.data_dir or None, download=False,
                                            decoders=decoders)[self.split]
        return self._source

    def __getitem__(self, i: int):
        name = f"{self.name}/{self.split}[{i}]"
        try:
            rec = self._open()[int(i)]
            image = rec[self.image_key]
        except Exception:  # a corrupt record: skipped like an undecodable file
            return name, None, 0
        return name, image if self.encoded else np.asarray(image), int(rec[self.label_key])


def tfds_streaming_sources(name: str, data_dir: str):
    """``(train TfdsSource, test TfdsSource, num_classes, in_memory_bytes)`` of a prepared TFDS
    dataset; ``in_memory_bytes``: the size of its training images as one uint8 array when they
    have a fixed shape, else None (variable size: must stream)."""
    import tensorflow_datasets as tfds

    sources = _open(name, data_dir)
    test_split = "test" if "test" in sources else "validation"
    for split in ("train", test_split):
        if split not in sources:
            raise InputError(f"data.name: TFDS dataset {name!r} has no {split!r} split "
                             f"(splits: {', '.join(sources)})")
    image_key, label_key = _keys(sources["train"])
    features = sources["train"].dataset_info.features
    if image_key not in features or label_key not in features:
        raise InputError(f"data.name: TFDS dataset {name!r} has no feature {image_key!r} or {label_key!r}")
    feature = features[image_key]
    encoded = isinstance(feature, tfds.features.Image)
    shape = tuple(getattr(feature, "shape", ()) or ())
    fixed = bool(shape) and all(isinstance(d, int) and d > 0 for d in shape)
    nbytes = int(np.prod(shape)) * len(sources["train"]) if fixed else None
    num_classes = int(getattr(features[label_key], "num_classes", 0) or 0)
    out = [TfdsSource(name, data_dir, split, image_key, label_key, len(sources[split]), encoded)
           for split in ("train", test_split)]
    return out[0], out[1], num_classes, nbytes
