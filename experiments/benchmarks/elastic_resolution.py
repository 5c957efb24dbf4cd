"""Does a supernet trained at several resolutions rank (architecture, resolution) pairs better
than one trained at one resolution?

    python -m experiments.benchmarks.elastic_resolution [--steps 600] [--root /tmp/elastic_res]

Set-up (small enough for a 2-core CPU; every number below is fixed in this file):

* Data: a generated image folder (JPEGs of 48-80 px per side, sizes mixed) with 4 classes:
  a faint fine grating (period 4-5 source pixels) that is horizontal, vertical, both (a plaid)
  or absent, over smooth random colour blobs and strong pixel noise. The class survives
  cropping and flipping but not down-sampling: evaluated at 32 px the grating keeps 1.8-3.8
  pixels per period, at 16 px 0.9-1.9, past the Nyquist limit for most images, where the
  resampling filter attenuates it into the noise. So accuracy truly depends on resolution
  (``tests/test_elastic_resolution.py`` checks this with a fixed Fourier detector).
* Space: a tiny elastic MBConv space (2 stages, kernels 3/5, expansions 2/3, depths 1/2) with
  resolutions 16/24/32; three architectures (smallest, a middle one, largest).
* Ground truth: each architecture trained alone at each resolution (9 networks), ``--steps``
  SGD steps of batch 32, random-resized crops and flips decoded at that resolution; test
  accuracy at that resolution (images decoded at it, never up-sampled).
* Two supernets with the same steps and the sandwich rule (largest + smallest + 1 random
  subnet, in-place distillation): *multi* draws one of 16/24/32 per step, *single* trains at
  32 only. Each scores the 9 pairs with inherited weights, BatchNorm recalibrated on 4 training
  batches decoded at the pair's resolution.

Printed (JSON; ``--out`` also writes it): the accuracies, Kendall's tau and Spearman's rho of
each supernet over the 9 pairs against the ground truth (95% bootstrap intervals), the
resolution ranking within each architecture, and the mean absolute gap to the ground truth per
resolution.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

RESOLUTIONS = (16, 24, 32)
CLASSES = ("horizontal", "vertical", "plaid", "none")


def _blobs(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Smooth random colour field ``[h, w, 3]`` in [0, 1]: 4x4 noise up-sampled bilinearly."""
    from PIL import Image

    small = (rng.uniform(0, 255, (4, 4, 3))).astype(np.uint8)
    return np.asarray(Image.fromarray(small).resize((w, h), Image.BILINEAR), np.float32) / 255


def grating_image(rng: np.random.Generator, label: int, h: int, w: int) -> np.ndarray:
    """One uint8 ``[h, w, 3]`` image of class ``label`` (see :data:`CLASSES`)."""
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    period = rng.uniform(4.0, 5.0)
    wave = np.zeros((h, w), np.float32)
    if CLASSES[label] in ("horizontal", "plaid"):
        wave += np.sin(2 * np.pi * yy / period + rng.uniform(0, 2 * np.pi))
    if CLASSES[label] in ("vertical", "plaid"):
        wave += np.sin(2 * np.pi * xx / period + rng.uniform(0, 2 * np.pi))
    x = 60 + 140 * _blobs(rng, h, w) + 15 * wave[..., None] + rng.normal(0, 30, (h, w, 3))
    return np.clip(x, 0, 255).astype(np.uint8)


def write_gratings(root: Path, per_class: int = 150, test_per_class: int = 60, seed: int = 0) -> Path:
    from PIL import Image

    rng = np.random.default_rng(seed)
    for split, n in (("train", per_class), ("val", test_per_class)):
        for c, name in enumerate(CLASSES):
            d = root / split / name
            d.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                h, w = (int(v) for v in rng.integers(48, 81, 2))
                Image.fromarray(grating_image(rng, c, h, w)).save(d / f"{i}.jpg", quality=95)
    return root


def tiny_space():
    from nas.search_spaces.elastic_mbconv import ElasticConfig, ElasticMBConvSpace, StageDef

    return ElasticMBConvSpace("tiny_gratings", ElasticConfig(
        in_channels=3, num_classes=len(CLASSES), stem_width=16, stem_stride=1, first_width=16,
        stages=(StageDef(24, 2, "relu", False), StageDef(32, 2, "relu", True)), final_width=64, feature_width=0,
        kernels=(3, 5), expands=(2, 3), depths=(1, 2), resolutions=RESOLUTIONS))


def architectures(space) -> dict:
    """name -> Arch (resolution gene = the largest; :func:`at` sets it)."""
    from nas.search_spaces.arch import Arch

    # stage 1: depth 1, kernel 5, expansion 3; stage 2: depth 2, kernels 3/5, expansions 2/3
    middle = Arch(space.name, (5, 3, 3, 5) + (3, 2, 2, 3) + (1, 2) + (RESOLUTIONS[-1],))
    return {"smallest": space.smallest(), "middle": space.canonical(middle), "largest": space.largest()}


def at(arch, r: int):
    from nas.search_spaces.arch import Arch

    return Arch(arch.space, tuple(arch.genes[:-1]) + (int(r),))


def main(argv=None) -> None:
    import jax
    from flax import nnx

    from nas.checks.ranking_fidelity import rank_agreement
    from nas.config import DataConfig
    from nas.data import load_dataset
    from nas.search_spaces.static_net import StaticNet
    from nas.search_spaces.supernet import Supernet
    from nas.train.evaluate import evaluate_accuracy, full_state
    from nas.train.forward import no_arch, static_forward, supernet_forward
    from nas.train.loop import RunSpec, fit
    from nas.train.supernet import evaluate_subnet, subnet_sampler

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--root", default="/tmp/elastic_res")
    p.add_argument("--out", default="", help="also write the JSON result here")
    a = p.parse_args(argv)
    root = Path(a.root)
    if not (root / "gratings" / "train").is_dir():
        write_gratings(root / "gratings")
    ds = load_dataset(DataConfig(source="image_folder", path=str(root / "gratings"), val_size=16,
                                 image_size=RESOLUTIONS[-1], workers=1))
    space = tiny_space()
    archs = architectures(space)
    pairs = [(n, r) for n in archs for r in RESOLUTIONS]
    t0 = time.perf_counter()

    def spec(name, resolutions):
        # checkpoints in a folder per (steps, name): an interrupted benchmark resumes each training
        return RunSpec(root / f"runs_{a.steps}" / name, name, 32, 0.1, a.steps, a.steps // 10, 3e-5, 0.1, 0,
                       distill=True, checkpoint_every=max(50, a.steps // 4), resolutions=tuple(resolutions))

    truth = {}
    for name, r in pairs:
        net = StaticNet(space.net_spec(at(archs[name], r)), rngs=nnx.Rngs(0))
        g, params, rest, _ = fit(net, static_forward, lambda step: no_arch(1), ds, spec(f"alone_{name}_{r}", (r,)),
                                 progress=False)
        truth[name, r] = evaluate_accuracy(g, jax.device_get(full_state(params, rest)), ds.test.at(r),
                                           mean=ds.mean, std=ds.std, batch_size=32)
        print(f"alone {name} @{r}: {truth[name, r]:.3f}", flush=True)
    scores = {}
    for kind, res in (("multi", RESOLUTIONS), ("single", (RESOLUTIONS[-1],))):
        model = Supernet(space, rngs=nnx.Rngs(0))
        g, params, rest, _ = fit(model, supernet_forward, subnet_sampler(model, space, 1, 0), ds,
                                 spec(f"supernet_{kind}", res), progress=False)
        state = jax.device_get(full_state(params, rest))
        scores[kind] = {}
        for name, r in pairs:  # the search's own scoring: BN and test images decoded at the arch's r
            scores[kind][name, r] = evaluate_subnet(g, state, model, at(archs[name], r), ds, batch_size=32,
                                                    bn_batches=4, split="test")
        print(f"supernet {kind}: " + ", ".join(f"{n}@{r} {v:.3f}" for (n, r), v in scores[kind].items()),
              flush=True)

    def keyed(d):
        return {f"{n}@{r}": round(float(v), 4) for (n, r), v in d.items()}

    ref = [truth[k] for k in pairs]
    out = {"steps": a.steps, "train_images": len(ds.train), "test_images": len(ds.test),
           "resolutions": list(RESOLUTIONS), "alone_acc": keyed(truth),
           "minutes": round((time.perf_counter() - t0) / 60, 1)}
    for kind, s in scores.items():
        got = [s[k] for k in pairs]
        out[kind] = {
            "acc": keyed(s),
            "pairs": rank_agreement(got, ref),
            # per architecture: tau of its 3 resolutions (1.0: the resolution order is right)
            "resolution_tau": {n: rank_agreement([s[n, r] for r in RESOLUTIONS],
                                                 [truth[n, r] for r in RESOLUTIONS], boot=0)["kendall_tau"]["value"]
                               for n in archs},
            "mean_abs_gap": {str(r): round(float(np.mean([abs(s[n, r] - truth[n, r]) for n in archs])), 4)
                             for r in RESOLUTIONS},
        }
    text = json.dumps(out, indent=1)
    print(text)
    if a.out:
        Path(a.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
