"""Progressive shrinking (Once-for-All), ``supernet.schedule: progressive``.

Training runs in phases, each enlarging the set of subnets trained:

* ``head``: the largest subnet, its classifier alone trained (transfer: a supernet of other data,
  given as ``supernet.init``, gets a new classifier for the run's classes, :mod:`nas.train.transfer`);
* ``full``: the largest subnet alone (every elastic choice at its maximum);
* ``kernel``: elastic kernel size (depth and expansion at their maxima);
* ``depth``: elastic kernel and depth;
* ``expand``: elastic kernel, depth and expansion, and width in a space with elastic width (the
  whole space).

The resolution is elastic in every phase (streamed data draws one per step). Each step of an
elastic phase trains the largest subnet on the labels and, distilled from its predictions, the
phase's smallest subnet and ``supernet.num_random_subnets`` random subnets of the phase (drawn
as ``supernet.sampling`` says). Each phase has its own learning rate, warm-up and cosine decay.

All phases are one run of :func:`nas.train.fit` (one step counter, one checkpoint folder), so a
run killed anywhere, in the middle of a phase too, resumes where it stopped and ends with the
weights of an uninterrupted run. Phases must begin with ``full`` unless ``supernet.init`` gives
a trained network to start from (``head`` needs one); they follow the order above and may skip a
phase.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from nas.errors import InputError, check_mapping

PHASES = ("head", "full", "kernel", "depth", "expand")
ELASTIC = {"head": frozenset(), "full": frozenset(), "kernel": frozenset({"kernel"}),
           "depth": frozenset({"kernel", "depth"}), "expand": frozenset({"kernel", "depth", "expand", "width"})}
PHASE_KEYS = ("name", "epochs", "learning_rate", "warmup_epochs")
DEFAULT_SHARES = {"full": 0.4, "kernel": 0.2, "depth": 0.2, "expand": 0.2}  # of supernet.epochs, phases unset


@dataclass(frozen=True)
class Phase:
    name: str
    epochs: float
    learning_rate: float
    warmup_epochs: float

    @property
    def elastic(self) -> frozenset:
        return ELASTIC[self.name]

    def to_json(self) -> dict:
        return {"name": self.name, "epochs": self.epochs, "learning_rate": self.learning_rate,
                "warmup_epochs": self.warmup_epochs}


def _number(value, where: str, *, positive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value < 0 or (positive and value == 0):
        raise InputError(f"{where}: must be a {'positive' if positive else 'non-negative'} number, got {value!r}")
    return float(value)


def resolve_phases(supernet) -> list[Phase]:
    """The phases of ``supernet`` (:class:`nas.config.SupernetConfig`) with every default filled
    in; ``[]`` for the sandwich schedule. InputError naming the field for an unknown phase or
    key, a bad number, phases out of order or repeated, phases given to the sandwich schedule,
    or a phase list that skips the full network without ``supernet.init``."""
    s = supernet
    if s.schedule != "progressive":
        if s.phases:
            raise InputError("supernet.phases: only the progressive schedule has phases "
                             f"(supernet.schedule is {s.schedule!r})")
        return []
    given = s.phases or [{"name": n, "epochs": s.epochs * DEFAULT_SHARES[n]}
                         for n in DEFAULT_SHARES if s.init == "" or n != "full"]
    if not isinstance(given, list) or not given:
        raise InputError("supernet.phases: a list of phases ({\"name\": ..., \"epochs\": ...})")
    out, last = [], -1
    for i, p in enumerate(given):
        where = f"supernet.phases[{i}]"
        check_mapping(p, PHASE_KEYS, where)
        name = p.get("name")
        if name not in PHASES:
            raise InputError(f"{where}.name: unknown phase {name!r} (known, in order: {', '.join(PHASES)})")
        if PHASES.index(name) <= last:
            raise InputError(f"{where}.name: {name!r} out of order or repeated (phases run in the order "
                             f"{', '.join(PHASES)})")
        last = PHASES.index(name)
        if "epochs" not in p:
            raise InputError(f"{where}.epochs: missing")
        out.append(Phase(name, _number(p["epochs"], f"{where}.epochs", positive=True),
                         _number(p.get("learning_rate", s.learning_rate), f"{where}.learning_rate", positive=True),
                         _number(p.get("warmup_epochs", min(s.warmup_epochs, 0.1 * p["epochs"])),
                                 f"{where}.warmup_epochs", positive=False)))
    if out[0].name == "head" and not s.init:
        raise InputError("supernet.phases: a 'head' phase trains the classifier of a supernet given as "
                         "supernet.init; there is none")
    if out[0].name != "full" and not s.init:
        raise InputError(f"supernet.phases: the first phase is {out[0].name!r}, but progressive shrinking starts "
                         "from a trained full network: begin with {\"name\": \"full\", ...} or set supernet.init")
    return out


@dataclass(frozen=True)
class PhasePlan:
    """Step ranges of the phases: ``starts[i]`` is phase i's first step, ``steps[i]`` its length."""
    phases: tuple
    starts: tuple
    steps: tuple
    warmups: tuple

    @property
    def total(self) -> int:
        return self.starts[-1] + self.steps[-1]

    def index(self, step: int) -> int:
        """The phase of ``step`` (steps past the end belong to the last phase)."""
        i = 0
        while i + 1 < len(self.starts) and step >= self.starts[i + 1]:
            i += 1
        return i

    def learning_rate(self, step: int) -> float:
        """Phase-wise: linear warm-up to the phase's rate, then cosine to 0 at the phase's end."""
        i = self.index(step)
        t, n, w, lr = step - self.starts[i], self.steps[i], self.warmups[i], self.phases[i].learning_rate
        if t < w:
            return lr * t / w
        return 0.5 * lr * (1 + math.cos(math.pi * min(1.0, (t - w) / max(n - w, 1))))

    def describe(self) -> list[dict]:
        return [{"name": p.name, "first_step": a, "steps": n} for p, a, n in zip(self.phases, self.starts, self.steps)]


def plan(phases: list[Phase], steps_per_epoch: int, max_steps: int = 0) -> PhasePlan:
    """Step ranges of ``phases`` (``ceil(epochs * steps_per_epoch)`` each, at least 1);
    ``max_steps > 0`` below their sum gives every phase an equal share of it (at least one step
    each, so a smoke run passes through every phase)."""
    steps = [max(1, math.ceil(p.epochs * steps_per_epoch)) for p in phases]
    if max_steps > 0 and sum(steps) > max_steps:
        share = max(1, max_steps // len(phases))
        steps = [share] * len(phases)
    warm = [min(int(round(p.warmup_epochs * steps_per_epoch)), n - 1) for p, n in zip(phases, steps)]
    starts = [sum(steps[:i]) for i in range(len(steps))]
    return PhasePlan(tuple(phases), tuple(starts), tuple(steps), tuple(warm))


def phase_sampler(model, space, phase_plan: PhasePlan, num_random: int, seed: int, sampling: str = "uniform"):
    """``sample_archs(step)`` of progressive shrinking: ``[largest]`` in the full phase; in an
    elastic phase ``[largest, the phase's smallest, num_random random subnets of the phase]``
    (subnets after the first learn from the largest's predictions when distillation is on)."""
    import jax

    from nas.train.forward import stack_archs
    from nas.train.sampling import restrict, sample_random_subnets

    largest = model.arch_arrays(space.largest())
    smallest = {p.name: model.arch_arrays(restrict(space, space.smallest(), p.elastic))
                for p in phase_plan.phases if p.elastic}
    base = jax.random.key(seed + 1)

    def sample_archs(step: int) -> dict:
        phase = phase_plan.phases[phase_plan.index(step)]
        if not phase.elastic:
            return stack_archs([largest])
        randoms = sample_random_subnets(space, jax.random.fold_in(base, step), num_random, sampling,
                                        elastic=phase.elastic)
        return stack_archs([largest, smallest[phase.name]] + [model.arch_arrays(a) for a in randoms])

    return sample_archs
