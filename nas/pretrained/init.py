"""``supernet.init``: stage 1 starts from a supernet trained elsewhere instead of random weights.

Two kinds of source:

* a file: Once-for-All's MobileNetV3 checkpoint (:mod:`nas.pretrained.ofa`, space ``ofa_mbv3``, or
  ``ofa_mbv3_w12`` for its width-1.2 supernet);
* a folder: a jaxnas supernet, i.e. a work directory, its ``supernet/`` folder, or what
  ``nas supernet import-ofa --out DIR`` wrote. Its ``result.json`` is verified (record checksum),
  its space must be the run's, its checkpoint's checksum and fingerprint must match the record.

A supernet shipped with the package is named ``pretrained:NAME`` (a folder under
``nas/pretrained/supernets/``; ``pretrained:fashion_mnist`` is the one ``make demo`` searches).

Either way the run's ``supernet/`` receives an ordinary checkpoint (step 0) and a ``result.json``
whose ``result.source`` names the origin (``{"kind": "imported", "format", "file", "sha256"}``;
a trained supernet's record has no ``source``). Without further training asked for, that is all
stage 1 does (the subnets' BatchNorm statistics are recalibrated at evaluation as always).
"""
from __future__ import annotations

from pathlib import Path

from nas.errors import InputError
from nas.files import folder_digest, sha256_file
from nas.rundir import RunDir, TrainDir

SHIPPED_PREFIX = "pretrained:"
SHIPPED_DIR = Path(__file__).resolve().parent / "supernets"


def shipped_supernets() -> list[str]:
    """Names of the supernets shipped with the package (``pretrained:NAME``)."""
    if not SHIPPED_DIR.is_dir():
        return []
    return sorted(p.name for p in SHIPPED_DIR.iterdir() if (p / "result.json").is_file())


def resolve_init(value: str | Path) -> Path:
    """The path ``supernet.init`` names: ``pretrained:NAME`` is a supernet shipped with the
    package, anything else a path (``~`` expanded). InputError for an unknown shipped name or a
    path that does not exist."""
    text = str(value)
    if text.startswith(SHIPPED_PREFIX):
        name = text[len(SHIPPED_PREFIX):]
        if name not in shipped_supernets():
            raise InputError(f"supernet.init: no shipped supernet {name!r} (shipped: "
                             f"{', '.join(SHIPPED_PREFIX + n for n in shipped_supernets()) or 'none'})")
        return SHIPPED_DIR / name
    p = Path(text).expanduser()
    if not p.exists():
        raise InputError(f"{text}: no such file or folder")
    return p.resolve()


def _supernet_dir(path: Path) -> TrainDir:
    """The supernet folder at ``path``: a work directory's ``supernet/`` or the folder itself."""
    for cand in (RunDir(path).supernet, TrainDir(path)):
        if cand.result.is_file():
            return cand
    raise InputError(f"supernet.init: {path} holds no jaxnas supernet (no result.json in it or in its supernet/)")


def describe_source(path: str | Path) -> dict:
    """``{"kind": "imported", "format", "file", "sha256"}`` of an init source (hashing the file, or
    taking the verified checkpoint checksum of a jaxnas supernet folder); InputError when it is
    neither."""
    p = resolve_init(path)
    named = {"name": str(path)} if str(path).startswith(SHIPPED_PREFIX) else {}
    if p.is_file():
        from nas.pretrained.ofa import LAYOUTS, ofa_file_space

        return {"kind": "imported", "format": LAYOUTS[ofa_file_space(p)], "file": str(p), "sha256": sha256_file(p),
                **named}
    if p.is_dir():
        rec = _verified_record(_supernet_dir(p))
        return {"kind": "imported", "format": "jaxnas", "file": str(p), "sha256": rec["checksums"]["checkpoint"],
                **named,
                **_origin(rec["result"]),
                **({"kernel_transform": rec["fingerprint"]["kernel_transform"]}
                   if "kernel_transform" in rec["fingerprint"] else {})}
    raise InputError(f"{path}: neither a file nor a folder")


def is_ofa_source(source: dict) -> bool:
    """Whether an init source (:func:`describe_source`) is Once-for-All's supernet: OFA's checkpoint
    (its format one of OFA's layouts), or a jaxnas folder whose record's source is (its ``origin``,
    followed through folders imported from folders), as ``nas supernet import-ofa`` writes."""
    from nas.pretrained.ofa import LAYOUTS

    while isinstance(source, dict):
        if source.get("format") in LAYOUTS.values():
            return True
        source = source.get("origin")
    return False


def starts_from_ofa(value: str | Path) -> bool:
    """Whether ``supernet.init``'s ``value`` is Once-for-All's supernet: a file (OFA's checkpoint is
    the only file source; it is read when imported, not here) or a jaxnas folder whose verified
    record says it was imported from one (:func:`is_ofa_source`). InputError as
    :func:`describe_source` for a folder that holds no supernet."""
    p = resolve_init(value)
    return p.is_file() or is_ofa_source(describe_source(value))


def _origin(result: dict) -> dict:
    """``{"origin": ...}``: what a jaxnas supernet came from (the source it was imported from, or
    the supernet its training started from), or ``{}`` for one trained from random weights."""
    for key in ("source", "started_from"):
        if isinstance(result.get(key), dict):
            return {"origin": result[key]}
    return {}


def _verified_record(d: TrainDir) -> dict:
    from nas.train.loop import stored_record

    rec = stored_record(d.result)
    sums = rec.get("checksums", {})
    if "checkpoint" not in sums or not isinstance(rec["fingerprint"], dict):
        raise InputError(f"{d.result}: supernet record without a checkpoint checksum (not a finished supernet)")
    step_dir = d.checkpoints / str(sums.get("checkpoint_step"))
    if not step_dir.is_dir() or folder_digest(step_dir) != sums["checkpoint"]:
        raise InputError(f"{step_dir}: damaged supernet checkpoint (checksum mismatch with {d.result})")
    return rec


def load_source(path: str | Path, space_name: str, seed: int = 0):
    """``(supernet module, source dict)`` of ``supernet.init``'s ``path`` for a run of ``space_name``.

    A supernet trained on data with another class count than the run's is transferred
    (:func:`nas.train.transfer.transplant`): its body is loaded, its classifier replaced by a
    fresh one of the run's class count (initialised from ``seed``; ``source["head"]`` then says so),
    to be trained."""
    from nas.pretrained.ofa import LAYOUTS, import_ofa_supernet
    from nas.search_spaces import get_space

    source = describe_source(path)
    p = Path(source["file"])
    run_space = get_space(space_name)
    if p.is_file():
        fits = next(s for s, layout in LAYOUTS.items() if layout == source["format"])
        if space_name != fits:
            raise InputError(f"supernet.init: {p.name} is an OFA MobileNetV3 checkpoint, which fits space "
                             f"{fits}, not {space_name}")
        return _fit_head(import_ofa_supernet(p), run_space, source, seed)
    d = _supernet_dir(p)
    rec = _verified_record(d)
    fp = rec["fingerprint"]
    if fp.get("space") != space_name:
        raise InputError(f"supernet.init: {p} holds a supernet of space {fp.get('space')!r}, "
                         f"not {space_name!r}")
    src_space = _source_space(run_space, fp, p)
    model = restore_supernet(d, src_space, fp, rec["checksums"]["checkpoint_step"])
    return _fit_head(model, run_space, source, seed)


def _source_space(run_space, fp: dict, where: Path):
    """The space a stored supernet was trained in: the run's, with the class count of its data
    (its fingerprint's; an import of OFA's checkpoint: the space as shipped). InputError when its
    declaration differs from the run's in more than the class count."""
    from nas.search_spaces.registry import SHIPPED, space_entry_of

    classes = int(fp.get("num_classes") or getattr(SHIPPED.get(run_space.name), "num_classes", run_space.num_classes))
    space = run_space if classes == run_space.num_classes else run_space.with_num_classes(classes)
    if space_entry_of(space).get("space_declaration") != fp.get("space_declaration"):
        raise InputError(f"supernet.init: {where} holds a supernet of another declaration of space "
                         f"{run_space.name!r} (its stages, choices or input differ from this run's)")
    return space


def _fit_head(model, run_space, source: dict, seed: int = 0):
    """``(model, source)``; the model transferred to ``run_space``'s class count when it differs."""
    have = model.space.num_classes
    if have == run_space.num_classes:
        return model, source
    from nas.train.supernet import build_supernet
    from nas.train.transfer import transplant

    target = build_supernet(run_space, seed, kernel_transform=model.kernel_transforms is not None)
    model, fresh = transplant(model, target)
    last = f"head/{len(model.head) - 1}/"
    body = [k for k in fresh if not k.startswith(last)]
    if body:  # only the classifier may start fresh; anything else means the layouts differ
        raise InputError(f"supernet.init: its layout differs from space {run_space.name!r}'s beyond the classifier "
                         f"({body[0]} does not fit)")
    return model, {**source, "head": {"replaced": True, "from_classes": int(have),
                                      "to_classes": int(run_space.num_classes)}}


def _template(space_name, kernel_transform: bool | None = None):
    """``(graphdef, (params, rest, optimizer state))`` of zeros: the layout a checkpoint restores into."""
    import jax
    import numpy as np

    from nas.pretrained.ofa import supernet_with
    from nas.train.optim import make_optimizer
    from nas.train.step import split_model

    model = supernet_with(lambda pure: jax.tree.map(lambda s: np.zeros(s.shape, s.dtype), pure), space_name,
                          kernel_transform=kernel_transform)
    graphdef, params, rest = split_model(model)
    return graphdef, (params, rest, make_optimizer(0.0).init(params))


def restore_supernet(d: TrainDir, space_name, fingerprint: dict, step: int):
    """The supernet module (of ``space_name``, a name or a space) of checkpoint ``step`` in ``d``
    (its fingerprint must equal ``fingerprint``)."""
    import jax
    from flax import nnx

    from nas.train.checkpoint import Checkpointer
    from nas.train.evaluate import full_state

    graphdef, template = _template(space_name, fingerprint.get("kernel_transform"))
    ckpt = Checkpointer(d.checkpoints, fingerprint)
    try:
        _, restored = ckpt.restore(template, step=step)
    finally:
        ckpt.close()
    if restored is None:
        raise InputError(f"{d.checkpoints}: no supernet checkpoint")
    return nnx.merge(graphdef, jax.device_get(full_state(restored[0], restored[1])))


def write_supernet(d: TrainDir, model, fingerprint: dict, result: dict) -> dict:
    """Save ``model`` as ``d``'s checkpoint (step 0, the training-state layout stage 1 reads) and
    ``d.result`` with its checksum; returns ``result``."""
    from nas.train.checkpoint import Checkpointer
    from nas.train.loop import store_result
    from nas.train.optim import make_optimizer
    from nas.train.step import split_model

    _, params, rest = split_model(model)
    ckpt = Checkpointer(d.checkpoints, fingerprint)
    try:
        ckpt.save(0, (params, rest, make_optimizer(0.0).init(params)))
    finally:
        ckpt.close()
    store_result(d.result, fingerprint, result, {"checkpoint": folder_digest(d.checkpoints / "0"),
                                                 "checkpoint_step": 0})
    return result


def import_fingerprint(space_name: str, source: dict, input_shape=None, num_classes=None) -> dict:
    """What an imported supernet's checkpoint belongs to: the space, the source's checksum and
    (in a run) the data's input shape and class count."""
    from nas.search_spaces.registry import space_entry

    fp = {"space": space_name, "init": {"format": source["format"], "sha256": source["sha256"]},
          **space_entry(space_name)}
    if "kernel_transform" in source:  # a jaxnas supernet trained with another kernel transformation than its space's
        fp["kernel_transform"] = source["kernel_transform"]
    if input_shape is not None:
        fp.update(input_shape=[int(v) for v in input_shape], num_classes=int(num_classes))
    return fp


def import_to_folder(checkpoint: str | Path, out: str | Path) -> dict:
    """``nas supernet import-ofa``: import OFA's checkpoint once into the jaxnas supernet folder
    ``out`` (usable as ``supernet.init``). A folder already holding this very import is left
    as it is; one holding anything else is refused (nothing saved is replaced)."""
    from nas.pretrained.ofa import LAYOUTS, import_ofa_supernet

    d = TrainDir(Path(out).expanduser().resolve())
    source = describe_source(checkpoint)
    if not Path(source["file"]).is_file():
        raise InputError(f"{checkpoint}: not a file (give OFA's .pth checkpoint)")
    fp = import_fingerprint(next(s for s, layout in LAYOUTS.items() if layout == source["format"]), source)
    if d.result.exists() or (d.checkpoints.exists() and any(d.checkpoints.iterdir())):
        from nas.train.loop import stored_record

        rec = stored_record(d.result) if d.result.exists() else None
        if rec is not None and rec["fingerprint"] == fp:
            return {**rec["result"], "out": str(d.path), "already_imported": True}
        raise InputError(f"{d.path}: already holds a supernet; choose an empty --out folder")
    model = import_ofa_supernet(source["file"])
    d.path.mkdir(parents=True, exist_ok=True)
    return {**write_supernet(d, model, fp, {"source": source, "steps": 0}), "out": str(d.path)}


def supernet_source(workdir) -> dict:
    """Which supernet a run searched: ``{"kind": "trained"}`` or the imported source's record."""
    from nas.train.loop import stored_record

    try:
        rec = stored_record(RunDir(workdir).supernet.result)
    except InputError:
        rec = None
    src = (rec or {}).get("result", {}).get("source")
    return src if isinstance(src, dict) else {"kind": "trained"}
