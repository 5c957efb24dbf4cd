"""nas.data: IDX/Fashion-MNIST/TFDS loading, splits, batching, augmentation."""
from __future__ import annotations

import gzip
import struct

import jax
import numpy as np
import pytest

from nas.config import DataConfig
from nas.data import augment, eval_batches, load_dataset, make_dataset, normalize, read_idx, train_batches
from nas.errors import InputError
from tests.conftest import synthetic_images


def write_idx(path, array, gz=False):
    codes = {np.dtype(np.uint8): 0x08, np.dtype(np.int32): 0x0C}
    a = np.asarray(array)
    head = bytes([0, 0, codes[a.dtype], a.ndim]) + struct.pack(f">{a.ndim}I", *a.shape)
    body = a.astype(a.dtype.newbyteorder(">")).tobytes()
    (gzip.open if gz else open)(path, "wb").write(head + body)


def write_idx_folder(d, n_train=50, n_test=20, gz=True):
    x, y = synthetic_images(n_train, seed=0)
    xt, yt = synthetic_images(n_test, seed=1)
    sfx = ".gz" if gz else ""
    write_idx(d / f"train-images-idx3-ubyte{sfx}", x[..., 0], gz)
    write_idx(d / f"train-labels-idx1-ubyte{sfx}", y.astype(np.uint8), gz)
    write_idx(d / f"t10k-images-idx3-ubyte{sfx}", xt[..., 0], gz)
    write_idx(d / f"t10k-labels-idx1-ubyte{sfx}", yt.astype(np.uint8), gz)
    return x, y, xt, yt


@pytest.mark.parametrize("gz", [True, False])
def test_idx_folder_roundtrip_and_val_split(tmp_path, gz):
    x, y, xt, yt = write_idx_folder(tmp_path, gz=gz)
    ds = load_dataset(DataConfig(source="idx", path=str(tmp_path), val_size=10, seed=3))
    assert ds.input_shape == (28, 28, 1) and ds.train.images.dtype == np.uint8
    assert len(ds.train) == 40 and len(ds.val) == 10 and len(ds.test) == 20
    np.testing.assert_array_equal(ds.test.images[..., 0], xt[..., 0])
    np.testing.assert_array_equal(ds.test.labels, yt)
    # train and val partition the source training split; the carve depends on the seed
    both = np.concatenate([ds.train.labels, ds.val.labels])
    assert sorted(both.tolist()) == sorted(y.tolist())
    other = load_dataset(DataConfig(source="idx", path=str(tmp_path), val_size=10, seed=4))
    assert not np.array_equal(other.val.images, ds.val.images)
    again = load_dataset(DataConfig(source="idx", path=str(tmp_path), val_size=10, seed=3))
    np.testing.assert_array_equal(again.val.images, ds.val.images)


def test_idx_errors_name_the_file(tmp_path):
    write_idx_folder(tmp_path)
    cfg = DataConfig(source="idx", path=str(tmp_path), val_size=10)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(InputError, match="no t10k labels file"):
        load_dataset(cfg)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8bgarbage")
    with pytest.raises(InputError, match="t10k-labels-idx1-ubyte.gz"):
        load_dataset(cfg)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros(3, np.uint8), gz=True)
    with pytest.raises(InputError, match="3 labels for 20 images"):
        load_dataset(cfg)
    raw = gzip.decompress((tmp_path / "train-images-idx3-ubyte.gz").read_bytes())[:-5]
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(raw))
    with pytest.raises(InputError, match="train-images-idx3-ubyte.gz: corrupt"):
        read_idx(tmp_path / "train-images-idx3-ubyte.gz")
    write_idx_folder(tmp_path)
    with pytest.raises(InputError, match="val_size"):
        load_dataset(DataConfig(source="idx", path=str(tmp_path), val_size=500))
    with pytest.raises(InputError, match="data.path"):
        load_dataset(DataConfig(source="idx", path=str(tmp_path / "nope")))


def test_fashion_mnist_missing_folder_says_how_to_install(tmp_path):
    with pytest.raises(InputError, match="apt-get install -y dataset-fashion-mnist"):
        load_dataset(DataConfig(source="fashion_mnist", path=str(tmp_path)))


def test_train_batches_are_a_function_of_seed_and_step(tiny_dataset):
    it = train_batches(tiny_dataset.train, 32, seed=5)
    first = [next(it) for _ in range(12)]  # 6 steps per epoch: two epochs
    resumed = train_batches(tiny_dataset.train, 32, seed=5, start_step=7)
    for (s, x, y), (s2, x2, y2) in zip(first[7:], resumed):
        assert s == s2
        np.testing.assert_array_equal(x, x2)
        np.testing.assert_array_equal(y, y2)
    epoch0 = np.concatenate([b[2] for b in first[:6]])
    assert sorted(epoch0.tolist()) == sorted(tiny_dataset.train.labels.tolist())
    assert not np.array_equal(first[0][1], first[6][1])  # a new order each epoch


def test_eval_batches_pad_and_mask(tiny_dataset):
    batches = list(eval_batches(tiny_dataset.val, 24))
    assert [b[0].shape[0] for b in batches] == [24, 24, 24]
    assert batches[-1][2].sum() == 64 - 48
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches])[:64], tiny_dataset.val.labels)


def test_augment_is_keyed_per_example_and_crops_flip():
    x = np.zeros((64, 8, 8, 1), np.uint8)
    x[:, 3:5, 1:3] = 255  # off-centre blob: flips and shifts move it
    a = np.asarray(augment(jax.random.key(0), x, pad=2))
    b = np.asarray(augment(jax.random.key(0), x, pad=2))
    c = np.asarray(augment(jax.random.key(1), x, pad=2))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.shape == x.shape and a.dtype == np.uint8
    assert len({a[i].tobytes() for i in range(64)}) > 5  # examples differ from each other
    assert (a.reshape(64, -1).sum(1) <= x.reshape(64, -1).sum(1)).all()  # crop never adds content
    flipped = np.asarray(augment(jax.random.key(0), x[:, :, ::-1], pad=0))
    assert {flipped[i].tobytes() for i in range(64)} == {x[0].tobytes(), x[0, :, ::-1].tobytes()}  # both occur


def test_normalize_uses_train_statistics(tiny_dataset):
    z = np.asarray(normalize(tiny_dataset.train.images, tiny_dataset.mean, tiny_dataset.std))
    assert abs(z.mean()) < 1e-3 and abs(z.std() - 1) < 1e-3


def test_limits_and_label_range():
    x, y = synthetic_images(40, seed=0)
    ds = make_dataset("t", (x, y), (x[:10], y[:10]), val_size=8, limit_train=5, limit_eval=3)
    assert (len(ds.train), len(ds.val), len(ds.test)) == (5, 3, 3)
    with pytest.raises(InputError, match="out of range"):
        make_dataset("t", (x, y), (x, y), num_classes=2)
