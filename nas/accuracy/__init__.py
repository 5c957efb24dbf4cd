"""Accuracy predictors: features of architectures, model families (ridge, Gaussian process, MLP
ensemble), fitting with the family chosen by cross-validation, predictor files (``.npz``, no
pickle) and Once-for-All's published predictor. Used by ``nas accuracy ...`` and by searches whose
``search.accuracy`` is ``predictor`` or a predictor file."""
from nas.accuracy.predictor import (
    AccuracyPredictor,
    check_predictor_out,
    choose_model,
    fit_predictor,
    load_predictor,
    save_predictor,
)

__all__ = ["AccuracyPredictor", "check_predictor_out", "choose_model", "fit_predictor", "load_predictor",
           "save_predictor"]
