"""``nas latency measure | predict | bundle``: measured and predicted latency of architectures, and
bundles of models to measure on another device."""
from __future__ import annotations

from nas.cli.output import count, emit_json, read_arch_jsonl
from nas.errors import InputError
from nas.latency.measure import RUNTIMES
from nas.search_spaces import arch_dumps, arch_to_json


def register(sub) -> None:
    p = sub.add_parser("latency", help="latency: measure here, predict on a profile")
    lsub = p.add_subparsers(dest="latency_command", required=True, metavar="SUBCOMMAND")
    me = lsub.add_parser("measure", help="measure architectures on this machine (CPU)")
    me.add_argument("space")
    me.add_argument("--runtime", required=True, choices=RUNTIMES)
    me.add_argument("--archs", required=True, metavar="FILE.jsonl")
    me.add_argument("--threads", type=count(1, 1024), default=1)
    me.add_argument("--warmup", type=count(0, 10**6), default=10)
    me.add_argument("--repeats", type=count(1, 10**6), default=50)
    me.add_argument("--passes", type=count(1, 1000), default=3, help="timing passes over all archs (min is kept)")
    me.add_argument("--batch-size", type=count(1, 4096), default=1)
    me.add_argument("--json", action="store_true")
    me.set_defaults(func=cmd_measure)
    pr = lsub.add_parser("predict", help="predict latency (ms) on a hardware profile")
    pr.add_argument("--profile", required=True, metavar="NAME|PROFILE.yaml")
    pr.add_argument("--space", required=True)
    pr.add_argument("--archs", required=True, metavar="FILE.jsonl")
    pr.add_argument("--json", action="store_true")
    pr.set_defaults(func=cmd_predict)
    bu = lsub.add_parser("bundle", help="write N models + a stand-alone runner to measure on a device")
    bu.add_argument("space")
    bu.add_argument("--n", type=int, required=True, help="number of random architectures")
    bu.add_argument("--runtime", required=True, choices=("onnxruntime", "litert"))
    bu.add_argument("--int8", action="store_true", help="int8 models (static quantisation) instead of float32")
    bu.add_argument("--out", required=True, metavar="DIR")
    bu.add_argument("--seed", type=int, default=0)
    bu.add_argument("--threads", type=int, default=1, help="threads the runner uses by default")
    bu.add_argument("--batch-size", type=int, default=1)
    bu.set_defaults(func=cmd_bundle)


def cmd_measure(args) -> int:
    from nas.latency.measure import measure_archs, pin_xla_threads
    from nas.search_spaces import get_space

    if args.runtime == "xla":
        pin_xla_threads(args.threads)
    if min(args.threads, args.repeats, args.batch_size, args.passes) < 1 or args.warmup < 0:
        raise InputError("--threads, --repeats, --passes and --batch-size must be at least 1, --warmup at least 0")
    space = get_space(args.space)
    archs = read_arch_jsonl(args.archs, args.space)
    ms = measure_archs(space, archs, args.runtime, batch_size=args.batch_size, warmup=args.warmup,
                       repeats=args.repeats, threads=args.threads, passes=args.passes)
    for a, m in zip(archs, ms):
        if args.json:
            emit_json({"arch": arch_to_json(a), "latency_ms": m.latency_ms})
        else:
            print(f"{m.latency_ms:9.3f} ms  (p10 {m.p10_ms:.3f}, p90 {m.p90_ms:.3f}; threads {m.threads})  "
                  f"{arch_dumps(a)}", flush=True)
    return 0


def cmd_predict(args) -> int:
    from nas.latency.profile_io import load_profile

    prof = load_profile(args.profile)
    archs = read_arch_jsonl(args.archs, args.space)
    for a, ms in zip(archs, prof.predict_ms(archs)):
        if args.json:
            emit_json({"latency_ms": float(ms)})
        else:
            print(f"{ms:9.3f} ms  {arch_dumps(a)}")
    return 0


def cmd_bundle(args) -> int:
    from nas.latency.bundle import check_runtime_available, write_bundle

    check_runtime_available(args.runtime, args.int8)
    out = write_bundle(args.space, args.n, args.runtime, args.out, int8=args.int8, seed=args.seed,
                       threads=args.threads, batch_size=args.batch_size)
    print(f"{args.n} models ({args.runtime}, {'int8' if args.int8 else 'float32'}) in {out}; "
          f"run `python3 {out / 'run_bundle.py'}` on the device")
    return 0
