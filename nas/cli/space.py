"""``nas space list`` and ``nas space sample``."""
from __future__ import annotations

import jax

from nas.cli.output import count, emit_json, seed
from nas.errors import InputError
from nas.search_spaces import arch_dumps, arch_stats, arch_to_json, get_space, list_spaces


def register(sub) -> None:
    p = sub.add_parser("space", help="search spaces: list, show, sample")
    ssub = p.add_subparsers(dest="space_command", required=True, metavar="SUBCOMMAND")
    ls = ssub.add_parser("list", help="list search spaces")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_list)
    sh = ssub.add_parser("show", help="a space's declaration, size and the cost of its smallest and largest networks")
    sh.add_argument("space", help="a space name, a YAML declaration file, or module:attribute")
    sh.add_argument("--json", action="store_true")
    sh.set_defaults(func=cmd_show)
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


def space_summary(sp) -> dict:
    """What ``nas space show`` prints: the declaration, the number of subnets, and the MACs,
    parameters and peak activation memory of the smallest and largest networks."""
    try:
        decl = sp.declaration()
    except NotImplementedError:
        decl = {"name": sp.name, "python": type(sp).__module__ + "." + type(sp).__qualname__}
    out = {"name": sp.name, "declaration": decl, "num_subnets": str(sp.num_distinct()), "num_genes": sp.num_genes,
           "num_classes": sp.num_classes, "classes": "pinned" if sp.pins_classes else "from the data"}
    for end, arch in (("smallest", sp.smallest()), ("largest", sp.largest())):
        s = arch_stats(arch)
        out[end] = {"arch": arch_to_json(arch), "macs": s.macs, "params": s.params,
                    "peak_activation_bytes": s.peak_activation_bytes}
    return out


def cmd_show(args) -> int:
    import yaml

    from nas.search_spaces import load_space

    info = space_summary(load_space(args.space))
    if args.json:
        emit_json(info)
        return 0
    print(yaml.safe_dump(info["declaration"], sort_keys=False, default_flow_style=None, width=100).rstrip())
    print(f"# {int(info['num_subnets']):.3e} subnets ({info['num_genes']} genes); classifier: "
          f"{info['num_classes']} classes ({info['classes']})")
    for end in ("smallest", "largest"):
        e = info[end]
        print(f"# {end:8s} {e['macs'] / 1e6:9.2f} M MACs  {e['params'] / 1e6:7.3f} M params  "
              f"{e['peak_activation_bytes'] / 1024:9.1f} KiB peak activation")
    return 0
