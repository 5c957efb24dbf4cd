"""Once-for-All's own MobileNetV3 supernet (the ``ofa`` package, PyTorch) as a reference.

``ofa`` imports torchvision for its data loaders only; PyPI's torchvision wheels are CUDA builds
that do not load against the CPU torch, so when torchvision does not import, a stub with the two
classes ofa subclasses stands in for it (the networks never use it).
"""
from __future__ import annotations

import sys
import types

import numpy as np


def _stub_torchvision() -> None:
    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[name]
    tv, tr, fn, ds = (types.ModuleType(n) for n in ("torchvision", "torchvision.transforms",
                                                     "torchvision.transforms.functional",
                                                     "torchvision.datasets"))
    tr.RandomResizedCrop = type("RandomResizedCrop", (), {})
    tr.RandomCrop = type("RandomCrop", (), {})
    tr.functional, tv.transforms, tv.datasets = fn, tr, ds
    sys.modules.update({"torchvision": tv, "torchvision.transforms": tr,
                        "torchvision.transforms.functional": fn, "torchvision.datasets": ds})


def ofa_mbv3_class():
    """``OFAMobileNetV3`` of the ``ofa`` package. torch and ofa come with the test extra, so
    a missing install is an ImportError (a failing test), never a skip."""
    import torch  # noqa: F401

    try:
        import torchvision  # noqa: F401
    except Exception:  # missing, or a CUDA build that does not load here
        _stub_torchvision()
    from ofa.imagenet_classification.elastic_nn.networks.ofa_mbv3 import OFAMobileNetV3

    return OFAMobileNetV3


def random_ofa_mbv3(seed: int = 0, width_mult: float = 1.0):
    """``ofa_mbv3_d234_e346_k357_w1.0`` (or ``_w1.2``) with random weights, random BN running
    statistics and random (non-identity) kernel transformation matrices, in eval mode."""
    import torch

    torch.manual_seed(seed)
    net = ofa_mbv3_class()(n_classes=1000, dropout_rate=0.0, width_mult=width_mult, ks_list=[3, 5, 7],
                           expand_ratio_list=[3, 4, 6], depth_list=[2, 3, 4])
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.endswith("_matrix"):  # identity plus noise: the transform matters
                p.add_(0.3 * torch.randn(p.shape, generator=g))
            elif p.ndim == 1:  # BN scale/bias, SE and classifier biases
                p.copy_((1.0 if name.endswith("bn.weight") else 0.0) + 0.2 * torch.randn(p.shape, generator=g))
        for name, b in net.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(0.1 * torch.randn(b.shape, generator=g))
            elif name.endswith("running_var"):
                b.copy_(0.5 + torch.rand(b.shape, generator=g))
    return net.eval()


def ofa_subnet_logits(net, ks, e, d, images_nchw: np.ndarray) -> np.ndarray:
    """Logits of OFA's extracted subnet ``get_active_subnet(preserve_weight=True)`` in eval mode."""
    import torch

    net.set_active_subnet(ks=[int(v) for v in ks], e=[int(v) for v in e], d=[int(v) for v in d])
    sub = net.get_active_subnet(preserve_weight=True).eval()
    with torch.no_grad():
        return sub(torch.from_numpy(np.ascontiguousarray(images_nchw, np.float32))).numpy()


def ofa_tutorial():
    """``(LatencyEstimator, AccuracyPredictor)`` of the ``ofa`` package's tutorial, the code OFA's
    notebook runs. Its latency table calls ``yaml.load`` without a Loader, which PyYAML 6 refuses:
    that module is given PyYAML's safe loader. Both are constructed on local files (their defaults
    download by URL)."""
    import types

    import yaml

    ofa_mbv3_class()  # torch, and the torchvision stand-in where needed
    import ofa.tutorial.latency_table as lt
    from ofa.tutorial.accuracy_predictor import AccuracyPredictor

    lt.yaml = types.SimpleNamespace(load=yaml.safe_load)
    return lt.LatencyEstimator, AccuracyPredictor
