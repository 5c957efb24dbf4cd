"""The work directory of a run: every path under it is named here and nowhere else.

::

    config.json, config.prev.json     the resolved experiment config (and the one it replaced)
    supernet/                         stage 1: checkpoints/ (Orbax), metrics.jsonl, tb/, result.json
    search/accuracy_<id>.jsonl        supernet accuracy cache shared by all profiles (id: supernet_id)
    search/<profile>/                 stage 2 per profile (see :class:`SearchDir`)
    chosen.json                       the architectures chosen for final training
    final/<name>/                     stage 3: checkpoints/, weights/, metrics.jsonl, result.json
    final/_tune/                      Ray Tune's own records
    export/<name>/                    stage 4: arch.json, flax/, model.onnx, onnx_check.json
    latency_check.json, summary.json  stage 4
    report/                           index.html and its PNG figures
    scratch_check/                    a nested run dir (nas check scratch-vs-inherited)
    fidelity.json, fidelity/          supernet ranking fidelity (nas check fidelity)
    supernet_check.json               the supernet's middle against its ends (nas check supernet)
    search_check.json, search_check/  the chosen network against random ones (nas check search-vs-random)
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path


def is_profile_path(profile: str) -> bool:
    """Whether a profile reference (``search.profiles``, ``--profile``) is a YAML path rather
    than the name of a shipped profile."""
    s = str(profile)
    return s.endswith((".yaml", ".yml")) or "/" in s or os.sep in s


def profile_label(profile: str) -> str:
    """How a run names a profile: its name, or a YAML path's file stem (``my/phone.yaml``:
    ``phone``). The one rule for the search folder ``search/<label>/``, the summary's
    ``profiles``, ``latency_ms`` and ``chosen_for`` keys, and the report."""
    return Path(profile).stem if is_profile_path(profile) else str(profile)


@dataclass(frozen=True)
class SearchDir:
    """``search/<profile>/``: ``state.json`` (algorithm state + history + fingerprint, :mod:`nas.search.state_codec`),
    ``gen_0003.jsonl`` (generation 3's evaluated rows), ``front.jsonl``, ``metrics.jsonl``,
    ``evaluations.jsonl`` (evaluation cache), ``result.json`` (summary when finished)."""

    path: Path

    state = property(lambda self: self.path / "state.json")
    legacy_state = property(lambda self: self.path / "state.pkl")  # older versions' pickle: refused, never read
    front = property(lambda self: self.path / "front.jsonl")
    metrics = property(lambda self: self.path / "metrics.jsonl")
    evaluations = property(lambda self: self.path / "evaluations.jsonl")
    result = property(lambda self: self.path / "result.json")

    def generation(self, g: int) -> Path:
        return self.path / f"gen_{g:04d}.jsonl"

    def generations(self) -> list[Path]:
        return sorted(self.path.glob("gen_*.jsonl"))


@dataclass(frozen=True)
class TrainDir:
    """A training run's folder (``supernet/`` or ``final/<name>/``): ``checkpoints/`` (Orbax),
    ``result.json`` (written last: the run is finished), ``weights/`` (final networks) and
    ``weights.sha256`` (their checksum, written once they are complete),
    ``metrics.jsonl``, ``tb/`` (TensorBoard)."""

    path: Path

    checkpoints = property(lambda self: self.path / "checkpoints")
    result = property(lambda self: self.path / "result.json")
    weights = property(lambda self: self.path / "weights")
    weights_sha256 = property(lambda self: self.path / "weights.sha256")  # written after weights/: complete
    metrics = property(lambda self: self.path / "metrics.jsonl")
    tensorboard = property(lambda self: self.path / "tb")


@dataclass(frozen=True)
class ExportDir:
    """``export/<name>/``: ``arch.json`` (written last: the export's record), ``flax/`` (Orbax
    weights), ``model.onnx``, ``onnx_check.json``, ``model_int8.onnx``, ``model.tflite``, ``model_int8.tflite``,
    ``tflite_check.json``."""

    path: Path

    arch_json = property(lambda self: self.path / "arch.json")
    flax = property(lambda self: self.path / "flax")
    onnx = property(lambda self: self.path / "model.onnx")
    onnx_check = property(lambda self: self.path / "onnx_check.json")
    onnx_int8 = property(lambda self: self.path / "model_int8.onnx")
    tflite = property(lambda self: self.path / "model.tflite")
    tflite_int8 = property(lambda self: self.path / "model_int8.tflite")
    tflite_check = property(lambda self: self.path / "tflite_check.json")


@dataclass(frozen=True)
class RunDir:
    """Paths of one run's work directory (see module doc); creates nothing."""

    root: Path

    def __init__(self, root: str | os.PathLike):
        object.__setattr__(self, "root", Path(root))

    config = property(lambda self: self.root / "config.json")
    config_prev = property(lambda self: self.root / "config.prev.json")
    chosen = property(lambda self: self.root / "chosen.json")
    summary = property(lambda self: self.root / "summary.json")
    latency_check = property(lambda self: self.root / "latency_check.json")
    fidelity = property(lambda self: self.root / "fidelity.json")  # nas check fidelity
    fidelity_dir = property(lambda self: self.root / "fidelity")  # its stand-alone trainings and rows.json
    search_check = property(lambda self: self.root / "search_check.json")  # nas check search-vs-random
    supernet_check = property(lambda self: self.root / "supernet_check.json")  # nas check supernet
    search_check_dir = property(lambda self: self.root / "search_check")  # its fine-tunings (a nested run dir)
    report = property(lambda self: self.root / "report")
    supernet = property(lambda self: TrainDir(self.root / "supernet"))
    tune_storage = property(lambda self: self.root / "final" / "_tune")

    def search(self, profile: str) -> SearchDir:
        """Stage 2's folder for ``profile`` (a YAML path is stored under its file stem)."""
        return SearchDir(self.root / "search" / profile_label(profile))

    def supernet_id(self) -> str:
        """Short hash identifying the trained supernet: its fingerprint and the checksum of its
        final checkpoint as recorded in ``result.json`` (so a result recomputed from the same
        checkpoint keeps the id); for a result written before checksums, the file's bytes.
        OSError when there is none."""
        data = self.supernet.result.read_bytes()
        try:
            rec = json.loads(data)
            key = json.dumps([rec["fingerprint"], rec["checksums"]["checkpoint"]], sort_keys=True).encode()
        except (ValueError, KeyError, TypeError):
            key = data
        return hashlib.sha256(key).hexdigest()[:12]

    def accuracy_cache(self) -> Path:
        """The supernet accuracy cache of the current supernet (see :meth:`supernet_id`)."""
        return self.root / "search" / f"accuracy_{self.supernet_id()}.jsonl"

    def final(self, name: str) -> TrainDir:
        return TrainDir(self.root / "final" / name)

    def export(self, name: str) -> ExportDir:
        return ExportDir(self.root / "export" / name)

    @property
    def scratch_check(self) -> Path:
        """A nested run directory where ``nas check scratch-vs-inherited`` retrains
        chosen networks from scratch."""
        return self.root / "scratch_check"
