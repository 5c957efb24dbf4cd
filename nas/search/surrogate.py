"""Surrogate-assisted offspring pre-screening for NSGA-II (predictor-guided search).

A cheap model per objective is fitted on every evaluated ``(genes -> objective)`` pair;
many candidate children are made with the ordinary operators and only the ones the model
expects to do best are sent to real evaluation, plus a few drawn at random so the model keeps
seeing the kind of networks it would otherwise rule out.

* :func:`encode` -- features of gene-index rows: one-hot of every gene with more than one
  choice, plus the choice index scaled to [0, 1] for ordered genes with more than two choices,
  and the same again times the network's overall size level.
* :class:`Ridge` -- ridge regression on those features, the penalty chosen per target by
  generalised cross-validation (closed form from one eigen-decomposition of the Gram
  matrix), so nothing is tuned by hand.
* :func:`prescreen` -- rank candidates by constrained non-dominated rank then crowding
  distance, computed on their *predicted* objectives pooled with the parents' *true* ones.

Everything is NumPy and deterministic: the only randomness is the ``Generator`` passed in.
"""
from __future__ import annotations

import numpy as np

from nas.search.selection import rank_and_crowding

LAMBDAS = np.logspace(-3, 3, 25)  # candidate penalties (relative to the mean squared singular value)


def encode(X, cardinalities, size_interactions: bool = True) -> np.ndarray:
    """Features ``float [n, d]`` of gene-index rows ``X`` (int ``[n, G]``).

    With ``size_interactions`` the first-order features are repeated multiplied by the row's
    size level ``t`` (mean scaled choice index over genes with more than one choice; the same
    cheap-to-expensive ordering :func:`~nas.search.variation.stratified_sample` relies on), so a
    choice's effect may depend on how large the rest of the network is (accuracy saturating
    with compute, latency growing with resolution times width) while ``d`` stays linear in G.
    """
    X = np.asarray(X, dtype=np.int64).reshape(-1, len(cardinalities))
    card = np.asarray(cardinalities, dtype=np.int64)
    cols = []
    for g, c in enumerate(card):
        if c > 1:
            cols.append(X[:, g, None] == np.arange(c)[None, :])
        if c > 2:
            cols.append((X[:, g] / (c - 1))[:, None])
    if not cols:
        return np.zeros((len(X), 0))
    Phi = np.concatenate(cols, axis=1).astype(np.float64)
    if size_interactions:
        t = (X[:, card > 1] / (card[card > 1] - 1)).mean(axis=1, keepdims=True)
        Phi = np.concatenate([Phi, Phi * t], axis=1)
    return Phi


class Ridge:
    """Ridge regression ``y ~ b + Phi w`` for each column of ``Y`` (``[n, t]``), the penalty of
    each column chosen from :data:`LAMBDAS` by generalised cross-validation. Fitting needs at
    least 2 rows; targets are standardised, predictions are returned in the original units."""

    def __init__(self, features, Y):
        Phi = np.asarray(features, dtype=np.float64)
        Y = np.asarray(Y, dtype=np.float64).reshape(len(Phi), -1)
        self.x_mean = Phi.mean(axis=0)
        self.y_mean, y_std = Y.mean(axis=0), Y.std(axis=0)
        self.y_std = np.where(y_std > 0, y_std, 1.0)
        Z = (Y - self.y_mean) / self.y_std
        # eigen-decomposition of the (small, d x d) Gram matrix instead of an SVD of Phi
        Pc = Phi - self.x_mean
        s2, V = np.linalg.eigh(Pc.T @ Pc)
        keep = s2 > 1e-9 * max(float(s2.max(initial=0.0)), 1e-300)
        s2, V = s2[keep], V[:, keep]
        n = len(Phi)
        scale = s2.mean() if len(s2) else 1.0
        UtZ = (V.T @ (Pc.T @ Z)) / np.sqrt(s2)[:, None]  # [r, t] = U^T Z for Pc = U S V^T
        resid0 = (Z**2).sum(axis=0) - (UtZ**2).sum(axis=0)  # part of Z outside the span of Pc
        best_gcv = np.full(Z.shape[1], np.inf)
        self.coef = np.zeros((Phi.shape[1], Z.shape[1]))
        for lam in LAMBDAS * scale:
            shrink = s2 / (s2 + lam)  # [r]
            resid = resid0 + (((1 - shrink)[:, None] * UtZ) ** 2).sum(axis=0)
            dof = shrink.sum()
            gcv = resid / n / max(1.0 - dof / n, 1e-3) ** 2
            better = gcv < best_gcv
            if better.any():
                w = V @ ((np.sqrt(s2) / (s2 + lam))[:, None] * UtZ)
                self.coef[:, better] = w[:, better]
                best_gcv = np.where(better, gcv, best_gcv)

    def predict(self, features) -> np.ndarray:
        Z = (np.asarray(features, dtype=np.float64) - self.x_mean) @ self.coef
        return Z * self.y_std + self.y_mean


def prescreen(rng: np.random.Generator, cand_F, cand_cv, parent_F, parent_cv, n: int,
              n_explore: int = 0) -> np.ndarray:
    """Indices of ``n`` candidates (or all, if fewer) to evaluate, best first.

    ``cand_F`` ``[c, m]`` / ``cand_cv`` ``[c]`` are predictions for the candidates,
    ``parent_F`` / ``parent_cv`` the parents' evaluated values. Candidates are ordered by
    (constrained front rank, descending crowding distance) within the pooled set, so a child
    predicted to be dominated by the parents ranks behind one predicted to extend the front;
    the last ``n_explore`` places go to candidates drawn uniformly from the rest.
    """
    cand_F = np.asarray(cand_F, dtype=np.float64)
    c = len(cand_F)
    if c <= n:
        return np.arange(c)
    pool_F = np.concatenate([cand_F, np.asarray(parent_F, dtype=np.float64).reshape(-1, cand_F.shape[1])])
    pool_cv = np.concatenate([np.maximum(np.asarray(cand_cv, dtype=np.float64), 0.0), parent_cv])
    rank, crowd = rank_and_crowding(pool_F, pool_cv)
    order = np.lexsort((np.arange(c), -crowd[:c], rank[:c]))
    n_explore = int(min(max(n_explore, 0), n))
    best = order[: n - n_explore]
    rest = order[n - n_explore:]
    explore = rng.choice(rest, size=n_explore, replace=False) if n_explore else rest[:0]
    return np.concatenate([best, explore]).astype(np.int64)
