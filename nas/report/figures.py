"""Report figures (matplotlib, headless): fronts per profile, hypervolume, latency check.

Every function takes plain data (lists of dicts as stored in the work directory) and a path,
writes one PNG and returns the path.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402

MARKERS = {"searched": ("*", "tab:red", 160), "baseline": ("s", "tab:green", 70),
           "reference": ("D", "tab:purple", 60)}


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")  # legends placed outside the axes included
    plt.close(fig)
    return path


def _mark(ax, x: float, y: float, kind: str, name: str, label: str, seen: set) -> None:
    """One highlighted network: marker by kind, legend entry once per label, name annotated."""
    marker, color, size = MARKERS.get(kind, MARKERS["searched"])
    ax.scatter([x], [y], marker=marker, color=color, s=size, edgecolor="k", zorder=5,
               label=None if label in seen else label)
    seen.add(label)
    ax.annotate(name, (x, y), fontsize=7, xytext=(4, 3), textcoords="offset points")


def _front_line(points: list[tuple[float, float]]):
    pts = sorted(points)
    return [p[0] for p in pts], [p[1] for p in pts]


def fronts_figure(profiles: dict[str, dict], path: Path, ylabel: str = "supernet accuracy (%)") -> Path:
    """Accuracy against predicted latency, one panel per profile, side by side.

    ``profiles[name]`` holds ``evaluated`` and ``front`` (lists of dicts with ``accuracy`` and
    ``latency_ms``; evaluated rows with ``feasible`` false are drawn as crosses) and ``marked``
    (dicts with ``name``, ``kind``, ``accuracy``, ``latency_ms``).
    """
    n = max(1, len(profiles))
    fig, axes = plt.subplots(1, n, figsize=(4.6 * n, 4.0), squeeze=False)
    for ax, (name, d) in zip(axes[0], profiles.items()):
        ev = [r for r in d.get("evaluated", []) if "accuracy" in r and "latency_ms" in r]
        for ok, style in ((True, dict(color="0.6", label="evaluated, within budgets")),
                          (False, dict(color="0.6", marker="x", alpha=0.6, label="evaluated, over a budget"))):
            pts = [r for r in ev if r.get("feasible", True) is ok]
            if pts:
                ax.scatter([r["latency_ms"] for r in pts], [100 * r["accuracy"] for r in pts], s=9, **style)
        fr = [(r["latency_ms"], 100 * r["accuracy"]) for r in d.get("front", [])
              if "accuracy" in r and "latency_ms" in r]
        if fr:
            xs, ys = _front_line(fr)
            ax.plot(xs, ys, "-o", color="tab:blue", ms=4, drawstyle="steps-post", label="Pareto front")
        seen = set()
        for m in d.get("marked", []):
            if m.get("accuracy") is None or m.get("latency_ms") is None:
                continue
            label = {"searched": "chosen", "baseline": "hand-designed baseline",
                     "reference": "reference model"}.get(m.get("kind"), m.get("kind"))
            _mark(ax, m["latency_ms"], 100 * m["accuracy"], m.get("kind"), m.get("name", ""), label, seen)
        ax.set_title(name)
        ax.set_xlabel("predicted latency (ms)")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    # below the panels, where no point or network name can be under it
    handles = {}
    for ax in axes[0]:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(lab, h)
    if handles:
        fig.legend(list(handles.values()), list(handles), fontsize=7, loc="upper center",
                   bbox_to_anchor=(0.5, 0.0), ncol=min(len(handles), 3 * n))
    return _save(fig, path)


def hypervolume_figure(histories: dict[str, list[dict]], path: Path) -> Path:
    """Hypervolume by generation (``histories[profile]`` = rows with generation, hypervolume)."""
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    for name, rows in histories.items():
        rows = [r for r in rows if r.get("hypervolume") is not None and r.get("generation") is not None]
        ax.plot([r["generation"] for r in rows], [r["hypervolume"] for r in rows], "-o", ms=3, label=name)
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))  # generations are whole
    ax.set_xlabel("generation")
    ax.set_ylabel("hypervolume (objective units)")
    ax.grid(alpha=0.3)
    if histories:
        ax.legend(fontsize=8)
    return _save(fig, path)


def latency_check_figure(rows: list[dict], path: Path, profile: str) -> Path:
    """Predicted against measured latency (rows with predicted_ms, measured_ms, name)."""
    fig, ax = plt.subplots(figsize=(4.4, 4.0))
    pred = [r["predicted_ms"] for r in rows]
    meas = [r["measured_ms"] for r in rows]
    ax.scatter(meas, pred, color="tab:orange", edgecolor="k", zorder=3)
    for r in rows:
        ax.annotate(r.get("name", ""), (r["measured_ms"], r["predicted_ms"]), fontsize=7,
                    xytext=(3, 3), textcoords="offset points")
    if rows:
        lo, hi = min(pred + meas) * 0.8, max(pred + meas) * 1.2
        ax.plot([lo, hi], [lo, hi], "k--", lw=1, label="y = x")
        ax.fill_between([lo, hi], [0.9 * lo, 0.9 * hi], [1.1 * lo, 1.1 * hi], color="0.85", label="±10%")
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        ax.legend(fontsize=8)
    ax.set_xlabel("measured latency (ms)")
    ax.set_ylabel(f"predicted latency, {profile} (ms)")
    ax.grid(alpha=0.3)
    return _save(fig, path)


def macs_accuracy_figure(rows: list[dict], path: Path) -> Path:
    """Test accuracy against MACs of the finally trained networks (chosen and baselines)."""
    fig, ax = plt.subplots(figsize=(5.0, 3.8))
    seen = set()
    trained = [r for r in rows if r.get("test_accuracy") is not None]
    for r in trained:
        _mark(ax, r["macs"] / 1e6, 100 * r["test_accuracy"], r.get("kind"), r.get("name", ""),
              r.get("kind"), seen)
    for kind in ("searched", "reference"):  # each family joined in MAC order: the fronts to compare
        pts = [(r["macs"] / 1e6, 100 * r["test_accuracy"]) for r in trained if r.get("kind") == kind]
        if len(pts) > 1:
            xs, ys = _front_line(pts)
            ax.plot(xs, ys, "-", color=MARKERS[kind][1], lw=1, alpha=0.7, zorder=4)
    ax.set_xlabel("MACs (millions)")
    ax.set_ylabel("test accuracy after final training (%)")
    ax.grid(alpha=0.3)
    if seen:
        ax.legend(fontsize=8)
    return _save(fig, path)


def supernet_check_figure(rows: list[dict], path: Path) -> Path:
    """Inherited accuracy against MACs (log scale) of ``nas check supernet``'s subnets: the two
    ends joined by the straight line the random subnets are judged against."""
    fig, ax = plt.subplots(figsize=(5.6, 3.8))
    ends = {r["name"]: r for r in rows if r["name"] in ("smallest", "largest")}
    for kind, color, label in (("uniform", "tab:blue", "random (uniform)"), ("macs", "tab:orange",
                                                                            "random (spread over MACs)")):
        pts = [r for r in rows if r["name"].startswith(kind + "_")]
        if pts:
            ax.scatter([r["macs"] / 1e6 for r in pts], [100 * r["accuracy"] for r in pts], s=14, color=color,
                       alpha=0.75, label=label)
    if len(ends) == 2:
        xs = [ends["smallest"]["macs"] / 1e6, ends["largest"]["macs"] / 1e6]
        ys = [100 * ends["smallest"]["accuracy"], 100 * ends["largest"]["accuracy"]]
        ax.plot(xs, ys, "k-", lw=1, label="smallest to largest")
        ax.scatter(xs, ys, marker="D", color="k", s=36, zorder=5)
    ax.set_xscale("log")
    plain = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}")
    ax.xaxis.set_major_formatter(plain)
    ax.xaxis.set_minor_formatter(plain)
    ax.tick_params(axis="x", which="minor", labelsize=7)
    ax.set_xlabel("MACs (millions, log scale)")
    ax.set_ylabel("supernet accuracy (%)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="best")
    return _save(fig, path)
