"""The networks that go to final training: chosen from the search's fronts, plus baselines."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, fields
from typing import Literal

import numpy as np

from nas.config import ExperimentConfig
from nas.errors import InputError
from nas.search_spaces import Arch, NetSpec, arch_to_json, get_reference_model, get_space


@dataclass
class Candidate:
    """A network to train: searched (``arch`` JSON), hand-designed baseline, or reference model."""

    name: str
    kind: Literal["searched", "baseline", "reference"]
    arch: dict | None = None  # JSON encoding in the experiment's space (searched, baseline)
    model: str = ""  # reference model name (kind "reference")
    chosen_for: list[str] = field(default_factory=list)  # profiles whose front it was chosen from
    supernet_accuracy: float | None = None

    def spec(self, cfg: ExperimentConfig, input_shape, num_classes: int) -> NetSpec:
        if self.arch is not None:
            space = get_space(cfg.space)
            return space.net_spec(space.from_json(self.arch))
        h, _, c = input_shape
        return get_reference_model(self.model, resolution=h, num_classes=num_classes, in_channels=c)

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, d, space: str, where: str) -> Candidate:
        """A candidate read back from ``chosen.json``, every field checked (its name becomes a
        folder name, its arch must decode in ``space``); InputError naming ``where``."""
        from nas.search_spaces.registry import REFERENCE_MODELS

        if not isinstance(d, dict) or set(d) - {f.name for f in fields(cls)} or not {"name", "kind"} <= set(d):
            raise InputError(f"{where}: a candidate must be an object with name, kind, arch or model")
        c = cls(**d)
        if not isinstance(c.name, str) or not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", c.name) or c.name[0] == ".":
            raise InputError(f"{where}: candidate name {c.name!r} must be letters, digits, '_', '-', '.'")
        if c.kind not in ("searched", "baseline", "reference"):
            raise InputError(f"{where}: {c.name}: unknown kind {c.kind!r}")
        if c.kind == "reference":
            if c.model not in REFERENCE_MODELS:
                raise InputError(f"{where}: {c.name}: unknown reference model {c.model!r}")
        else:
            try:
                get_space(space).from_json(c.arch)
            except InputError as e:
                raise InputError(f"{where}: {c.name}: {e}") from None
        if not isinstance(c.chosen_for, list) or not all(isinstance(p, str) for p in c.chosen_for):
            raise InputError(f"{where}: {c.name}: chosen_for must be a list of profile names")
        acc = c.supernet_accuracy
        if acc is not None and not (isinstance(acc, (int, float)) and not isinstance(acc, bool)
                                    and math.isfinite(acc) and 0 <= acc <= 1):
            raise InputError(f"{where}: {c.name}: supernet_accuracy must be a number in [0, 1], got {acc!r}")
        return c


def hand_designed(cfg: ExperimentConfig) -> Candidate:
    return Candidate("hand_designed", "baseline", arch_to_json(get_space(cfg.space).hand_designed()))


def choose_architectures(cfg: ExperimentConfig, fronts: dict[str, list[dict]]) -> list[Candidate]:
    """``final.top_k`` architectures per profile spread along its front (always its most
    accurate), merged across profiles, plus the space's hand-designed baseline (unless
    ``final.train_hand_designed`` is off) and the reference models of ``final.baselines``.
    ``chosen_for`` names the profiles as the run does (:func:`nas.rundir.profile_label`)."""
    from nas.rundir import profile_label

    space = get_space(cfg.space)
    chosen: dict[Arch, Candidate] = {}
    for profile, front in fronts.items():
        rows = sorted(front, key=lambda r: r.get("latency_ms", 0.0))
        if not rows:
            continue
        picks = sorted({int(round(i)) for i in np.linspace(len(rows) - 1, 0, min(cfg.final.top_k, len(rows)))})
        for i in picks:
            arch = space.canonical(space.from_json(rows[i]["arch"]))
            if arch not in chosen:
                chosen[arch] = Candidate(f"searched_{len(chosen)}", "searched", arch_to_json(arch),
                                         supernet_accuracy=rows[i].get("accuracy"))
            chosen[arch].chosen_for.append(profile_label(profile))
    cands = list(chosen.values())
    if cfg.final.train_hand_designed:
        cands.append(hand_designed(cfg))
    cands += [Candidate(m, "reference", model=m) for m in cfg.final.baselines]
    return cands
