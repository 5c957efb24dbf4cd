"""``nas space list`` and ``nas space sample``."""
from __future__ import annotations

import jax

from nas.cli.output import count, emit_json, seed
from nas.errors import InputError
from nas.search_spaces import arch_dumps, arch_stats, arch_to_json, get_space, list_spaces


def register(sub) -> None:
    p = sub.add_parser("space", help="search spaces: list, sample")
    ssub = p.add_subparsers(dest="space_command", required=True, metavar="SUBCOMMAND")
    ls = ssub.add_parser("list", help="list search spaces")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_list)
    sm = ssub.add_parser("sample", help="uniformly sample architectures (one JSON per line)")
    sm.add_argument("space")
    sm.add_argument("--n", type=count(1, 1_000_000), default=1)
    sm.add_argument("--seed", type=seed, default=0)
    sm.add_argument("--json", action="store_true")
    sm.set_defaults(func=cmd_sample)


def cmd_list(args) -> int:
    for name in list_spaces():
        sp = get_space(name)
        if args.json:
            emit_json({"name": name, "num_genes": sp.num_genes, "num_distinct": str(sp.num_distinct()),
                       "description": sp.description})
        else:
            print(f"{name:15s} {sp.num_distinct():.3e} subnets  {sp.description}")
    return 0


def cmd_sample(args) -> int:
    if args.n < 1:
        raise InputError(f"--n must be at least 1, got {args.n}")
    sp = get_space(args.space)
    for arch in sp.sample(jax.random.key(args.seed), args.n):
        if args.json:
            emit_json(arch_to_json(arch))
        else:
            s = arch_stats(arch)
            print(f"{arch_dumps(arch)}  MACs={s.macs / 1e6:.2f}M params={s.params / 1e6:.3f}M")
    return 0
