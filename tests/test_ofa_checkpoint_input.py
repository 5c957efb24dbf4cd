"""Once-for-All's checkpoint as users hand it over: files that are no PyTorch checkpoint (text,
random bytes, random zip archives, damaged checkpoints) are one clean InputError line naming the
file (exit status 2 from the CLI), never a traceback; a checkpoint as OFA's training code saves
it (numpy ``best_acc``, ``epoch`` and the optimizer's state beside ``"state_dict"``) imports as
the bare state dict does; a folder imported from OFA is normalised as OFA's file is."""
import io
import random
import zipfile

import numpy as np
import pytest
import torch  # the test extra installs it: a missing torch fails, never skips

from nas.errors import InputError
from tests.ofa_reference import random_ofa_mbv3

ONE_LINE_ERROR = "not a PyTorch checkpoint of Once-for-All's supernet"


@pytest.fixture(scope="module")
def ofa_files(tmp_path_factory):
    """OFA's supernet (random weights) saved bare, and as OFA's training code saves it: under
    "state_dict" with DataParallel's "module." prefix, beside a numpy best_acc, the epoch, the
    optimizer's state and the dataset's name."""
    d = tmp_path_factory.mktemp("ofa_files")
    sd = random_ofa_mbv3(seed=0).state_dict()
    bare, training = d / "bare.pth", d / "checkpoint.pth.tar"
    torch.save(sd, bare)
    optimizer = {"state": {0: {"momentum_buffer": torch.ones(3)}},
                 "param_groups": [{"lr": 0.08, "momentum": 0.9, "nesterov": True, "params": [0]}]}
    torch.save({"epoch": 3, "best_acc": np.float64(77.1), "optimizer": optimizer, "dataset": "imagenet",
                "state_dict": {f"module.{k}": v for k, v in sd.items()}}, training)
    return bare, training


def _one_clean_line(err: str, path) -> None:
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert "\x1b" not in err and str(path) in err, err
    assert all(c.isprintable() for c in err.rstrip("\n")), err


def _nas(*args) -> int:
    from nas.cli.main import main

    return main(list(args))


def test_a_text_file_is_one_line_and_exit_status_2(tmp_path, capsys):
    text = tmp_path / "notes.pth"
    text.write_text("hello world")
    assert _nas("supernet", "import-ofa", str(text), "--out", str(tmp_path / "out")) == 2
    captured = capsys.readouterr()
    _one_clean_line(captured.err, text)
    assert ONE_LINE_ERROR in captured.err and "Traceback" not in captured.err + captured.out
    assert not (tmp_path / "out").exists()


def test_a_refused_global_names_the_reason_not_pytorchs_advice(tmp_path):
    """PyTorch's weights-only refusal is a paragraph with a bold escape code; the message keeps
    its gist (the global it refused), on one line."""
    from nas.pretrained.ofa import read_state_dict

    path = tmp_path / "with_array.pth"
    torch.save({"state_dict": {"a": torch.zeros(2)}, "history": np.arange(3)}, path)  # arrays are not allowed
    with pytest.raises(InputError) as e:
        read_state_dict(path)
    msg = str(e.value)
    _one_clean_line(msg + "\n", path)
    assert ONE_LINE_ERROR in msg and "Unsupported global" in msg and "_reconstruct" in msg, msg
    assert "two options" not in msg and "weights_only" not in msg and len(msg) < len(str(path)) + 220, msg


def _random_zip(rng: random.Random) -> bytes:
    """A zip archive with some of the member names of PyTorch's format, holding random bytes."""
    names = ["archive/data.pkl", "archive/version", "archive/byteorder", "archive/data/0", "x/data.pkl", "y"]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name in rng.sample(names, rng.randint(0, 4)):
            z.writestr(name, rng.randbytes(rng.randint(0, 200)))
    return out.getvalue()


def _damaged(rng: random.Random, good: bytes) -> bytes:
    """A real small checkpoint with a few bytes changed, or cut short."""
    if rng.random() < 0.3:
        return good[:rng.randrange(len(good))]
    data = bytearray(good)
    for _ in range(rng.randint(1, 8)):
        data[rng.randrange(len(data))] = rng.getrandbits(8)
    return bytes(data)


def test_random_and_damaged_files_are_always_input_errors(tmp_path):
    """50 random byte strings, 50 random zip archives, 50 damaged checkpoints (with a numpy scalar,
    which takes the retry with numpy allowed): each an InputError of one clean line naming the
    file (a damaged file whose bytes still read is refused for its layout), never another type."""
    from nas.pretrained.ofa import ofa_file_space

    rng = random.Random(20240537)
    buf = io.BytesIO()
    torch.save({"state_dict": {"first_conv.conv.weight": torch.randn(8, 3, 3, 3)}, "best_acc": np.float64(1.5)},
               buf)
    good = buf.getvalue()
    files = ([rng.randbytes(rng.randint(0, 600)) for _ in range(50)] + [_random_zip(rng) for _ in range(50)]
             + [_damaged(rng, good) for _ in range(50)])
    for n, data in enumerate(files):
        path = tmp_path / f"{n}.pth"
        path.write_bytes(data)
        with pytest.raises(InputError) as e:
            ofa_file_space(path)
        _one_clean_line(str(e.value) + "\n", path)


def test_a_training_checkpoint_imports_as_its_state_dict(ofa_files, tmp_path):
    import jax
    from flax import nnx

    from nas.pretrained.ofa import import_ofa_supernet, read_state_dict

    bare, training = ofa_files
    a, b = read_state_dict(bare), read_state_dict(training)
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    x, y = (nnx.to_pure_dict(nnx.state(import_ofa_supernet(p))) for p in (bare, training))
    assert jax.tree.structure(x) == jax.tree.structure(y)
    assert all(np.array_equal(u, v) for u, v in zip(jax.tree.leaves(x), jax.tree.leaves(y)))
    assert _nas("supernet", "import-ofa", str(training), "--out", str(tmp_path / "sup")) == 0
    assert (tmp_path / "sup" / "result.json").is_file()


def test_numpy_1_scalars_read_too(tmp_path):
    """OFA's files were written under numpy 1, whose scalars pickle as numpy.core.multiarray.scalar."""
    from nas.pretrained.ofa import read_state_dict

    buf = io.BytesIO()
    torch.save({"state_dict": {"a": torch.arange(3.0)}, "best_acc": np.float64(77.1)}, buf)
    src, out = zipfile.ZipFile(io.BytesIO(buf.getvalue())), io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name in src.namelist():
            data = src.read(name)
            z.writestr(name, data.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
                       if name.endswith("data.pkl") else data)
    path = tmp_path / "numpy1.pth"
    path.write_bytes(out.getvalue())
    assert np.array_equal(read_state_dict(path)["a"], [0.0, 1.0, 2.0])


# ------------------------------------------------------------------ data.normalize: auto
def _normalization(init, normalize="auto") -> str:
    from nas.config import load_experiment
    from nas.pipeline.supernet import resolve_normalization

    cfg = load_experiment("imagenet_ofa", smoke=True)
    cfg.supernet.init, cfg.data.normalize = str(init), normalize
    resolve_normalization(cfg)
    return cfg.data.normalize


def test_a_folder_imported_from_ofa_is_normalised_as_imagenet(ofa_files, tmp_path):
    from nas.pretrained.init import describe_source, import_to_folder, is_ofa_source

    out = tmp_path / "imported"
    import_to_folder(ofa_files[1], out)
    assert _normalization(out) == "imagenet"  # its record says OFA, as the file does
    assert _normalization(ofa_files[1]) == "imagenet"
    assert _normalization(out, "dataset") == "dataset"  # an explicit choice stays
    assert _normalization("pretrained:fashion_mnist") == "dataset"  # a jaxnas supernet trained here
    assert _normalization("") == "dataset"
    ofa_source = describe_source(out)
    assert ofa_source["format"] == "jaxnas" and is_ofa_source(ofa_source)
    assert is_ofa_source({"format": "jaxnas", "origin": ofa_source})  # a run that started from that folder
    assert not is_ofa_source(describe_source("pretrained:fashion_mnist"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"^supernet\.init: \S+ holds no jaxnas supernet"):
        _normalization(tmp_path / "empty")
