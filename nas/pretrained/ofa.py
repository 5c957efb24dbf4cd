"""Import Once-for-All's published MobileNetV3 supernets into the ``ofa_mbv3`` / ``ofa_mbv3_w12`` spaces.

The file is a PyTorch state dict of ``OFAMobileNetV3(ks_list=[3, 5, 7], expand_ratio_list=[3, 4, 6],
depth_list=[2, 3, 4], width_mult=1.0 or 1.2)`` (OFA's ``ofa_mbv3_d234_e346_k357_w1.0`` into
``ofa_mbv3``, ``..._w1.2`` into ``ofa_mbv3_w12``; the stem's width tells them apart), bare or under
``"state_dict"`` (as OFA publishes it, or as its training code saves it beside ``epoch``,
``best_acc`` and the optimizer's state), with today's key names or the older
``.mobile_inverted_conv.`` ones. The file is read weights-only (tensors, plain containers and
numpy scalars; never code), and anything unreadable is one InputError line. Every array
is copied as it is (layouts converted: conv ``[O, I, kh, kw]`` -> ``[kh, kw, I, O]``, linear
``[O, I]`` -> ``[I, O]``), the kernel transformation matrices included, so every subnet of the
imported supernet computes what OFA's ``get_active_subnet(preserve_weight=True)`` computes with the
same BatchNorm statistics. PyTorch is imported here only (the ``ofa`` extra); nothing else of the
project needs it.
"""
from __future__ import annotations

import pickle
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from nas.errors import InputError

OFA_SPACE = "ofa_mbv3"
OFA_LAYOUT = "ofa_mbv3_d234_e346_k357_w1.0"
LAYOUTS = {"ofa_mbv3": OFA_LAYOUT, "ofa_mbv3_w12": "ofa_mbv3_d234_e346_k357_w1.2"}  # space -> OFA's name
_BN = {"weight": "scale", "bias": "bias", "running_mean": "mean", "running_var": "var"}


def _normalise_key(key: str) -> str:
    """OFA's key spellings (older ``mobile_inverted_conv``, dynamic wrappers ``.bn.bn.``,
    ``.conv.conv.``, ``.linear.linear.``) in one form."""
    key = key.replace(".mobile_inverted_conv.", ".conv.")
    for a, b in ((".bn.bn.", ".bn."), (".conv.conv.", ".conv."), (".linear.linear.", ".linear.")):
        key = key.replace(a, b)
    return key


def read_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """The arrays of a PyTorch checkpoint file, keys normalised (``num_batches_tracked`` dropped,
    DataParallel's ``module.`` prefix removed).

    InputError (one line naming the file) when PyTorch is missing or the file is not a PyTorch
    state dict, bare or under ``"state_dict"``."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such checkpoint file")
    try:
        import torch
    except ImportError:
        raise InputError(f"{path}: importing an OFA checkpoint needs PyTorch "
                         "(pip install 'jaxnas[ofa]')") from None
    state_dict = _state_dict_of(load_checkpoint(path), path)
    out = {}
    for k, v in state_dict.items():
        if not isinstance(k, str) or k.endswith("num_batches_tracked"):
            continue
        try:
            out[_normalise_key(k.removeprefix("module."))] = v.detach().to(torch.float32).numpy()
        except Exception as e:  # sparse, quantized, meta tensors ...
            raise InputError(f"{path}: tensor {k[:80]!r} does not read as an array of floats ({_gist(e)})") from None
    return out


def load_checkpoint(path: Path):
    """What ``torch.load`` reads from ``path`` with ``weights_only=True`` (tensors and plain
    containers, never code). A file that holds numpy scalars (OFA's training checkpoints keep a
    numpy ``best_acc`` beside the state dict) is read again with those allowed
    (:func:`_numpy_safe_globals`), still weights-only. Any failure is InputError, one line."""
    import torch

    try:
        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as e:
            if "numpy" not in str(e):
                raise
        with torch.serialization.safe_globals(_numpy_safe_globals()):
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # PyTorch's loader raises nearly any type on a damaged or foreign file
        raise InputError(f"{path}: not a PyTorch checkpoint of Once-for-All's supernet ({_gist(e)})") from None


def _numpy_safe_globals() -> list:
    """What a numpy scalar pickles as: numpy's scalar constructor (under its numpy 2 and numpy 1
    names), ``numpy.dtype`` and the dtype classes (their state is set when unpickled). None of
    them builds anything but a number."""
    core = getattr(np, "_core", None) or np.core
    scalar = core.multiarray.scalar
    dtype_classes = {type(np.dtype(c)) for c in np.typecodes["All"]}
    return [(scalar, "numpy._core.multiarray.scalar"), (scalar, "numpy.core.multiarray.scalar"), np.dtype,
            *sorted(dtype_classes, key=lambda t: t.__name__)]


_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")  # terminal escape codes (PyTorch's bold warning)
_GIST_CHARS = 100
# PyTorch's paragraph around the weights-only unpickler's reason: its own lines, skipped
_TORCH_ADVICE = ("Weights only load failed", "In PyTorch 2.6", "Re-running `torch.load`", "(1)", "(2)",
                 "Check the documentation of torch.load")


def _gist(e: BaseException) -> str:
    """``Type: reason`` of an exception as one short clean line: escape codes and control
    characters removed, the first line of the message that says something (of PyTorch's
    weights-only refusal, the unpickler's reason, not the advice around it), cut to about 100
    characters."""
    text = _ANSI.sub("", str(e))
    text = text.split("WeightsUnpickler error:", 1)[-1].removeprefix("Weights only load failed.")
    lines = (" ".join(line.split()) for line in text.splitlines())
    reason = next((line for line in lines if line and not line.startswith(_TORCH_ADVICE)), "")
    reason = "".join(c if c.isprintable() else "?" for c in reason.split(" Please use ", 1)[0])
    if len(reason) > _GIST_CHARS:
        reason = reason[:_GIST_CHARS - 3].rstrip() + "..."
    return f"{type(e).__name__}: {reason}" if reason else type(e).__name__


def _state_dict_of(obj, path: Path) -> Mapping:
    """The state dict in what the file held: the object itself, or its ``"state_dict"`` entry (as
    OFA publishes it, and as OFA's training code saves it beside ``epoch``, ``best_acc`` and the
    optimizer's state); InputError unless that is a non-empty mapping of tensors."""
    import torch

    if isinstance(obj, Mapping) and isinstance(obj.get("state_dict"), Mapping):
        obj = obj["state_dict"]
    if not isinstance(obj, Mapping) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise InputError(f"{path}: not a state dict of tensors (an OFA checkpoint holds one, "
                         "bare or under 'state_dict')")
    return obj


def _conv(w):  # torch [O, I, kh, kw] -> [kh, kw, I, O]
    return np.transpose(w, (2, 3, 1, 0))


def key_map(pure: dict) -> dict[str, tuple]:
    """Every OFA key of the ``ofa_mbv3`` supernet with its path in ``pure`` (the supernet's
    ``nnx.to_pure_dict`` state) and the layout converter (None: as it is)."""
    m: dict[str, tuple] = {}

    def add(path, items):
        for k, (sub, fn) in items.items():
            m[k] = ((*path, *sub), fn)

    add(("stem", 0), _conv_bn("first_conv"))
    add(("stem", 1), {f"blocks.0.conv.{p}.{s}": v for p in ("depth_conv", "point_linear")
                      for s, v in _layer_items(p).items()})
    n = 1
    for i, stage in sorted(pure["stages"].items()):
        for j, _ in sorted(stage.items()):
            items = {f"blocks.{n}.conv.{p}.{s}": v for p in ("inverted_bottleneck", "depth_conv", "point_linear")
                     for s, v in _layer_items(p).items()}
            if "se" in pure["stages"][i][j]:
                se = f"blocks.{n}.conv.depth_conv.se.fc"
                items.update({f"{se}.reduce.weight": (("se", "w1"), lambda w: w[:, :, 0, 0].T),
                              f"{se}.reduce.bias": (("se", "b1"), None),
                              f"{se}.expand.weight": (("se", "w2"), lambda w: w[:, :, 0, 0].T),
                              f"{se}.expand.bias": (("se", "b2"), None)})
            add(("stages", i, j), items)
            tr = pure["kernel_transforms"][i][j]["matrices"]
            for t, (big, small) in enumerate(((7, 5), (5, 3))[:len(tr)]):
                m[f"blocks.{n}.conv.depth_conv.conv.{big}to{small}_matrix"] = (
                    ("kernel_transforms", i, j, "matrices", t), None)
            n += 1
    add(("head", 0), _conv_bn("final_expand_layer"))
    m["feature_mix_layer.conv.weight"] = (("head", 2, "w"), lambda w: w[:, :, 0, 0].T)
    m["classifier.linear.weight"] = (("head", 3, "w"), lambda w: w.T)
    m["classifier.linear.bias"] = (("head", 3, "b"), None)
    return m


def _conv_bn(prefix: str) -> dict[str, tuple]:
    """``{ofa_key: (path inside a ConvBN, converter)}`` of one conv + BatchNorm layer."""
    out = {f"{prefix}.conv.weight": (("w",), _conv)}
    out.update({f"{prefix}.bn.{k}": (("bn", v), None) for k, v in _BN.items()})
    return out


def _layer_items(part: str) -> dict:
    """The conv + BN keys of one part of an MBConv block, mapped into its ConvBN."""
    name = {"inverted_bottleneck": "expand", "depth_conv": "dw", "point_linear": "project"}[part]
    return {k.removeprefix("x."): ((name, *sub), fn) for k, (sub, fn) in _conv_bn("x").items()}


def _get(tree, path):
    for p in path:
        tree = tree[p]
    return tree


def _set(tree, path, value):
    for p in path[:-1]:
        tree = tree[p]
    tree[path[-1]] = value


def space_of_state_dict(state_dict: dict[str, np.ndarray], where: str = "checkpoint") -> str:
    """The space (a key of :data:`LAYOUTS`) whose supernet has the checkpoint's stem width;
    InputError when none has."""
    from nas.search_spaces import get_space

    w = state_dict.get("first_conv.conv.weight")
    for space in LAYOUTS:
        if w is not None and w.ndim == 4 and w.shape[0] == get_space(space).cfg.stem_width:
            return space
    raise InputError(f"{where}: not an OFA MobileNetV3 checkpoint of a known layout ({', '.join(LAYOUTS.values())}: "
                     "its first_conv.conv.weight is missing or of another width)")


def convert_state_dict(state_dict: dict[str, np.ndarray], pure: dict, where: str = "checkpoint",
                       space: str = OFA_SPACE) -> dict:
    """``pure`` (the ``space`` supernet's pure-dict state) with every array replaced by the
    checkpoint's; InputError naming the first missing, unexpected or misshapen key."""
    mapping = key_map(pure)
    extra = sorted(set(state_dict) - set(mapping))
    missing = sorted(set(mapping) - set(state_dict))
    layout = f"not an OFA MobileNetV3 checkpoint of the {LAYOUTS[space]} layout"
    if missing:
        raise InputError(f"{where}: {layout} (missing {missing[0]!r}; {len(missing)} keys missing)")
    if extra:
        raise InputError(f"{where}: {layout} (unexpected key {extra[0]!r})")
    for key, (path, fn) in mapping.items():
        value = state_dict[key] if fn is None else fn(state_dict[key])
        want = tuple(_get(pure, path).shape)
        if value.shape != want:
            raise InputError(f"{where}: {layout} ({key!r} has shape {list(state_dict[key].shape)}, "
                             f"which does not convert to {list(want)})")
        if not np.all(np.isfinite(value)):
            raise InputError(f"{where}: {key!r} holds non-finite values")
        _set(pure, path, np.ascontiguousarray(value, np.float32))
    _set(pure, ("head", 2, "b"), np.zeros(_get(pure, ("head", 2, "b")).shape, np.float32))  # no bias in OFA
    return pure


def ofa_file_space(path: str | Path) -> str:
    """The space OFA's checkpoint at ``path`` imports into (:func:`space_of_state_dict`)."""
    return space_of_state_dict(read_state_dict(path), where=str(path))


def import_ofa_supernet(path: str | Path):
    """The :class:`nas.search_spaces.supernet.Supernet` (of ``ofa_mbv3`` or ``ofa_mbv3_w12``, as the
    checkpoint's widths say) holding the weights and BatchNorm statistics of OFA's checkpoint at
    ``path``; InputError for anything else."""
    from nas.search_spaces.registry import SHIPPED

    state_dict = read_state_dict(path)
    space = space_of_state_dict(state_dict, where=str(path))
    # the space as shipped (1,000 classes), whatever class count a run gave it in this process
    return supernet_with(lambda pure: convert_state_dict(state_dict, pure, where=str(path), space=space),
                         SHIPPED[space])


def supernet_with(fill, space_name, kernel_transform: bool | None = None):
    """A Supernet of ``space_name`` (a name or a space) whose state is ``fill(pure)``, ``pure``
    being the pure-dict state of its shapes (``jax.ShapeDtypeStruct`` leaves: nothing is
    initialised at random)."""
    import jax
    import jax.numpy as jnp
    from flax import nnx

    from nas.train.supernet import build_supernet

    abstract = nnx.eval_shape(lambda: build_supernet(space_name, 0, kernel_transform=kernel_transform))
    graphdef, state = nnx.split(abstract)
    pure = fill(nnx.to_pure_dict(state))
    nnx.replace_by_pure_dict(state, jax.tree.map(jnp.asarray, pure))
    return nnx.merge(graphdef, state)


def arch_from_net_config(net: dict, image_size: int):
    """The architecture of one of OFA's specialized networks (its ``net.config`` mapping and its
    ``run.config``'s ``image_size``) in ``ofa_mbv3`` or ``ofa_mbv3_w12`` (the stem's width says which);
    InputError when the network is not a subnet of either."""
    from nas.search_spaces import get_space

    try:
        stem = int(net["first_conv"]["out_channels"])
        convs = [b.get("conv") or b["mobile_inverted_conv"] for b in net["blocks"][1:]]  # new and old key names
        blocks = [(int(c["out_channels"]), int(c["kernel_size"]), int(c["expand_ratio"])) for c in convs]
    except (KeyError, TypeError, ValueError):
        raise InputError("net.config: not a MobileNetV3 network config of Once-for-All") from None
    space = next((get_space(s) for s in LAYOUTS if get_space(s).cfg.stem_width == stem), None)
    if space is None:
        raise InputError(f"net.config: stem width {stem} is neither OFA MobileNetV3 supernet's")
    slots = space.slots
    ks, e, d = [], [], []
    for st in space.cfg.stages:
        mine = [b for b in blocks if b[0] == st.width]
        ks += [b[1] for b in mine] + [0] * (slots - len(mine))
        e += [b[2] for b in mine] + [0] * (slots - len(mine))
        d.append(len(mine))
    if sum(d) != len(blocks):
        raise InputError(f"net.config: its blocks' widths are not the stages of {space.name}")
    return space.from_json({"ks": ks, "e": e, "d": d, "r": int(image_size)})
