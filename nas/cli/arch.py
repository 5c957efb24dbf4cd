"""``nas arch stats``: analytic costs of an architecture or a reference model."""
from __future__ import annotations

from nas.cli.output import emit_json
from nas.errors import InputError
from nas.search_spaces import arch_from_json, arch_stats, get_reference_model, net_stats


def register(sub) -> None:
    p = sub.add_parser("arch", help="architectures: stats")
    asub = p.add_subparsers(dest="arch_command", required=True, metavar="SUBCOMMAND")
    st = asub.add_parser("stats", help="MACs, FLOPs, params and peak activation bytes")
    st.add_argument("space", nargs="?", help="search space of --arch")
    st.add_argument("--arch", help="architecture JSON in the space's encoding")
    st.add_argument("--model", help="reference model name (mobilenet_v2, mobilenet_v2_0.35|0.5|0.75|1.4, "
                    "mobilenet_v3_large, efficientnet_b0)")
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=cmd_stats)


def cmd_stats(args) -> int:
    if args.model:
        if args.space or args.arch:
            raise InputError("give either SPACE --arch JSON or --model NAME, not both")
        stats = net_stats(get_reference_model(args.model))
    else:
        if not (args.space and args.arch):
            raise InputError("give SPACE --arch JSON or --model NAME")
        stats = arch_stats(arch_from_json(args.space, args.arch))
    d = stats.to_dict()
    if args.json:
        emit_json(d)
    else:
        print(f"MACs {d['macs'] / 1e6:.2f}M  FLOPs {d['flops'] / 1e6:.2f}M  params {d['params'] / 1e6:.3f}M  "
              f"peak activation {d['peak_activation_bytes'] / 1024:.1f} KiB")
    return 0
