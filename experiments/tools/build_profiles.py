"""Rebuild the shipped profiles from the measured data in ``hardware_profiles/data``.

``python -m experiments.tools.build_profiles`` writes one YAML per device column of
``data/ofa_mbv3.csv`` and ``data/fbnet_cifar100.csv`` (latencies measured by the HELP authors,
some columns collected by them from HW-NAS-Bench and BRP-NAS; see data/LICENSE-HELP). Each
profile is fitted on all of its device's data, with the other devices' non-negative fits as
prior, and stores a direct log-linear space model per measured space (the source models that
few-shot transfer to a new device mixes, :mod:`nas.latency.transfer`). Peak rates and
bandwidths are spec-sheet figures of the named hardware.
"""
from __future__ import annotations

from dataclasses import dataclass

from nas.latency.features import Hardware
from nas.latency.fit import fit_predictor
from nas.latency.measurements import read_measurements
from nas.latency.profile import MeasurementRef, Profile
from nas.latency.profile_io import PROFILE_DIR, save_profile

SOURCE = ("Measured by the authors of HELP (Lee et al., 'HELP: Hardware-Adaptive Efficient Latency "
          "Prediction for NAS via Meta-Learning', NeurIPS 2021; github.com/HayeonLee/HELP, MIT licence, "
          "see data/LICENSE-HELP); some device columns originate from HW-NAS-Bench (Li et al., ICLR 2021, "
          "MIT) and BRP-NAS (Dudziak et al., NeurIPS 2020, Apache-2.0), as credited by HELP. Values unchanged.")
RUNTIME = "as measured by the data's authors (framework and threads not recorded in the data)"
DATA = {"ofa_mbv3": "data/ofa_mbv3.csv", "fbnet": "data/fbnet_cifar100.csv"}


@dataclass(frozen=True)
class Device:
    group: str  # physical device; profiles of one group never serve as each other's prior
    device: str
    peak_gflops: float
    bandwidth_gbs: float
    memory_gb: float | None
    note: str


DEVICES = {
    "rtx2080ti": Device("rtx2080ti", "NVIDIA GeForce RTX 2080 Ti (GPU)", 13450.0, 616.0, 11.0,
                        "spec sheet: 4352 CUDA cores at 1545 MHz boost, FP32; GDDR6 616 GB/s"),
    "v100": Device("v100", "NVIDIA Tesla V100 (GPU)", 14000.0, 900.0, None,
                   "spec sheet of V100 PCIe (FP32 14 TFLOP/s, HBM2 900 GB/s); the variant and memory "
                   "size (16 or 32 GB) are not recorded in the data"),
    "xeon_gold6226": Device("xeon_gold6226", "Intel Xeon Gold 6226 (CPU, 12 cores, 2.7 GHz)", 1036.8,
                            140.8, None, "spec: 12 cores x 2.7 GHz x 32 FP32 FLOP/cycle (2 AVX-512 FMA); "
                            "6 channels DDR4-2933; threads used are not recorded"),
    "pixel2": Device("pixel2", "Google Pixel 2 (Snapdragon 835, CPU)", 78.4, 29.8, 4.0,
                     "approximate: 4 big Kryo 280 cores x 2.45 GHz x 8 FP32 FLOP/cycle; LPDDR4X 29.8 GB/s; "
                     "threads and runtime not recorded; latencies are whole milliseconds"),
    "samsung_s7": Device("samsung_s7", "Samsung Galaxy S7 (Exynos 8890 / Snapdragon 820, CPU)", 73.6, 28.7,
                         4.0, "approximate: 4 big cores x 2.3 GHz x 8 FP32 FLOP/cycle; LPDDR4 28.7 GB/s; "
                         "threads and runtime not recorded; latencies are whole milliseconds"),
}

# profile name -> (device key, batch size, data column)
PROFILES = {
    "rtx2080ti_b1": ("rtx2080ti", 1, "2080ti_1"),
    "rtx2080ti_b32": ("rtx2080ti", 32, "2080ti_32"),
    "rtx2080ti_b64": ("rtx2080ti", 64, "2080ti_64"),
    "v100_b1": ("v100", 1, "v100_1"),
    "v100_b32": ("v100", 32, "v100_32"),
    "v100_b64": ("v100", 64, "v100_64"),
    "xeon_gold6226": ("xeon_gold6226", 1, "gold_6226"),
    "pixel2": ("pixel2", 1, "pixel2"),
    "samsung_s7": ("samsung_s7", 1, "samsung_s7"),
}
COLUMNS = {"ofa_mbv3": ("2080ti_1", "2080ti_32", "2080ti_64", "v100_1", "v100_32", "v100_64"),
           "fbnet": ("2080ti_1", "2080ti_32", "2080ti_64", "gold_6226", "pixel2", "samsung_s7")}


def hardware_of(name: str) -> Hardware:
    dev, batch, _ = PROFILES[name]
    d = DEVICES[dev]
    return Hardware(batch, d.peak_gflops, d.bandwidth_gbs)


def profile_data(name: str) -> dict:
    """``{space: (archs, latency_ms)}`` of a shipped profile, read from nas.hardware_profiles/data."""
    col = PROFILES[name][2]
    return {s: read_measurements(PROFILE_DIR / DATA[s], s, col) for s in DATA if col in COLUMNS[s]}


def build(name: str, prior) -> Profile:
    dev_key, batch, col = PROFILES[name]
    d = DEVICES[dev_key]
    data = profile_data(name)
    fitted = fit_predictor(data, hardware_of(name), prior)
    refs = tuple(MeasurementRef(s, PROFILE_DIR / DATA[s], col) for s in data)
    return Profile(name, d.device, RUNTIME, batch, SOURCE, tuple(data), refs, hardware_of(name),
                   fitted.weights, d.peak_gflops, d.bandwidth_gbs, d.memory_gb, fitted.prior_weights,
                   {"notes": d.note, "fit": fitted.fit}, space_models=fitted.space_models,
                   outside_weights=fitted.outside_weights)


def main() -> None:
    import numpy as np

    from nas.latency.features import arch_features
    from nas.latency.model import fit_weights

    # stage 1: non-negative fits (the priors), stage 2: each profile with the others as prior
    nonneg = {}
    for name in PROFILES:
        data = profile_data(name)
        f = np.concatenate([arch_features(a, hardware_of(name)) for a, _ in data.values()])
        y = np.concatenate([v for _, v in data.values()])
        nonneg[name] = fit_weights(f, y, None, nonneg=True)
    for name in PROFILES:
        group = PROFILES[name][0]
        prior = np.stack([w for n, w in nonneg.items() if PROFILES[n][0] != group])
        prof = build(name, prior)
        save_profile(prof, PROFILE_DIR / f"{name}.yaml")
        print(name, {s: (m["spearman"], m["within_10pct"]) for s, m in prof.extra["fit"].items()})


if __name__ == "__main__":
    main()
