"""Streaming splits: random-access sources decoded and augmented by Grain pipelines.

A :class:`StreamSplit` is a random-access source (an image folder,
:class:`nas.data.imagefolder.FolderSource`, or TFDS array_record records,
:class:`nas.data.tfds_source.TfdsSource`) and the positions of its examples. It has the
interface the training code asks of a split (``len``, ``train_batches``, ``eval_batches``,
``calibration``); nothing is held in memory beyond the file list.

Training (:meth:`StreamSplit.train_batches`) is one Grain ``MapDataset``: the split's positions
shuffled per epoch (``seed``), repeated, cut into global batches; global batch ``s`` is step
``s``. A process keeps only its slice of each global batch (``process_index`` of
``process_count``) and decodes only those images. Decoding a step's slice (random-resized crop,
horizontal flip, at the step's resolution) is a pure function of ``(seed, step)``, run in
``workers`` Grain worker processes, so the stream is deterministic and its iterator state is
the step number: a run resumed at step ``s`` (the checkpoint's step) sees the batches of an
uninterrupted run. With several ``resolutions``, step ``s`` uses
:func:`step_resolution`\\ ``(resolutions, seed, s)``.

Evaluation (:meth:`StreamSplit.eval_batches`) resizes the shorter side to ``r / 0.875`` and
takes the centre ``r x r`` crop, decoding at the resolution asked for (never upsampling a
smaller stored copy). Images are RGB uint8; grayscale, palette and RGBA files are converted.

A file that cannot be decoded (corrupt, truncated, unreadable) is skipped: a training slot takes
another image of the split instead, an evaluation slot is masked out. Each skipped file is
reported once on stderr with the running count, and the total when the stream ends
(:data:`SKIPPED`). A label outside ``[0, num_classes)`` raises InputError.
"""
from __future__ import annotations

import dataclasses
import io
import math
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from nas.errors import InputError

CROP_FRACTION = 0.875  # evaluation: resize the shorter side to r / CROP_FRACTION, centre crop r
RRC_SCALE = (0.08, 1.0)  # random-resized crop: area fraction and aspect ratio ranges (Inception)
RRC_RATIO = (3 / 4, 4 / 3)
MAX_SUBSTITUTES = 16  # training: tries to replace an undecodable image before giving up
_MODE = {1: "L", 3: "RGB"}  # channels -> PIL mode


# ---------------------------------------------------------------- decoding and augmentation

def decode(data, mode: str = "RGB"):
    """Encoded bytes (JPEG/PNG/...) or a uint8 array -> a PIL image in ``mode`` ("RGB" or "L"),
    or None if undecodable."""
    from PIL import Image

    if data is None:
        return None
    try:
        if isinstance(data, np.ndarray):
            arr = data[..., 0] if data.ndim == 3 and data.shape[-1] == 1 else data
            return Image.fromarray(arr.astype(np.uint8)).convert(mode)
        img = Image.open(io.BytesIO(data))
        img.draft(mode, img.size)  # JPEG: decode in the wanted colour space directly
        img.load()
        return img.convert(mode) if img.mode != mode else img
    except Exception:  # PIL raises OSError, SyntaxError, ValueError, DecompressionBombError...
        return None


def random_resized_crop(img, rng: np.random.Generator, res: int, *, flip: bool = True) -> np.ndarray:
    """Inception-style crop (area 8-100%, aspect 3/4-4/3, 10 tries, else the centre square of
    the whole image), resized to ``res x res`` (bilinear), then a horizontal flip with p=0.5."""
    from PIL import Image

    w, h = img.size
    area = w * h
    box = None
    for _ in range(10):
        target = area * rng.uniform(*RRC_SCALE)
        ratio = math.exp(rng.uniform(math.log(RRC_RATIO[0]), math.log(RRC_RATIO[1])))
        cw, ch = int(round(math.sqrt(target * ratio))), int(round(math.sqrt(target / ratio)))
        if 0 < cw <= w and 0 < ch <= h:
            x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
            box = (x0, y0, x0 + cw, y0 + ch)
            break
    if box is None:
        s = min(w, h)
        box = ((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s)
    out = img.resize((res, res), Image.BILINEAR, box=box, reducing_gap=3.0)
    if flip and rng.random() < 0.5:
        out = out.transpose(Image.FLIP_LEFT_RIGHT)
    return _hwc(out)


def _hwc(img) -> np.ndarray:
    x = np.asarray(img, np.uint8)
    return x[..., None] if x.ndim == 2 else x


def center_crop(img, res: int) -> np.ndarray:
    """Resize so the shorter side is ``ceil(res / CROP_FRACTION)``, take the centre ``res x res``."""
    from PIL import Image

    w, h = img.size
    short = math.ceil(res / CROP_FRACTION)
    scale = short / min(w, h)
    # the centre crop in source coordinates, resized straight to res x res (one resampling)
    cw, ch = res / scale, res / scale
    box = ((w - cw) / 2, (h - ch) / 2, (w + cw) / 2, (h + ch) / 2)
    return _hwc(img.resize((res, res), Image.BILINEAR, box=box, reducing_gap=3.0))


def step_resolution(resolutions, seed: int, step: int) -> int:
    """The training resolution of ``step``: uniform over ``resolutions``, a function of (seed, step)."""
    if len(resolutions) == 1:
        return int(resolutions[0])
    return int(resolutions[np.random.default_rng([seed, step, 0x5E]).integers(len(resolutions))])


# ---------------------------------------------------------------- per-batch work (in workers)

@dataclass(frozen=True)
class _TrainBatch:
    """Grain ``map_with_index``: (step, global positions [B]) -> this process's decoded slice."""

    source: object
    positions: np.ndarray  # split position -> source record
    lo: int
    hi: int
    resolutions: tuple
    seed: int
    augment: bool
    channels: int = 3

    def __call__(self, step: int, batch: np.ndarray) -> dict:
        res = step_resolution(self.resolutions, self.seed, step)
        images = np.empty((self.hi - self.lo, res, res, self.channels), np.uint8)
        labels = np.empty(self.hi - self.lo, np.int32)
        skipped = []
        for j, pos in enumerate(batch[self.lo:self.hi]):
            # one generator per example of the global batch: the same crops on any process count
            rng = np.random.default_rng([self.seed, step, self.lo + j])
            for _ in range(MAX_SUBSTITUTES):
                name, data, label = self.source[int(self.positions[int(pos)])]
                img = decode(data, _MODE[self.channels])
                if img is not None:
                    break
                skipped.append(name)
                pos = rng.integers(len(self.positions))
            else:
                raise InputError(f"data: {MAX_SUBSTITUTES} undecodable images in a row (last: {name}); "
                                 "is data.path a folder of images?")
            images[j] = random_resized_crop(img, rng, res, flip=True) if self.augment else center_crop(img, res)
            labels[j] = label
        return {"images": images, "labels": labels, "skipped": "\n".join(skipped)}


@dataclass(frozen=True)
class _EvalBatch:
    """Grain ``map``: batch number -> (centre-cropped images, labels, mask) in split order."""

    source: object
    positions: np.ndarray
    batch_size: int
    resolution: int
    channels: int = 3

    def __call__(self, b: int) -> dict:
        n, r = len(self.positions), self.resolution
        lo, hi = b * self.batch_size, min((b + 1) * self.batch_size, len(self.positions))
        images = np.zeros((self.batch_size, r, r, self.channels), np.uint8)
        labels = np.zeros(self.batch_size, np.int32)
        mask = np.zeros(self.batch_size, np.float32)
        skipped = []
        for j, pos in enumerate(range(lo, hi)):
            name, data, label = self.source[int(self.positions[pos % n])]
            img = decode(data, _MODE[self.channels])
            labels[j] = label
            if img is None:
                skipped.append(name)
                continue
            images[j], mask[j] = center_crop(img, r), 1.0
        return {"images": images, "labels": labels, "mask": mask, "skipped": "\n".join(skipped)}


# ---------------------------------------------------------------- skipped-file accounting

class SkippedFiles:
    """Undecodable files met so far in this process: each reported once on stderr."""

    def __init__(self):
        self.names: set[str] = set()

    def note(self, joined: str) -> None:
        for name in filter(None, joined.split("\n")):
            if name not in self.names:
                self.names.add(name)
                print(f"warning: skipped undecodable image {name} ({len(self.names)} skipped so far)",
                      file=sys.stderr, flush=True)

    def summary(self) -> None:
        if self.names:
            print(f"warning: {len(self.names)} undecodable image(s) skipped in total", file=sys.stderr, flush=True)


SKIPPED = SkippedFiles()


def _check_labels(labels: np.ndarray, num_classes: int, where: str) -> None:
    if num_classes and len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        bad = int(labels[(labels < 0) | (labels >= num_classes)][0])
        raise InputError(f"data: label {bad} in {where} out of range for {num_classes} classes")


# ---------------------------------------------------------------- the split

@dataclass(frozen=True)
class StreamSplit:
    """A split read on demand (see module doc). ``resolution``: the default side length of
    decoded images; ``workers``: Grain worker processes for training batches (0: in process)."""

    name: str
    source: object
    positions: np.ndarray  # int64 [N]: record of each example of the split in ``source``
    num_classes: int
    resolution: int = 224
    workers: int = 0
    threads: int = 4  # in-process reader threads (evaluation; training when workers == 0)
    channels: int = 3  # 3: RGB, 1: grayscale (every file is converted)

    streaming = True

    def __len__(self) -> int:
        return len(self.positions)

    def take(self, n: int) -> StreamSplit:
        return self if n <= 0 else dataclasses.replace(self, positions=self.positions[:n])

    def at(self, resolution: int) -> StreamSplit:
        """The same examples decoded at ``resolution``."""
        return dataclasses.replace(self, resolution=int(resolution))

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (self.resolution, self.resolution, self.channels)

    def _iterate(self, ds, *, workers: int):
        import grain

        it = ds.to_iter_dataset(grain.ReadOptions(num_threads=self.threads, prefetch_buffer_size=2 * self.threads))
        if workers > 0:
            from absl import flags

            if not flags.FLAGS.is_parsed():  # Grain's worker processes read absl flags (defaults here)
                flags.FLAGS.mark_as_parsed()
            it = it.mp_prefetch(grain.MultiprocessingOptions(num_workers=workers, per_worker_buffer_size=2))
        return it

    def train_dataset(self, batch_size: int, *, seed: int, resolutions=None, augment: bool = True,
                      process_index: int = 0, process_count: int = 1):
        """The Grain ``MapDataset`` of training batches (element ``s`` = step ``s``; endless)."""
        import grain

        if batch_size % process_count:
            raise InputError(f"batch_size: {batch_size} is not divisible by the {process_count} processes")
        if len(self) < batch_size:
            raise InputError(f"batch_size: {batch_size} is larger than the training split ({len(self)} examples)")
        local = batch_size // process_count
        fn = _TrainBatch(self.source, self.positions, process_index * local, (process_index + 1) * local,
                         tuple(resolutions or (self.resolution,)), seed, augment, self.channels)
        ds = grain.MapDataset.range(len(self)).shuffle(seed=seed).repeat(None)
        return ds.batch(batch_size, drop_remainder=True).map_with_index(fn)

    def train_batches(self, batch_size: int, *, seed: int, start_step: int = 0, resolutions=None,
                      augment: bool = True, process_index: int = 0, process_count: int = 1,
                      workers: int | None = None) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """Endless ``(step, images uint8 [b, r, r, 3], labels int32 [b])`` from ``start_step``;
        ``b = batch_size / process_count``: this process's slice of the global batch.
        ``augment=False``: centre crops instead of random-resized crops and flips."""
        ds = self.train_dataset(batch_size, seed=seed, resolutions=resolutions, augment=augment,
                                process_index=process_index, process_count=process_count)
        it = iter(self._iterate(ds[start_step:], workers=self.workers if workers is None else workers))
        step = start_step
        try:
            for batch in it:
                SKIPPED.note(batch["skipped"])
                _check_labels(batch["labels"], self.num_classes, f"{self.name} (training step {step})")
                # copies: release Grain's shared-memory buffers of worker processes at once
                yield step, np.array(batch["images"]), np.array(batch["labels"])
                step += 1
        finally:
            SKIPPED.summary()
            close = getattr(it, "close", None)
            if close is not None:
                close()

    def eval_batches(self, batch_size: int, max_batches: int = 0
                     ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """``(images, labels, mask)`` in split order at ``self.resolution``, every batch of size
        ``batch_size``; padding and undecodable images have mask 0."""
        import grain

        count = -(-len(self) // batch_size)
        if max_batches > 0:
            count = min(count, max_batches)
        ds = grain.MapDataset.range(count).map(_EvalBatch(self.source, self.positions, batch_size,
                                                          self.resolution, self.channels))
        for batch in self._iterate(ds, workers=0):
            SKIPPED.note(batch["skipped"])
            _check_labels(batch["labels"][batch["mask"] > 0], self.num_classes, self.name)
            yield batch["images"], batch["labels"], batch["mask"]

    def calibration(self, batch_size: int, n: int) -> tuple:
        """The first ``n`` batches of the split, centre-cropped at ``self.resolution``, unmasked
        images only: what BatchNorm recalibration at this resolution runs on."""
        out = []
        for images, _, mask in self.eval_batches(batch_size, n):
            out.append(images[mask > 0] if mask.min() == 0 else images)
        return tuple(b for b in out if len(b))

