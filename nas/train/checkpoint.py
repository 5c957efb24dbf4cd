"""Orbax checkpoints of a training run, guarded by a fingerprint of what they belong to.

A checkpoint holds two items: ``arrays`` (the flat leaves of the training state, named
``a00000``, ``a00001``, ...) and ``meta`` (JSON: step, the run's fingerprint, each leaf's path,
shape and dtype). Restoring checks the fingerprint and the leaf layout against the running
program before reading arrays, so a checkpoint of another space or configuration is refused
with an InputError naming the first difference, and a corrupt one with an InputError naming
its folder; neither is modified. Saves are synchronous and atomic (Orbax writes a temporary
folder and renames it), so a process killed mid-save leaves the previous checkpoint usable.
"""
from __future__ import annotations

import json
from pathlib import Path

import jax
import numpy as np
import orbax.checkpoint as ocp

from nas.errors import InputError


def _layout(tree) -> tuple[list, dict]:
    flat, _ = jax.tree_util.tree_flatten_with_path(tree)
    arrays = {f"a{i:05d}": leaf for i, (_, leaf) in enumerate(flat)}
    layout = [[jax.tree_util.keystr(p), list(np.shape(v)), str(getattr(v, "dtype", np.asarray(v).dtype))]
              for p, v in flat]
    return layout, arrays


def _first_difference(saved: dict, now: dict, prefix: str = "") -> str | None:
    for k in sorted(set(saved) | set(now)):
        a, b = saved.get(k, "<missing>"), now.get(k, "<missing>")
        if isinstance(a, dict) and isinstance(b, dict):
            d = _first_difference(a, b, f"{prefix}{k}.")
            if d:
                return d
        elif a != b:
            return f"{prefix}{k}: {json.dumps(a)} in checkpoint, {json.dumps(b)} now"
    return None


class Checkpointer:
    """Save/restore the training state of one run in ``directory`` (Orbax CheckpointManager).

    ``fingerprint``: JSON-able dict of everything that must match for a resume (space,
    configuration fields, dataset sizes). ``max_to_keep`` newest checkpoints are kept.
    """

    def __init__(self, directory: str | Path, fingerprint: dict, *, max_to_keep: int = 2):
        self.directory = Path(directory).resolve()
        self.fingerprint = json.loads(json.dumps(fingerprint))
        if self.directory.exists() and not self.directory.is_dir():
            raise InputError(f"{self.directory}: checkpoint path exists and is not a folder")
        options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True,
                                               enable_async_checkpointing=False)
        try:
            self.manager = ocp.CheckpointManager(self.directory, options=options,
                                                 item_names=("arrays", "meta"))
        except Exception as e:
            raise InputError(f"{self.directory}: cannot open checkpoint folder ({e})") from None

    def latest_step(self) -> int | None:
        return self.manager.latest_step()

    def read_meta(self, step: int) -> dict:
        try:
            meta = self.manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))["meta"]
        except Exception as e:
            raise InputError(f"{self.directory / str(step)}: corrupt checkpoint "
                             f"(cannot read its metadata: {type(e).__name__})") from None
        if not isinstance(meta, dict) or "fingerprint" not in meta or "layout" not in meta:
            raise InputError(f"{self.directory / str(step)}: corrupt checkpoint (metadata incomplete)")
        return meta

    def restore(self, template, step: int | None = None):
        """``(step, tree)`` of the latest (or given) checkpoint, or ``(0, None)`` if none.

        ``template``: a tree with the structure, shapes, dtypes and shardings to restore into.
        """
        step = self.latest_step() if step is None else step
        if step is None:
            return 0, None
        meta = self.read_meta(step)
        diff = _first_difference(meta["fingerprint"], self.fingerprint)
        if diff:
            raise InputError(f"{self.directory}: checkpoint belongs to another run ({diff}); "
                             "use another work directory or remove this one")
        layout, arrays = _layout(template)
        if meta["layout"] != layout:
            bad = next((s for s, n in zip(meta["layout"], layout) if s != n), None) or \
                f"{len(meta['layout'])} arrays saved, {len(layout)} expected"
            raise InputError(f"{self.directory}: checkpoint does not fit this model (first difference: {bad})")
        abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, arrays)
        try:
            restored = self.manager.restore(
                step, args=ocp.args.Composite(arrays=ocp.args.StandardRestore(abstract)))["arrays"]
        except Exception as e:
            raise InputError(f"{self.directory / str(step)}: corrupt checkpoint "
                             f"(cannot read its arrays: {type(e).__name__})") from None
        treedef = jax.tree.structure(template)
        return int(meta["step"]), jax.tree.unflatten(treedef, [restored[k] for k in sorted(restored)])

    def save(self, step: int, tree) -> None:
        layout, arrays = _layout(tree)
        meta = {"step": int(step), "fingerprint": self.fingerprint, "layout": layout}
        self.manager.save(int(step), args=ocp.args.Composite(
            arrays=ocp.args.StandardSave(arrays), meta=ocp.args.JsonSave(meta)), force=True)
        self.manager.wait_until_finished()

    def close(self) -> None:
        self.manager.close()
