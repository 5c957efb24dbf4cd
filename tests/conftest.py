"""Shared test set-up: a persistent JAX compilation cache and a tiny in-memory dataset."""
from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(Path(__file__).resolve().parent.parent / ".cache" / "jax"))

import numpy as np  # noqa: E402
import pytest  # noqa: E402


def synthetic_images(n: int, *, seed: int, shape=(28, 28, 1), num_classes: int = 10):
    """Learnable uint8 images: a class-specific bright square on noise; labels int32 [n]."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, num_classes, n).astype(np.int32)
    h, w, c = shape
    x = rng.integers(0, 60, (n, h, w, c)).astype(np.uint8)
    for i, y in enumerate(labels):
        r, q = divmod(int(y), 4)
        x[i, 2 + 6 * r:8 + 6 * r, 2 + 6 * q:8 + 6 * q, :] = 220
    return x, labels


@pytest.fixture(scope="session")
def tiny_dataset():
    """nas.data.Dataset of 28x28x1 images, 10 classes: 192 train, 64 val, 64 test."""
    from nas.data import make_dataset

    return make_dataset("tiny", synthetic_images(256, seed=0), synthetic_images(64, seed=1),
                        num_classes=10, val_size=64, seed=0)


ROOT = Path(__file__).resolve().parent.parent
USER_PACKAGES = ("experiments", "evaluators", "search_spaces", "hardware_profiles")


def profile_beside_its_data(folder: Path, stem: str = "my_phone") -> Path:
    """A user's profile YAML ``folder/<stem>.yaml`` (a copy of the shipped ``pixel2``) with the
    measurement file it references in ``folder/data/``, as a user keeps one outside jaxnas."""
    import shutil

    shipped = ROOT / "hardware_profiles"
    (folder / "data").mkdir(parents=True)
    shutil.copyfile(shipped / "pixel2.yaml", folder / f"{stem}.yaml")
    shutil.copyfile(shipped / "data" / "fbnet_cifar100.csv", folder / "data" / "fbnet_cifar100.csv")
    return folder / f"{stem}.yaml"


def copy_checkout(dest: Path) -> Path:
    """The checkout's tracked files, as they are in the working tree, copied under ``dest``."""
    import shutil
    import subprocess

    tracked = subprocess.run(["git", "ls-files", "-z"], capture_output=True, text=True, check=True, cwd=ROOT)
    for name in filter(None, tracked.stdout.split("\0")):
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    return dest


@pytest.fixture(scope="session")
def jaxnas_wheel(tmp_path_factory) -> Path:
    """The wheel of this checkout's tracked files (as they are in the working tree), built by
    ``pip wheel`` in a copy: a developer's stale ``build/`` or ``*.egg-info`` cannot leak in."""
    import subprocess
    import sys

    src, out = copy_checkout(tmp_path_factory.mktemp("source")), tmp_path_factory.mktemp("wheel")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(out), str(src)], capture_output=True, text=True, cwd=out)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return next(out.glob("jaxnas-*.whl"))


@pytest.fixture(scope="session")
def installed_jaxnas(jaxnas_wheel, tmp_path_factory):
    """jaxnas as a user installs it, and a user's project folder to run it from.

    A fresh virtual environment with the wheel installed; it sees this environment's third-party
    packages through a ``.pth`` line naming their site-packages folder (whose own ``.pth`` files,
    the checkout's editable install among them, are not run), so nothing of the checkout is
    importable in it. The project folder holds the user's own ``experiments``, ``evaluators``,
    ``search_spaces`` and ``hardware_profiles`` packages, each raising on import unless the
    environment sets ``MY_PROJECT``: a command run there that imports one of those names (the CLI,
    a Ray worker) fails. Returns ``SimpleNamespace(python, nas, project, site, env)``."""
    import subprocess
    import sys
    import sysconfig
    from types import SimpleNamespace

    base = tmp_path_factory.mktemp("installed")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "third_party.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    proc = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q",
                           str(jaxnas_wheel)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    project = base / "my_project"
    for name in USER_PACKAGES:
        (project / name).mkdir(parents=True)
        (project / name / "__init__.py").write_text(
            "import os\n\nif not os.environ.get('MY_PROJECT'):\n"
            f"    raise ImportError('the user package {name} was imported by someone else')\nOWNER = 'user'\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(RAY_AUTH_MODE="disabled", RAY_USAGE_STATS_ENABLED="0",
               JAX_COMPILATION_CACHE_DIR=os.environ["JAX_COMPILATION_CACHE_DIR"])
    return SimpleNamespace(python=python, nas=venv / "bin" / "nas", project=project, site=site, env=env)


@pytest.fixture(autouse=True)
def _shipped_spaces_after_each_test():
    """The process's registry of spaces back to the shipped ones after every test: a run gives a
    shipped space its data's class count, a test registers a declared space, and neither may leak
    into the next test a worker runs (tests call get_space without a config that activates one)."""
    yield
    from nas.search_spaces import registry

    spaces, shipped = registry._SPACES, registry._SHIPPED
    for name in list(spaces):
        if name in shipped:
            spaces[name] = shipped[name]
        else:
            del spaces[name]
