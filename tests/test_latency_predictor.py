"""Latency predictor: space-agnostic features, fit/predict round trips, quality on held-out data."""
import jax
import numpy as np
import pytest

from nas.errors import InputError
from nas.latency import (
    FEATURE_NAMES,
    Hardware,
    arch_features,
    fit_flops_baseline,
    fit_weights,
    flops,
    predict,
    prediction_metrics,
    prior_from_profiles,
)
from nas.latency.model import MIN_MEASUREMENTS, MIN_MEASUREMENTS_NO_PRIOR
from nas.search_spaces import get_space

HW = Hardware(1, 100.0, 20.0)


def _sample(space, n, seed=0):
    return get_space(space).sample(jax.random.key(seed), n)


@pytest.mark.parametrize("space", ["fashion_mnist", "ofa_mbv3", "fbnet"])
def test_features_are_space_agnostic_and_physical(space):
    archs = _sample(space, 8)
    f = arch_features(archs, HW)
    assert f.shape == (8, len(FEATURE_NAMES)) and np.all(np.isfinite(f)) and np.all(f >= 0)
    # compute terms scale with the batch, launch counts do not
    f64 = arch_features(archs, Hardware(64, 100.0, 20.0))
    ci = FEATURE_NAMES.index("compute_conv1x1_ms")
    ni = FEATURE_NAMES.index("n_conv1x1")
    np.testing.assert_allclose(f64[:, ci], 64 * f[:, ci], rtol=1e-9)
    np.testing.assert_array_equal(f64[:, ni], f[:, ni])
    # a larger subnet has more MACs and more compute time
    sp = get_space(space)
    big, small = arch_features([sp.largest(), sp.smallest()], HW)
    assert big[FEATURE_NAMES.index("compute_conv1x1_ms")] > small[FEATURE_NAMES.index("compute_conv1x1_ms")]
    assert flops([sp.largest()])[0] > flops([sp.smallest()])[0]


def test_fit_recovers_a_linear_device_without_prior():
    archs = _sample("fbnet", 80, seed=1)
    f = arch_features(archs, HW)
    w_true = np.zeros(len(FEATURE_NAMES))
    w_true[[0, 1, 3, 8, 11]] = [2.0, 0.05, 0.08, 3.0, 5.0]
    y = f @ w_true
    rel = np.abs(predict(f[60:], fit_weights(f[:60], y[:60], None)) / y[60:] - 1)
    assert rel.mean() < 0.01 and rel.max() < 0.03  # signed fit, ridge-shrunk
    rel = np.abs(predict(f[60:], fit_weights(f[:60], y[:60], None, nonneg=True)) / y[60:] - 1)
    assert rel.max() < 1e-3  # the true weights are non-negative: recovered


def test_prior_lets_five_points_suffice():
    archs = _sample("ofa_mbv3", 60, seed=2)
    f = arch_features(archs, HW)
    rng = np.random.default_rng(0)
    w_dev = rng.uniform(0, 1, len(FEATURE_NAMES))
    prior = np.stack([w_dev * 3.0, rng.uniform(0, 1, len(FEATURE_NAMES))])
    y = f @ w_dev
    w = fit_weights(f[:MIN_MEASUREMENTS], y[:MIN_MEASUREMENTS], prior)
    m = prediction_metrics(predict(f[5:], w), y[5:])
    assert m["within_10pct"] > 0.95 and m["spearman"] > 0.95


def test_too_few_measurements_is_a_clear_error():
    archs = _sample("fbnet", 4)
    f = arch_features(archs, HW)
    with pytest.raises(InputError, match="too few"):
        fit_weights(f, np.ones(4), np.ones((1, len(FEATURE_NAMES))))
    f = arch_features(_sample("fbnet", MIN_MEASUREMENTS_NO_PRIOR - 1), HW)
    with pytest.raises(InputError, match="without prior"):
        fit_weights(f, np.ones(len(f)), None)
    with pytest.raises(InputError, match="positive"):
        fit_weights(f, -np.ones(len(f)), np.ones((1, len(FEATURE_NAMES))))


@pytest.mark.parametrize("held_out,space,min_rho", [
    ("xeon_gold6226", "fbnet", 0.90), ("rtx2080ti_b64", "ofa_mbv3", 0.95), ("rtx2080ti_b1", "fbnet", 0.93)])
def test_calibrated_predictor_on_unseen_device_beats_flops(held_out, space, min_rho):
    """Leave the device out of the prior, calibrate with 20 of its measurements, score on 800."""
    from experiments.tools.build_profiles import PROFILES, hardware_of, profile_data

    group = PROFILES[held_out][0]
    prior = prior_from_profiles(exclude=tuple(p for p, v in PROFILES.items() if v[0] == group))
    archs, y = profile_data(held_out)[space]
    archs, y = archs[:820], y[:820]
    f, fl = arch_features(archs, hardware_of(held_out)), flops(archs)
    rhos, flops_rhos = [], []
    for seed in range(3):
        perm = np.random.default_rng(seed).permutation(len(y))
        cal, test = perm[:20], perm[20:]
        rhos.append(prediction_metrics(predict(f[test], fit_weights(f[cal], y[cal], prior)), y[test])["spearman"])
        a, b = fit_flops_baseline(fl[cal], y[cal])
        flops_rhos.append(prediction_metrics(a + b * fl[test], y[test])["spearman"])
    assert np.mean(rhos) >= min_rho
    assert np.mean(rhos) > np.mean(flops_rhos)


def test_transfer_from_other_devices_beats_physics_alone_on_unseen_device():
    """v100 (every batch size) left out: fit_predictor with the other profiles' space models as
    sources, 20 calibration points; the transfer model ranks the other 800 better than the
    physics fit alone, and never uses v100 data beyond the 20 points."""
    from experiments.tools.build_profiles import PROFILES, hardware_of, profile_data
    from nas.latency import fit_predictor, space_prior_from_profiles, transfer_features

    held = tuple(p for p, v in PROFILES.items() if v[0] == "v100")
    prior, sources = prior_from_profiles(exclude=held), space_prior_from_profiles(exclude=held)
    assert "ofa_mbv3" in sources and len(sources["ofa_mbv3"]) == 3  # the RTX 2080 Ti profiles
    archs, y = profile_data("v100_b1")["ofa_mbv3"]
    archs, y = archs[:820], y[:820]
    hw = hardware_of("v100_b1")
    f, z = arch_features(archs, hw), transfer_features(archs)
    rho, rho_phys = [], []
    for seed in range(3):
        perm = np.random.default_rng(seed).permutation(len(y))
        cal, test = perm[:20], perm[20:]
        fitted = fit_predictor({"ofa_mbv3": ([archs[i] for i in cal], y[cal])}, hw, prior, sources)
        phys = predict(f[test], fitted.weights["default"])
        pred = fitted.space_models["ofa_mbv3"].predict_ms(z[test], phys)
        assert fitted.space_models["ofa_mbv3"].kind == "transfer"
        rho.append(prediction_metrics(pred, y[test])["spearman"])
        rho_phys.append(prediction_metrics(phys, y[test])["spearman"])
    assert np.mean(rho) >= 0.87 and np.mean(rho) > np.mean(rho_phys)


def test_cv_choice_between_physics_and_flops_linear():
    """``choose_by_cv`` picks the FLOPs-linear end when latency is FLOPs plus noise and the
    physics end when latency follows launch counts that FLOPs do not see, and in both cases
    predicts 40 held-out networks at least as well as the other extreme (20 calibration points)."""
    import jax
    from scipy.stats import spearmanr

    from nas.latency.features import FEATURE_NAMES, Hardware, arch_features, flops
    from nas.latency.fit import choose_by_cv, prior_from_profiles
    from nas.latency.model import fit_weights, predict
    from nas.search_spaces import get_space

    space = get_space("fashion_mnist")
    archs = list(dict.fromkeys(space.canonical(a) for a in space.sample(jax.random.key(3), 80)))[:60]
    f = arch_features(archs, Hardware(1, 80.0, 12.0))
    prior = prior_from_profiles(exclude=("local_cpu",))
    rng = np.random.default_rng(0)
    fl = flops(archs)
    launches = f[:, FEATURE_NAMES.index("n_se")] * 0.05 + f[:, FEATURE_NAMES.index("n_residual")] * 0.04
    cases = {"flops": 0.05 + 2e-9 * fl * np.exp(rng.normal(0, 0.08, len(fl))),
             "launches": (0.02 + launches + 1e-10 * fl) * np.exp(rng.normal(0, 0.01, len(fl)))}
    cal, test = slice(0, 20), slice(20, None)
    for name, y in cases.items():
        w, info = choose_by_cv(f[cal], y[cal], prior)
        rho = spearmanr(predict(f[test], w), y[test]).statistic
        phys = spearmanr(predict(f[test], fit_weights(f[cal], y[cal], prior)), y[test]).statistic
        lin = spearmanr(fl[test], y[test]).statistic
        if name == "flops":
            assert info["physics_share"] <= 0.5 and rho >= phys - 0.02, (info, rho, phys)
        else:
            assert info["physics_share"] >= 0.5 and rho >= lin - 0.02, (info, rho, lin)
        assert info["cv_folds"] == 20
