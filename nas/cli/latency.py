"""``nas latency measure | predict``: measured and predicted latency of architectures."""
from __future__ import annotations

from nas.cli.output import count, emit_json, read_arch_jsonl
from nas.errors import InputError
from nas.latency.measure import RUNTIMES


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


def cmd_measure(args) -> int:
    from nas.latency.measure import measure_archs, pin_xla_threads
    from search_spaces import get_space

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
            emit_json({"arch": a.to_json(), "latency_ms": m.latency_ms})
        else:
            print(f"{m.latency_ms:9.3f} ms  (p10 {m.p10_ms:.3f}, p90 {m.p90_ms:.3f}; threads {m.threads})  "
                  f"{a.dumps()}", flush=True)
    return 0


def cmd_predict(args) -> int:
    from nas.latency.profile_io import load_profile

    prof = load_profile(args.profile)
    archs = read_arch_jsonl(args.archs, args.space)
    for a, ms in zip(archs, prof.predict_ms(archs)):
        if args.json:
            emit_json({"latency_ms": float(ms)})
        else:
            print(f"{ms:9.3f} ms  {a.dumps()}")
    return 0
