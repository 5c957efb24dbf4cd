"""Datasets (Fashion-MNIST, IDX folders, TFDS data sources, image folders), in-memory batching with
augmentation in JAX, and streamed splits decoded and augmented by Grain workers (:mod:`nas.data.stream`)."""
from nas.data.dataset import (
    SOURCES,
    Dataset,
    Split,
    at_resolution,
    channel_stats,
    check_location,
    check_source,
    load_dataset,
    make_dataset,
)
from nas.data.idx import load_fashion_mnist, load_idx_folder, read_idx
from nas.data.imagefolder import scan_image_folder, write_synthetic_image_folder
from nas.data.pipeline import (
    augment,
    augment_images,
    epoch_permutation,
    eval_batches,
    normalize,
    steps_per_epoch,
    train_batches,
)
from nas.data.stream import SKIPPED, StreamSplit, step_resolution
from nas.data.tfds_source import load_tfds

__all__ = [
    "SOURCES", "Dataset", "Split", "at_resolution", "augment", "check_source", "augment_images", "channel_stats",
    "check_location",
    "epoch_permutation",    "eval_batches", "load_dataset", "load_fashion_mnist", "load_idx_folder", "load_tfds",
    "make_dataset", "normalize", "read_idx", "steps_per_epoch", "train_batches",
    "SKIPPED", "StreamSplit", "scan_image_folder", "step_resolution", "write_synthetic_image_folder",
]
