"""Import Once-for-All's published accuracy predictor (``acc_predictor.pth``).

The file is a PyTorch state dict of ``Sequential(Linear(128, 400), ReLU, Linear(400, 400), ReLU,
Linear(400, 400), ReLU, Linear(400, 1))`` on OFA's 128 features (:func:`nas.accuracy.features.ofa_features`),
fitted on ImageNet accuracies of subnets of its width-1.2 MobileNetV3 supernet: it becomes a
``dense`` predictor of space ``ofa_mbv3_w12``. PyTorch reads the file (the ``ofa`` extra); nothing
else of the project needs it.
"""
from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import numpy as np

from nas.accuracy.predictor import AccuracyPredictor
from nas.errors import InputError

OFA_PREDICTOR_SPACE = "ofa_mbv3_w12"
LAYERS = ((128, 400), (400, 400), (400, 400), (400, 1))


def import_ofa_predictor(path) -> AccuracyPredictor:
    """The predictor held by OFA's ``acc_predictor.pth`` at ``path``; InputError for anything else."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such file")
    try:
        import torch
    except ImportError:
        raise InputError(f"{p}: importing OFA's predictor needs PyTorch (pip install 'jaxnas[ofa]')") from None
    try:
        sd = torch.load(p, map_location="cpu", weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, EOFError, OSError, ValueError, zipfile.BadZipFile,
            AttributeError, TypeError, UnicodeDecodeError) as e:
        raise InputError(f"{p}: not a PyTorch file ({type(e).__name__}: {' '.join(str(e).split())[:100]})") from None
    want = {f"{2 * i}.{k}" for i in range(len(LAYERS)) for k in ("weight", "bias")}
    if not isinstance(sd, dict) or set(sd) != want:
        raise InputError(f"{p}: not Once-for-All's accuracy predictor (expected the keys of a 128-400-400-400-1 "
                         "network: 0.weight ... 6.bias)")
    params = {}
    for i, (fin, fout) in enumerate(LAYERS):
        w, b = (sd[f"{2 * i}.{k}"] for k in ("weight", "bias"))
        if not isinstance(w, torch.Tensor) or tuple(w.shape) != (fout, fin) or tuple(b.shape) != (fout,):
            raise InputError(f"{p}: layer {2 * i} has shape {list(getattr(w, 'shape', []))}, "
                             f"not [{fout}, {fin}] (not Once-for-All's accuracy predictor)")
        params[f"w{i}"] = w.detach().double().numpy().T.copy()
        params[f"b{i}"] = b.detach().double().numpy().copy()
        if not all(np.isfinite(v).all() for v in (params[f"w{i}"], params[f"b{i}"])):
            raise InputError(f"{p}: layer {2 * i} holds non-finite values")
    return AccuracyPredictor(OFA_PREDICTOR_SPACE, "ofa_v1", "dense", params,
                             {"source": f"Once-for-All accuracy predictor ({p.name})", "rows": None})
