"""``nas supernet import-ofa``: import Once-for-All's published MobileNetV3 supernet once."""
from __future__ import annotations

from nas.cli.output import emit_json


def register(sub) -> None:
    p = sub.add_parser("supernet", help="supernets trained elsewhere: import")
    ssub = p.add_subparsers(dest="supernet_command", required=True, metavar="SUBCOMMAND")
    imp = ssub.add_parser("import-ofa", help="convert OFA's ofa_mbv3_d234_e346_k357_w1.0 checkpoint (PyTorch "
                          "file, downloaded by you) into a jaxnas supernet folder for supernet.init")
    imp.add_argument("checkpoint", help="OFA's .pth file (needs PyTorch: pip install 'jaxnas[ofa]')")
    imp.add_argument("--out", required=True, help="empty folder to write the supernet to")
    imp.add_argument("--json", action="store_true")
    imp.set_defaults(func=cmd_import_ofa)


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
