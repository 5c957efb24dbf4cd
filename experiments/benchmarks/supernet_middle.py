"""The middle against the ends, for every supernet in the committed rows of `nas check supernet`.

    python -m experiments.benchmarks.supernet_middle [--rows docs/benchmarks/supernet_check_rows.json]

Reads the rows (each supernet's ends and random subnets, as `nas check supernet --rows` wrote them,
possibly over several sittings), writes the table into docs/benchmarks/supernet.md between its
``supernet-middle`` markers and one figure per supernet side by side
(docs/benchmarks/supernet_middle.png). Labels come from ``LABELS`` (supernet id -> words).
"""
from __future__ import annotations

import argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "benchmarks" / "supernet.md"
FIGURE = ROOT / "docs" / "benchmarks" / "supernet_middle.png"
LABELS = {  # supernet id (WORKDIR/supernet/result.json's fingerprint and checkpoint) -> what it is
    "2336cc6df080": "sandwich, 6 epochs (pretrained:fashion_mnist_sandwich)",
    "d7cfe8fd20e4": "+ progressive shrinking 3.5 epochs (pretrained:fashion_mnist)",
    "control": "+ sandwich 3.5 epochs, same compute",
}


def by_supernet(rows: dict) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in rows.values():
        out.setdefault(r["supernet_id"], []).append(r)
    return {k: v for k, v in out.items() if {"smallest", "largest"} <= {r["name"] for r in v}}


def table(groups: dict[str, list[dict]]) -> str:
    from nas.checks.supernet_middle import line_summary

    lines = ["| supernet | random subnets | smallest | largest | on or above the line | worst below the line | "
             "worst below the smallest | Spearman vs MACs |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for sid, rs in groups.items():
        ends = {r["name"]: r for r in rs}
        s = line_summary([r for r in rs if r["name"] not in ("smallest", "largest")],
                         ends["smallest"], ends["largest"])
        rho = "–" if s["spearman"] is None else f"{s['spearman']:.2f}"
        lines.append(f"| {LABELS.get(sid, sid)} | {s['n']} | {100 * s['smallest']:.2f}% | {100 * s['largest']:.2f}% | "
                     f"{100 * s['share_on_or_above']:.0f}% | {100 * s['worst_below_line']:.2f} pt | "
                     f"{100 * s['worst_below_smallest']:.2f} pt | {rho} |")
    return "\n".join(lines)


def figure(groups: dict[str, list[dict]], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, axes = plt.subplots(1, len(groups), figsize=(4.6 * len(groups), 3.8), sharey=True, squeeze=False)
    for ax, (sid, rs) in zip(axes[0], groups.items()):
        ends = {r["name"]: r for r in rs if r["name"] in ("smallest", "largest")}
        pts = [r for r in rs if r["name"] not in ends]
        ax.scatter([r["macs"] / 1e6 for r in pts], [100 * r["accuracy"] for r in pts], s=12, alpha=0.7,
                   label="random subnets")
        xs = [ends["smallest"]["macs"] / 1e6, ends["largest"]["macs"] / 1e6]
        ys = [100 * ends["smallest"]["accuracy"], 100 * ends["largest"]["accuracy"]]
        ax.plot(xs, ys, "k-D", ms=5, lw=1, label="smallest to largest")
        ax.set_xscale("log")
        plain = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}")
        ax.xaxis.set_major_formatter(plain)
        ax.xaxis.set_minor_formatter(plain)
        ax.tick_params(axis="x", which="minor", labelsize=7)
        ax.set_title(LABELS.get(sid, sid), fontsize=8)
        ax.set_xlabel("MACs (millions, log scale)")
        ax.grid(alpha=0.3, which="both")
    axes[0][0].set_ylabel("supernet accuracy, validation (%)")
    axes[0][0].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def main(argv=None) -> None:
    from nas.checks.rows import load_rows

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default=str(ROOT / "docs" / "benchmarks" / "supernet_check_rows.json"))
    args = ap.parse_args(argv)
    groups = by_supernet(load_rows(args.rows))
    figure(groups, FIGURE)
    text = DOC.read_text()
    a, b = "<!-- supernet-middle:start -->", "<!-- supernet-middle:end -->"
    i, j = text.index(a) + len(a), text.index(b)
    DOC.write_text(text[:i] + "\n" + table(groups) + "\n\n![the middle against the ends](supernet_middle.png)\n"
                   + text[j:])
    print(table(groups))


if __name__ == "__main__":
    main()
