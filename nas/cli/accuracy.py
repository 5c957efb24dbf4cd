"""``nas accuracy fit | predict | import-ofa``: accuracy predictors (fitted on rows of measured
accuracy, or Once-for-All's published one), in the shape of ``nas latency``."""
from __future__ import annotations

from nas.cli.output import emit_json, read_arch_jsonl, seed
from nas.search_spaces import arch_dumps

MODEL_CHOICES = ("auto", "ridge", "gp", "mlp")


def register(sub) -> None:
    p = sub.add_parser("accuracy", help="accuracy predictors: fit, predict, import Once-for-All's")
    asub = p.add_subparsers(dest="accuracy_command", required=True, metavar="SUBCOMMAND")
    fit = asub.add_parser("fit", help="fit a predictor to a CSV of arch,accuracy rows (accuracy in [0, 1])")
    fit.add_argument("--space", required=True)
    fit.add_argument("--csv", required=True, metavar="ROWS.csv")
    fit.add_argument("--out", required=True, metavar="PRED.npz")
    fit.add_argument("--model", choices=MODEL_CHOICES, default="auto",
                     help="model family (auto: the best 5-fold cross-validated Kendall tau on the rows)")
    fit.add_argument("--seed", type=seed, default=0)
    fit.add_argument("--json", action="store_true")
    fit.set_defaults(func=cmd_fit)
    pr = asub.add_parser("predict", help="predicted accuracy of architectures, one per line, input order")
    pr.add_argument("--predictor", required=True, metavar="PRED.npz")
    pr.add_argument("--space", required=True)
    pr.add_argument("--archs", required=True, metavar="FILE.jsonl")
    pr.add_argument("--json", action="store_true")
    pr.set_defaults(func=cmd_predict)
    im = asub.add_parser("import-ofa", help="import Once-for-All's acc_predictor.pth (space ofa_mbv3_w12)")
    im.add_argument("checkpoint", metavar="acc_predictor.pth")
    im.add_argument("--out", required=True, metavar="PRED.npz")
    im.add_argument("--json", action="store_true")
    im.set_defaults(func=cmd_import_ofa)


def _report(pred, args) -> int:
    info = {"path": str(pred.path), "space": pred.space, "model": pred.model, "encoding": pred.encoding,
            "rows": pred.meta.get("rows"), "fit": pred.meta.get("fit", {})}
    if args.json:
        emit_json(info)
    else:
        fit = info["fit"]
        extra = ""
        if "cv" in fit:
            extra = " (chosen by 5-fold CV Kendall tau: " + ", ".join(
                f"{m} {t:.3f}" for m, t in fit["cv"]["kendall_tau"].items()) + ")"
        rows = f" on {info['rows']} rows" if info["rows"] else ""
        print(f"accuracy predictor {pred.model}{rows} for {pred.space}{extra} -> {pred.path}")
    return 0


def cmd_fit(args) -> int:
    from nas.accuracy import check_predictor_out, fit_predictor, save_predictor
    from nas.latency.measurements import read_measurements
    from nas.search_spaces import get_space

    check_predictor_out(args.out)  # before anything is read or written
    get_space(args.space)
    archs, acc = read_measurements(args.csv, args.space, "accuracy", valid=lambda v: 0 <= v <= 1,
                                   valid_text="a fraction in [0, 1]", unique=True, what="accuracy CSV")
    pred = fit_predictor(args.space, archs, acc, args.model, seed=args.seed, source=str(args.csv))
    save_predictor(pred, args.out)
    return _report(pred, args)


def cmd_predict(args) -> int:
    from nas.accuracy import load_predictor

    pred = load_predictor(args.predictor, args.space)
    archs = read_arch_jsonl(args.archs, args.space)
    mean, std = pred.predict(archs)
    for i, a in enumerate(archs):
        if args.json:
            emit_json({"accuracy": float(mean[i]), **({"std": float(std[i])} if std is not None else {})})
        else:
            band = f" ± {100 * std[i]:.2f}" if std is not None else ""
            print(f"{100 * mean[i]:7.2f}%{band}  {arch_dumps(a)}")
    return 0


def cmd_import_ofa(args) -> int:
    from nas.accuracy import check_predictor_out, save_predictor
    from nas.accuracy.ofa import import_ofa_predictor

    check_predictor_out(args.out)
    pred = import_ofa_predictor(args.checkpoint)
    if not pred.meta.get("rows"):
        pred.meta.pop("rows", None)
    save_predictor(pred, args.out)
    return _report(pred, args)
