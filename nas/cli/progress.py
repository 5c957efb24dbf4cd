"""The search's progress bars on stderr: one bar per profile, generation by generation."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager


def format_value(name: str, v: float) -> str:
    return f"{name}={v:.4f}" if name == "accuracy" else f"{name}={v:.4g}"


@contextmanager
def search_progress(console, indent: str = "") -> Iterator[Callable[[str, dict], None]]:
    """Yields ``on_generation(profile, metrics)`` (as :func:`nas.pipeline.search.run_stage` calls
    it) that advances the profile's bar and shows hypervolume and the best feasible values."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total} gen"),
                  TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TextColumn("ETA"),
                  TimeRemainingColumn(), console=console) as progress:
        tasks = {}

        def on_generation(profile: str, m: dict) -> None:
            if profile not in tasks:
                tasks[profile] = progress.add_task(f"{indent}search {profile}", total=m["generations"], info="")
            best = " ".join(format_value(k, v) for k, v in m["best"].items()) or "no feasible yet"
            progress.update(tasks[profile], completed=m["generation"] + 1,
                            info=f"HV={m['hypervolume']:.4g} {best}")

        yield on_generation
