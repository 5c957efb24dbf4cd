"""Streaming input pipeline: bounded memory and decode + augment throughput on this machine.

    python -m experiments.benchmarks.data_pipeline generate ROOT --images 50000
    python -m experiments.benchmarks.data_pipeline measure ROOT [--workers 1] [--steps 40] [--batch 64] [--resolution R]

``generate`` writes an ImageNet-layout folder (100 classes, 90% train / 10% val) of synthetic
JPEGs (and a few RGBA PNGs, every 7th image grayscale), width and height each drawn from
``--sizes`` (default 48..400 pixels; :func:`nas.data.imagefolder.write_synthetic_image_folder`).

``measure`` runs in a fresh process, as the training loop does: :func:`nas.data.load_dataset`
(scan the folder, carve the validation split, channel statistics from 256 images), then
``--steps`` training batches of ``--batch`` random-resized crops + flips at ``--resolution`` (224) from
``--workers`` Grain worker processes (after 3 untimed warm-up batches), each batch moved to the
JAX device. It prints one JSON line: images/s overall and per worker, the peak RSS of the
training process (``ru_maxrss`` of itself) and of the largest worker process, and the folder
size. Run it on folders of different sizes to see whether memory grows with the data set.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import time


def generate(root: str, images: int, seed: int = 0, sizes=(48, 400)) -> None:
    from nas.data.imagefolder import write_synthetic_image_folder

    classes = 100
    per_class = max(1, images * 9 // 10 // classes)
    write_synthetic_image_folder(root, num_classes=classes, per_class=per_class,
                                 test_per_class=max(1, images // 10 // classes), sizes=tuple(sizes), seed=seed)


def _rss_mb() -> float:
    """Current resident set size of this process (VmRSS)."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024


def measure(root: str, workers: int, steps: int, batch: int, resolution: int = 224) -> dict:
    import jax

    from nas.config import DataConfig
    from nas.data import load_dataset, train_batches

    rss_imports = _rss_mb()
    t0 = time.perf_counter()
    ds = load_dataset(DataConfig(source="image_folder", path=root, val_size=100, image_size=resolution,
                                 workers=workers))
    load_s = time.perf_counter() - t0
    rss_loaded = _rss_mb()
    it = train_batches(ds.train, batch, seed=0, resolutions=(resolution,))
    for _ in range(3):
        next(it)
    t0 = time.perf_counter()
    for _ in range(steps):
        _, x, y = next(it)
        jax.block_until_ready(jax.device_put(x).mean())
    elapsed = time.perf_counter() - t0
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # finished children only
    it.close()
    children = max(children, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    ips = steps * batch / elapsed
    return {"train_images": len(ds.train), "workers": workers, "batch": batch, "steps": steps,
            "resolution": resolution, "load_s": round(load_s, 2), "images_per_s": round(ips, 1),
            "images_per_s_per_worker": round(ips / max(workers, 1), 1),
            "index_mb": round((ds.train.source.paths.nbytes + ds.train.source.labels.nbytes) / 2**20, 2),
            "rss_after_imports_mb": round(rss_imports, 1), "rss_after_load_mb": round(rss_loaded, 1),
            "rss_end_mb": round(_rss_mb(), 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "peak_worker_rss_mb": round(children / 1024, 1),
            "folder_mb": round(sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(root)
                                   for f in fs) / 2**20, 1),
            }


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate")
    g.add_argument("root")
    g.add_argument("--images", type=int, default=5000)
    g.add_argument("--sizes", type=int, nargs=2, default=(48, 400), help="min and max side length")
    m = sub.add_parser("measure")
    m.add_argument("root")
    m.add_argument("--workers", type=int, default=1)
    m.add_argument("--steps", type=int, default=40)
    m.add_argument("--batch", type=int, default=64)
    m.add_argument("--resolution", type=int, default=224)
    a = p.parse_args(argv)
    if a.cmd == "generate":
        t0 = time.perf_counter()
        generate(a.root, a.images, sizes=a.sizes)
        print(json.dumps({"generated": a.root, "images": a.images, "seconds": round(time.perf_counter() - t0, 1)}))
    else:
        print(json.dumps(measure(a.root, a.workers, a.steps, a.batch, a.resolution)))


if __name__ == "__main__":
    main()
