"""``nas supernet import-ofa``: import Once-for-All's published MobileNetV3 supernet once;
``nas supernet eval``: a run's supernet scores given subnets as its search does."""
from __future__ import annotations

from nas.cli.output import emit_json, read_arch_jsonl


def register(sub) -> None:
    p = sub.add_parser("supernet", help="supernets: score subnets with inherited weights, import OFA's")
    ssub = p.add_subparsers(dest="supernet_command", required=True, metavar="SUBCOMMAND")
    imp = ssub.add_parser("import-ofa", help="convert OFA's ofa_mbv3_d234_e346_k357_w1.0 checkpoint (PyTorch "
                          "file, downloaded by you) into a jaxnas supernet folder for supernet.init")
    imp.add_argument("checkpoint", help="OFA's .pth file (needs PyTorch: pip install 'jaxnas[ofa]')")
    imp.add_argument("--out", required=True, help="empty folder to write the supernet to")
    imp.add_argument("--json", action="store_true")
    imp.set_defaults(func=cmd_import_ofa)
    ev = ssub.add_parser("eval", help="inherited accuracy of the given subnets on a run's supernet, scored exactly as "
                         "its search scores candidates (validation split, BN recalibrated; through its cache)")
    ev.add_argument("workdir", help="a run whose supernet is trained or imported")
    ev.add_argument("--archs", required=True, metavar="FILE.jsonl",
                    help="one architecture of the run's space per line (or an object with an \"arch\" field)")
    ev.add_argument("--json", action="store_true", help='one {"accuracy", "macs"} object per line, in input order')
    ev.set_defaults(func=cmd_eval)


def cmd_eval(args) -> int:
    from nas.api import evaluate, load_workdir_config
    from nas.search_spaces import arch_dumps, arch_stats

    cfg = load_workdir_config(args.workdir)
    archs = read_arch_jsonl(args.archs, cfg.space)
    for a, acc in zip(archs, evaluate(cfg, args.workdir, archs)):
        macs = float(arch_stats(a).macs)
        if args.json:
            emit_json({"accuracy": acc, "macs": macs})
        else:
            print(f"{100 * acc:7.2f}%  {macs / 1e6:8.2f} MMACs  {arch_dumps(a)}")
    return 0


def cmd_import_ofa(args) -> int:
    from nas.pretrained.init import import_to_folder

    rec = import_to_folder(args.checkpoint, args.out)
    src = rec["source"]
    if args.json:
        emit_json({"out": rec["out"], "file": src["file"], "sha256": src["sha256"],
                   "already_imported": bool(rec.get("already_imported"))})
    else:
        verb = "already imported in" if rec.get("already_imported") else "imported into"
        print(f"{src['file']} (sha256 {src['sha256'][:16]}…) {verb} {rec['out']}; "
              f"run with --set supernet.init={rec['out']}")
    return 0
