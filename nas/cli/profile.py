"""``nas profile list | fit | calibrate | from-lut | refit``: hardware profiles and their latency predictors."""
from __future__ import annotations

import platform
import time

from nas.cli.output import count, emit_json, positive_float, seed
from nas.errors import InputError
from nas.latency.measure import RUNTIMES


def register(sub) -> None:
    p = sub.add_parser("profile", help="hardware profiles: list, fit, calibrate, from-lut, refit")
    psub = p.add_subparsers(dest="profile_command", required=True, metavar="SUBCOMMAND")
    ls = psub.add_parser("list", help="list the shipped profiles")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_list)

    def common(q):
        q.add_argument("name", metavar="NAME")
        q.add_argument("--space", required=True)
        q.add_argument("--out", required=True, metavar="PROFILE.yaml")
        q.add_argument("--device", help="device description (default: NAME)")
        q.add_argument("--batch-size", type=count(1, 4096), default=1)
        q.add_argument("--peak-gflops", type=positive_float)
        q.add_argument("--bandwidth-gbs", type=positive_float)
        q.add_argument("--memory-gb", type=positive_float)
        q.add_argument("--json", action="store_true")

    fit = psub.add_parser("fit", help="fit a profile to a measurement CSV (arch,latency_ms)")
    common(fit)
    fit.add_argument("--measurements", metavar="FILE.csv", help="measurement CSV (default with --bundle: "
                     "DIR/latency.csv)")
    fit.add_argument("--bundle", metavar="DIR", help="a measured `nas latency bundle`: the CSV must cover exactly "
                     "its models; runtime, precision and threads come from it")
    fit.add_argument("--runtime", default="unknown", help="runtime the latencies were measured with")
    fit.add_argument("--source", default="user measurements", help="who measured (credit)")
    fit.set_defaults(func=cmd_fit)

    cal = psub.add_parser("calibrate", help="measure N random subnets here, then fit a profile")
    common(cal)
    cal.add_argument("--runtime", required=True, choices=RUNTIMES)
    cal.add_argument("--n", type=count(1, 100_000), required=True)
    cal.add_argument("--seed", type=seed, default=0)
    cal.add_argument("--threads", type=count(1, 1024), default=1)
    cal.add_argument("--warmup", type=count(0, 10**6), default=10)
    cal.add_argument("--repeats", type=count(1, 10**6), default=50)
    cal.add_argument("--passes", type=count(1, 1000), default=3, help="timing passes over all subnets (min is kept)")
    cal.set_defaults(func=cmd_calibrate)

    lut = psub.add_parser("from-lut", help="a profile from latency lookup tables in Once-for-All's format "
                          "(one YAML per resolution)")
    lut.add_argument("name", metavar="NAME")
    lut.add_argument("--space", required=True)
    lut.add_argument("--lut", required=True, action="append", metavar="FILE.yaml",
                     help="a table (repeat for each resolution)")
    lut.add_argument("--out", required=True, metavar="PROFILE.yaml")
    lut.add_argument("--device", help="device description (default: NAME)")
    lut.add_argument("--source", default="latency lookup tables", help="who measured (credit)")
    lut.add_argument("--json", action="store_true")
    lut.set_defaults(func=cmd_from_lut)

    ref = psub.add_parser("refit", help="re-fit a profile's predictor from its own measurements")
    ref.add_argument("profile", metavar="NAME|PROFILE.yaml")
    ref.add_argument("--out", metavar="PROFILE.yaml", help="where to write it (default: over the profile)")
    ref.add_argument("--json", action="store_true")
    ref.set_defaults(func=cmd_refit)


def _summary(prof, args) -> int:
    fit = prof.extra.get("fit", {})
    if args.json:
        emit_json({"name": prof.name, "path": str(prof.path), "fit": fit})
    else:
        for space, m in fit.items():
            sel = m.get("selection") or {}
            cv = (sel.get("cv_spearman") or {}).get(f"{sel.get('physics_share', 1.0):g}")
            held = (f", {sel['cv_folds']}-fold cross-validated Spearman {cv:.3f}" if cv is not None
                    else ", no cross-validation (too few points)")
            print(f"{prof.name}: {space} n={m['n']} in-sample Spearman {m['spearman']:.3f} "
                  f"MAPE {100 * m['mape']:.1f}%{held} -> {prof.path}")
    return 0


def cmd_list(args) -> int:
    from nas.latency.profile_io import list_profiles, load_profile

    for name in list_profiles():
        p = load_profile(name)
        if args.json:
            emit_json({"name": name, "device": p.device, "runtime": p.runtime, "batch_size": p.batch_size,
                       "spaces": list(p.spaces)})
        else:
            print(f"{name:15s} batch {p.batch_size:<3d} {','.join(p.spaces):18s} {p.device}")
    return 0


def cmd_fit(args) -> int:
    from nas.latency.calibrate import build_profile
    from nas.latency.measurements import read_measurements
    from nas.latency.profile_io import check_profile_out
    from nas.search_spaces import get_space

    check_profile_out(args.out)  # before anything is read or written
    get_space(args.space)
    runtime, batch_size, extra = args.runtime, args.batch_size, None
    if args.bundle:
        from nas.latency.bundle import read_bundle_measurements

        archs, lat, meta = read_bundle_measurements(args.bundle, args.space, args.measurements)
        runtime = (f"{meta.get('runtime_version') or meta['runtime']} {meta['precision']} "
                   f"({meta['threads']} threads)")
        batch_size = int(meta.get("batch_size") or batch_size)
        extra = {"threads": meta["threads"], "precision": meta["precision"], "measured": meta}
    elif args.measurements:
        archs, lat = read_measurements(args.measurements, args.space)
    else:
        raise InputError("give --measurements FILE.csv or --bundle DIR")
    prof = build_profile(args.name, args.space, archs, lat, args.out, device=args.device or args.name,
                         runtime=runtime, source=args.source, batch_size=batch_size,
                         peak_gflops=args.peak_gflops, bandwidth_gbs=args.bandwidth_gbs,
                         memory_gb=args.memory_gb, extra=extra)
    return _summary(prof, args)


def cmd_calibrate(args) -> int:
    from nas.latency.calibrate import build_profile, sample_distinct
    from nas.latency.measure import STATISTIC, measure_archs, pin_xla_threads
    from nas.latency.model import MIN_MEASUREMENTS
    from nas.latency.profile_io import check_profile_out
    from nas.search_spaces import get_space

    if args.runtime == "xla":
        pin_xla_threads(args.threads)
    if args.n < MIN_MEASUREMENTS:
        raise InputError(f"--n {args.n} is too few: the latency model needs at least {MIN_MEASUREMENTS}")
    if min(args.threads, args.repeats, args.passes, args.batch_size) < 1 or args.warmup < 0:
        raise InputError("--threads, --repeats, --passes and --batch-size must be at least 1, --warmup at least 0")
    check_profile_out(args.out)
    space = get_space(args.space)
    archs = sample_distinct(space, args.n, args.seed)
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task(f"measuring {len(archs)} subnets ({args.runtime})", total=len(archs) * args.passes)
        ms = measure_archs(space, archs, args.runtime, batch_size=args.batch_size, warmup=args.warmup,
                           repeats=args.repeats, threads=args.threads, passes=args.passes,
                           progress=lambda i: bar.advance(task))
    lat, mems, threads = [m.latency_ms for m in ms], [m.memory for m in ms], ms[0].threads
    extra = {"threads": threads, "measured": {
        "host": platform.node(), "cpu": platform.processor() or platform.machine(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "warmup": args.warmup,
        "repeats": args.repeats, "passes": args.passes,
        "statistic": f"{STATISTIC}; smallest over passes"},
        "runtime_memory": _memory_summary(mems)}
    prof = build_profile(args.name, args.space, archs, lat, args.out, device=args.device or
                         f"this machine ({platform.processor() or platform.machine()})",
                         runtime=f"{args.runtime} (CPU)", source="measured with nas profile calibrate",
                         batch_size=args.batch_size, peak_gflops=args.peak_gflops,
                         bandwidth_gbs=args.bandwidth_gbs, memory_gb=args.memory_gb, extra=extra)
    return _summary(prof, args)


def cmd_from_lut(args) -> int:
    from nas.latency.lookup import LUT_RUNTIME, build_lookup
    from nas.latency.profile import Profile
    from nas.latency.profile_io import LUT_HARDWARE, check_profile_out, save_profile

    check_profile_out(args.out)  # before anything is read or written
    lut = build_lookup(args.space, args.lut)
    prof = Profile(args.name, args.device or args.name, LUT_RUNTIME, 1, args.source, (args.space,), (),
                   LUT_HARDWARE, {}, extra={"lookup_files": [str(p) for p in args.lut]}, lut=lut)
    save_profile(prof, args.out)
    res = sorted(lut.tables)
    if args.json:
        emit_json({"name": prof.name, "path": str(prof.path), "space": args.space, "resolutions": res,
                   "ops": sum(len(t) for t in lut.tables.values())})
    else:
        print(f"{prof.name}: lookup tables of {args.space} at resolution {', '.join(map(str, res))} -> {prof.path}")
    return 0


def cmd_refit(args) -> int:
    from nas.latency.calibrate import refit_profile

    return _summary(refit_profile(args.profile, args.out), args)


def _memory_summary(mems: list[dict]) -> dict:
    """Runtime memory (XLA memory analysis) against the analytic figures, median over subnets."""
    import numpy as np

    keys = sorted({k for m in mems for k in m})
    return {k: int(np.median([m[k] for m in mems if k in m])) for k in keys}
