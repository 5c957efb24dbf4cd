"""An accuracy predictor as a value: its space, feature encoding, model family and parameters.

A predictor file is a NumPy ``.npz`` archive (never a pickle: it is read with
``allow_pickle=False``): the model's arrays, plus ``meta``, a JSON string::

    {"format": "jaxnas-accuracy-predictor", "version": 1, "space": "ofa_mbv3_w12",
     "encoding": "onehot_v1" | "ofa_v1", "model": "ridge" | "gp" | "mlp" | "dense",
     "source": "...", "rows": n, "fit": {...}}

Predicted accuracies are fractions in [0, 1] (the CSV's unit), with a standard deviation when
the model has one (``gp``, ``mlp``).
"""
from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nas.accuracy.features import ENCODINGS, features
from nas.accuracy.models import FIT, MODELS, PREDICT
from nas.errors import InputError

FORMAT, VERSION = "jaxnas-accuracy-predictor", 1


@dataclass
class AccuracyPredictor:
    space: str
    encoding: str
    model: str
    params: dict[str, np.ndarray]
    meta: dict = field(default_factory=dict)
    path: Path | None = None

    def predict(self, archs) -> tuple[np.ndarray, np.ndarray | None]:
        """``(mean [n], std [n] or None)`` of the predicted accuracy (fraction) of ``archs``;
        InputError for an architecture of another space."""
        from nas.search_spaces import get_space

        archs = list(archs)
        for a in archs:
            if a.space != self.space:
                raise InputError(f"accuracy predictor {self.path or ''}: predicts space {self.space}, not {a.space}")
        if not archs:
            return np.zeros(0), None
        X = features(self.encoding, get_space(self.space), archs)
        return PREDICT[self.model](self.params, X)

    def predict_matrix(self, X_features) -> tuple[np.ndarray, np.ndarray | None]:
        return PREDICT[self.model](self.params, X_features)


def fit_predictor(space_name: str, archs, accuracy, model: str = "auto", *, seed: int = 0,
                  encoding: str = "onehot_macs_v1", source: str = "") -> AccuracyPredictor:
    """Fit ``model`` (``auto``: :func:`choose_model`) on ``archs`` and their accuracies (fractions)."""
    from nas.search_spaces import get_space

    y = np.asarray(accuracy, float)
    if len(y) < 4:
        raise InputError(f"{len(y)} rows are too few to fit an accuracy predictor (at least 4)")
    space = get_space(space_name)
    X = features(encoding, space, list(archs))
    fit = {}
    if model == "auto":
        model, fit["cv"] = choose_model(X, y, seed=seed)
    if model not in MODELS:
        raise InputError(f"unknown accuracy model {model!r} (known: auto, {', '.join(MODELS)})")
    params = FIT[model](X, y, seed)
    pred = PREDICT[model](params, X)[0]
    from scipy.stats import spearmanr

    fit.update(rows=len(y), in_sample_mae=float(np.abs(pred - y).mean()),
               in_sample_spearman=float(spearmanr(pred, y)[0]) if np.ptp(y) > 0 else None)
    return AccuracyPredictor(space_name, encoding, model, params, {"source": source, "rows": len(y), "fit": fit})


def choose_model(X, y, folds: int = 5, seed: int = 0) -> tuple[str, dict]:
    """The model family whose ``folds``-fold cross-validated Kendall tau on ``(X, y)`` is highest
    (ridge, gp, mlp), with each one's score."""
    from scipy.stats import kendalltau

    n = len(y)
    order = np.random.default_rng(seed).permutation(n)
    scores = {}
    for m in MODELS:
        pred = np.zeros(n)
        for f in range(folds):
            test = order[f::folds]
            train = np.setdiff1d(order, test)
            pred[test] = PREDICT[m](FIT[m](X[train], y[train], seed), X[test])[0]
        scores[m] = float(kendalltau(pred, y)[0]) if np.ptp(y) > 0 else 0.0
    return max(scores, key=lambda m: (scores[m], -MODELS.index(m))), {"kendall_tau": scores, "folds": folds}


# ------------------------------------------------------------------ files
def save_predictor(pred: AccuracyPredictor, path) -> Path:
    """Write ``pred`` to ``path`` (``.npz``) atomically; returns the path."""
    from nas.files import atomic_write_bytes

    p = check_predictor_out(path)
    meta = {"format": FORMAT, "version": VERSION, "space": pred.space, "encoding": pred.encoding,
            "model": pred.model, **pred.meta}
    buf = io.BytesIO()
    np.savez(buf, meta=np.array(json.dumps(meta)), **{f"p_{k}": np.asarray(v) for k, v in pred.params.items()})
    atomic_write_bytes(p, buf.getvalue())
    pred.path = p.resolve()
    return p


def check_predictor_out(path, field_name: str = "--out") -> Path:
    p = Path(path)
    if p.suffix != ".npz":
        raise InputError(f"{field_name} {p}: an accuracy predictor file must end in .npz")
    if p.is_dir():
        raise InputError(f"{field_name} {p}: is a folder, expected a predictor file")
    return p


def load_predictor(path, space: str | None = None) -> AccuracyPredictor:
    """The predictor in ``path``; InputError (one line naming the file) for anything else, or for
    a predictor of another space than ``space`` when given."""
    from nas.files import read_bytes
    from nas.search_spaces import get_space

    p = Path(path)
    data = read_bytes(p, what="accuracy predictor file")
    if not data.startswith(b"PK"):
        raise InputError(f"{p}: not an accuracy predictor file (not an .npz archive)")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            arrays = {k: np.array(z[k]) for k in z.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as e:
        why = " ".join(str(e).split())[:100]
        raise InputError(f"{p}: not an accuracy predictor file ({type(e).__name__}: {why})") from None
    try:
        meta = json.loads(str(arrays.pop("meta")))
    except (KeyError, ValueError):
        meta = None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise InputError(f"{p}: not an accuracy predictor file (no {FORMAT} record; make one with nas accuracy fit "
                         "or nas accuracy import-ofa)")
    if meta.get("version") != VERSION or meta.get("encoding") not in ENCODINGS or meta.get("model") not in PREDICT:
        raise InputError(f"{p}: accuracy predictor of an unknown version, encoding or model "
                         f"({meta.get('version')}, {meta.get('encoding')}, {meta.get('model')})")
    try:
        sp = get_space(str(meta.get("space")))
    except InputError as e:
        raise InputError(f"{p}: {e}") from None
    if space is not None and sp.name != space:
        raise InputError(f"{p}: a predictor of space {sp.name}, not {space}")
    params = {k.removeprefix("p_"): v for k, v in arrays.items()}
    pred = AccuracyPredictor(sp.name, meta["encoding"], meta["model"], params,
                             {k: v for k, v in meta.items() if k not in ("format", "version", "space", "encoding",
                                                                         "model")}, p.resolve())
    try:  # the arrays must fit the model and the encoding: one prediction on the smallest network
        m, _ = pred.predict([sp.smallest()])
        ok = m.shape == (1,) and np.isfinite(m).all()
    except (KeyError, ValueError, IndexError, TypeError, np.linalg.LinAlgError):
        ok = False
    if not ok:
        raise InputError(f"{p}: accuracy predictor arrays do not fit its model {meta['model']!r} and encoding "
                         f"{meta['encoding']!r} (damaged file)")
    return pred
