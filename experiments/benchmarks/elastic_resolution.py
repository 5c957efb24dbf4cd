"""Does a supernet trained at several resolutions rank input resolution better than one trained at one?

    python -m experiments.benchmarks.elastic_resolution [--steps 150] [--root /tmp/elastic_res]

Set-up (small enough for a 2-core CPU): a generated image folder of 4 classes told apart by
stripe frequency (periods of 3, 4, 6 and 8 pixels on 64-128 px images, random phase, colour and
noise), so that low input resolutions lose information; a tiny elastic MBConv space (2 stages,
kernels 3/5, expansions 2/3, depths 1/2) with resolutions 16/24/32. Three measurements, each
``--steps`` SGD steps of batch 32 with random-resized crops and flips from the streamed folder:

1. reference: the largest architecture trained alone at each resolution (one network per
   resolution), test accuracy at that resolution: the resolution ranking to reproduce;
2. multi-resolution supernet: sandwich rule (largest + smallest + 1 random), one resolution
   drawn per step from 16/24/32;
3. single-resolution supernet: the same at 32 only.

Each supernet scores the largest architecture at 16, 24 and 32 (inherited weights, BatchNorm
recalibrated on 4 training batches decoded at that resolution, test images decoded at that
resolution). Printed: the accuracies and Kendall's tau of each supernet's ranking of the
resolutions against the reference.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

RESOLUTIONS = (16, 24, 32)


def write_stripes(root: Path, per_class: int = 120, test_per_class: int = 40, seed: int = 0) -> Path:
    from PIL import Image

    rng = np.random.default_rng(seed)
    for split, n in (("train", per_class), ("val", test_per_class)):
        for c, period in enumerate((3, 4, 6, 8)):
            d = root / split / f"c{c}"
            d.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                h, w = (int(v) for v in rng.integers(64, 129, 2))
                yy, xx = np.mgrid[:h, :w]
                angle = rng.uniform(0, np.pi)
                phase = rng.uniform(0, 2 * np.pi)
                wave = np.sin(2 * np.pi * (xx * np.cos(angle) + yy * np.sin(angle)) / period + phase)
                colour = rng.uniform(60, 200, 3)
                x = colour + 50 * wave[..., None] + rng.normal(0, 20, (h, w, 3))
                Image.fromarray(np.clip(x, 0, 255).astype(np.uint8)).save(d / f"{i}.jpg", quality=90)
    return root


def tiny_space():
    from search_spaces.elastic_mbconv import ElasticConfig, ElasticMBConvSpace, StageDef

    return ElasticMBConvSpace("tiny_stripes", ElasticConfig(
        in_channels=3, num_classes=4, stem_width=16, stem_stride=1, first_width=16,
        stages=(StageDef(24, 2, "relu", False), StageDef(32, 2, "relu", True)), final_width=64, feature_width=0,
        kernels=(3, 5), expands=(2, 3), depths=(1, 2), resolutions=RESOLUTIONS))


def kendall_tau(a, b) -> float:
    n, s = len(a), 0
    for i in range(n):
        for j in range(i + 1, n):
            s += np.sign(a[i] - a[j]) * np.sign(b[i] - b[j])
    return float(s / (n * (n - 1) / 2))


def main(argv=None) -> None:
    import jax
    from flax import nnx

    from nas.config import DataConfig
    from nas.data import load_dataset
    from nas.train.bn import calibration_batches
    from nas.train.evaluate import evaluate_accuracy, full_state, subnet_accuracy
    from nas.train.forward import no_arch, static_forward, supernet_forward
    from nas.train.loop import RunSpec, fit
    from nas.train.supernet import subnet_sampler
    from search_spaces.static_net import StaticNet
    from search_spaces.supernet import Supernet

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=150)
    p.add_argument("--root", default="/tmp/elastic_res")
    a = p.parse_args(argv)
    root = Path(a.root)
    if not (root / "data" / "train").is_dir():
        write_stripes(root / "data")
    ds = load_dataset(DataConfig(source="image_folder", path=str(root / "data"), val_size=16, image_size=32,
                                 workers=1))
    space = tiny_space()
    largest = space.largest()
    t0 = time.perf_counter()

    def spec(name, resolutions, lr=0.1):
        return RunSpec(root / "runs" / name, name, 32, lr, a.steps, a.steps // 10, 3e-5, 0.1, 0,
                       distill=True, checkpoint_every=a.steps, resolutions=tuple(resolutions))

    reference = {}
    for r in RESOLUTIONS:
        net = StaticNet(space.net_spec(largest), rngs=nnx.Rngs(0))
        g, params, rest, _ = fit(net, static_forward, lambda step: no_arch(1), ds, spec(f"ref{r}", (r,)),
                                 progress=False)
        reference[r] = evaluate_accuracy(g, jax.device_get(full_state(params, rest)), ds.test.at(r),
                                         mean=ds.mean, std=ds.std, batch_size=32)
    scores = {}
    for name, res in (("multi", RESOLUTIONS), ("single", (32,))):
        model = Supernet(space, rngs=nnx.Rngs(0))
        g, params, rest, _ = fit(model, supernet_forward, subnet_sampler(model, space, 1, 0), ds,
                                 spec(name, res), progress=False)
        state = jax.device_get(full_state(params, rest))
        arch = model.arch_arrays(largest)
        scores[name] = {r: subnet_accuracy(g, state, arch, ds.test.at(r), calibration_batches(ds.train.at(r), 32, 4),
                                           mean=ds.mean, std=ds.std, batch_size=32) for r in RESOLUTIONS}
    ref = [reference[r] for r in RESOLUTIONS]
    out = {"steps": a.steps, "train_images": len(ds.train), "test_images": len(ds.test),
           "reference_acc": reference, "minutes": round((time.perf_counter() - t0) / 60, 1)}
    for name, s in scores.items():
        out[f"{name}_acc"] = s
        out[f"{name}_kendall_tau"] = kendall_tau([s[r] for r in RESOLUTIONS], ref)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
