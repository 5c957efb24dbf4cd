"""Which supernet training choices rank subnets better? Variants judged against one ground truth.

Each variant is the base run's configuration with a few ``--set``-style overrides; its supernet
is trained in ``ROOT/<variant>`` (stage 1 only, resumable) and scored on the subnets of the
ranking-fidelity benchmark against the stand-alone results the base run's benchmark already
has (``nas check fidelity --standalone-from BASE``), so a variant costs one supernet training, not
24 stand-alone trainings. Every supernet is scored twice: as the search scores it (the run's
``search.eval_batches`` validation batches) and on the whole validation split
(``--full-eval-batches``), with more BN-recalibration batches; the latter separates "the weights
rank badly" from "the evaluation is too small to tell".

    nas check fidelity runs/fashion_mnist      # the ground truth first
    python -m experiments.benchmarks.supernet_variants runs/fashion_mnist [--variants macs,sandwich3]

Prints one Markdown table (rows: variant × scoring) for docs/benchmarks/supernet.md and writes
``ROOT/<variant>/fidelity*.json``.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

# name -> (config overrides, what it tests)
VARIANTS: dict[str, tuple[list[str], str]] = {
    "base": ([], "the run's own supernet"),
    "sandwich3": (["supernet.num_random_subnets=3"], "3 random subnets per step instead of 1"),
    "macs": (["supernet.sampling=macs"], "random subnets spread over MACs (uniform MACs target)"),
    "no_distill": (["supernet.distill=false"], "no in-place distillation"),
    "epochs1": (["supernet.epochs=1.0"], "4x the steps (1 epoch)"),
    "macs_epochs1": (["supernet.sampling=macs", "supernet.epochs=1.0"], "both"),
}


def main(argv=None) -> int:
    from nas.checks import ranking_fidelity as rf
    from nas.config import apply_overrides, config_from_dict
    from nas.errors import InputError
    from nas.files import read_json
    from nas.pipeline.run import save_config
    from nas.rundir import RunDir
    from nas.train import train_supernet

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("base", help="work directory whose ranking-fidelity benchmark has finished")
    ap.add_argument("--root", help="where variants train (default: BASE/../<base name>_variants)")
    ap.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated of {', '.join(VARIANTS)}")
    ap.add_argument("--full-eval-batches", type=int, default=40, help="validation batches of the full scoring")
    ap.add_argument("--full-bn-batches", type=int, default=16, help="BN batches of the full scoring")
    args = ap.parse_args(argv)
    base = RunDir(Path(args.base).resolve())
    root = Path(args.root) if args.root else base.root.parent / f"{base.root.name}_variants"
    names = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in names if v not in VARIANTS]
    if unknown:
        ap.error(f"unknown variant(s) {', '.join(unknown)} (known: {', '.join(VARIANTS)})")
    try:
        cfg0 = config_from_dict(read_json(base.config, what="config"))
        rf.standalone_rows(base.root)  # the ground truth must exist before anything trains
    except InputError as e:
        ap.error(str(e))
    lines = []
    for name in names:
        overrides, what = VARIANTS[name]
        run = base if name == "base" else RunDir(root / name)
        if name != "base":
            cfg = apply_overrides(config_from_dict(cfg0.to_dict()), overrides)
            run.root.mkdir(parents=True, exist_ok=True)
            save_config(cfg, run)
            t0 = time.perf_counter()
            info = train_supernet(cfg.space, cfg.supernet, cfg.data, run.root, progress=True)
            print(f"{name}: supernet {info.get('steps')} steps, {time.perf_counter() - t0:.0f} s", flush=True)
        for scoring, extra in (("search's", {}),
                               ("full val", {"eval_batches": args.full_eval_batches,
                                             "bn_batches": args.full_bn_batches})):
            out = run.root / ("fidelity.json" if name != "base" and not extra else
                              f"fidelity_{'full' if extra else 'search'}.json")
            label = f"{name} ({', '.join(overrides) or what}), {scoring} scoring"
            result = rf.check_fidelity(run.root, rf.FidelityOptions(standalone_from=str(base.root), out=str(out),
                                                                    **extra))
            print(rf.fidelity_table(label, result))
            lines.append(rf.table_row(label, result))
    print("\n" + rf.TABLE_HEAD)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
