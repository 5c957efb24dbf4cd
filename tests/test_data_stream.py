"""nas.data streaming: image folders and TFDS records through Grain (decode, augment, shard, resume),
bad data, and elastic-resolution supernet training (one compiled step per resolution)."""
from __future__ import annotations

import collections
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nas.config import DataConfig
from nas.data import eval_batches, load_dataset, train_batches
from nas.data.imagefolder import write_synthetic_image_folder
from nas.data.stream import center_crop, decode
from nas.errors import InputError

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return write_synthetic_image_folder(tmp_path_factory.mktemp("imgs"), num_classes=4, per_class=10,
                                        test_per_class=3, sizes=(30, 200))


def _cfg(path, **kw):
    return DataConfig(**{"source": "image_folder", "path": str(path), "val_size": 8, "image_size": 48,
                         "workers": 0, **kw})


def _batches(split, n, **kw):
    it = split.train_batches(8, seed=3, **kw)
    try:
        return [next(it) for _ in range(n)]
    finally:
        it.close()


def test_image_folder_dataset_streams_rgb_at_any_size(folder):
    ds = load_dataset(_cfg(folder))
    assert ds.streaming and (len(ds.train), len(ds.val), len(ds.test)) == (32, 8, 12)
    assert ds.num_classes == 4 and ds.input_shape == (48, 48, 3)
    assert all(0 < m < 1 for m in ds.mean) and all(0 < s < 1 for s in ds.std)
    modes = {Image.open(os.fsdecode(p)).mode for p in ds.train.source.paths}
    assert {"L", "RGB", "RGBA"} <= modes  # grayscale and RGBA files among them, all converted
    it = train_batches(ds.train, 8, seed=3)  # the pipeline's entry point dispatches to the stream
    step, x, y = next(it)
    it.close()
    assert step == 0 and x.shape == (8, 48, 48, 3) and x.dtype == np.uint8 and set(y) <= set(range(4))
    batches = list(eval_batches(ds.test, 5))
    assert [float(m.sum()) for _, _, m in batches] == [5.0, 5.0, 2.0]
    np.testing.assert_array_equal(np.concatenate([y for _, y, _ in batches])[:12],
                                  ds.test.source.labels[ds.test.positions])


def test_every_prefix_of_a_folder_split_spans_the_classes(folder):
    # the folder lists files class by class; limits, BN calibration and the search's first
    # evaluation batches read prefixes of a split, so a prefix must not be one class
    ds = load_dataset(_cfg(folder, val_size=12))
    for split in (ds.train, ds.val, ds.test):
        assert sorted(split.positions.tolist()) == sorted(set(split.positions.tolist()))
        first = [split.source.label(int(p)) for p in split.positions[:8]]
        assert len(set(first)) >= 3, (split.name, first)
    (images, labels, _), = eval_batches(ds.test.take(8), 8)
    assert len(set(labels.tolist())) >= 3
    assert load_dataset(_cfg(folder, val_size=12)).train.positions.tolist() == ds.train.positions.tolist()


def test_fashion_mnist_stays_in_memory():
    if not Path("/usr/share/datasets/fashion-mnist").is_dir():
        pytest.skip("Fashion-MNIST files not installed")
    ds = load_dataset(DataConfig(limit_train=64, limit_eval=16))
    assert not ds.streaming and isinstance(ds.train.images, np.ndarray)


def test_stream_is_deterministic_resumable_and_sharded(folder):
    ds = load_dataset(_cfg(folder))
    full = _batches(ds.train, 4, resolutions=(32, 48))
    again = _batches(ds.train, 4, resolutions=(32, 48))
    for (s, x, y), (s2, x2, y2) in zip(full, again):
        assert s == s2
        np.testing.assert_array_equal(x, x2)
        np.testing.assert_array_equal(y, y2)
    assert {x.shape[1] for _, x, _ in full} <= {32, 48}
    resumed = _batches(ds.train, 2, resolutions=(32, 48), start_step=2)  # the checkpoint's step
    for (s, x, y), (s2, x2, y2) in zip(full[2:], resumed):
        assert s == s2
        np.testing.assert_array_equal(x, x2)
        np.testing.assert_array_equal(y, y2)
    # each process decodes only its half; together they are the global batch
    halves = [_batches(ds.train, 4, resolutions=(32, 48), process_index=p, process_count=2) for p in (0, 1)]
    for (s, x, y), a, b in zip(full, *halves):
        assert a[0] == b[0] == s and a[1].shape[0] == b[1].shape[0] == 4
        np.testing.assert_array_equal(np.concatenate([a[1], b[1]]), x)
        np.testing.assert_array_equal(np.concatenate([a[2], b[2]]), y)


def test_grain_iterator_state_restores_the_stream(folder):
    import grain

    ds = load_dataset(_cfg(folder))
    it = iter(ds.train.train_dataset(8, seed=1).to_iter_dataset(grain.ReadOptions(num_threads=1)))
    next(it)
    state = it.get_state()
    want = next(it)
    it2 = iter(ds.train.train_dataset(8, seed=1).to_iter_dataset(grain.ReadOptions(num_threads=1)))
    it2.set_state(state)
    np.testing.assert_array_equal(next(it2)["images"], want["images"])


def test_worker_processes_give_the_same_batches(folder):
    ds = load_dataset(_cfg(folder))
    inproc = _batches(ds.train, 3, workers=0)
    worker = _batches(ds.train, 3, workers=1)
    for (_, x, y), (_, x2, y2) in zip(inproc, worker):
        np.testing.assert_array_equal(x, x2)
        np.testing.assert_array_equal(y, y2)


def test_eval_decodes_at_the_asked_resolution(folder):
    ds = load_dataset(_cfg(folder))
    x, _, _ = next(eval_batches(ds.test.at(96), 4))
    path = os.fsdecode(ds.test.source.paths[ds.test.positions[0]])
    want = center_crop(decode(Path(path).read_bytes()), 96)  # from the file itself, not a 48 px copy
    assert x.shape == (4, 96, 96, 3)
    np.testing.assert_array_equal(x[0], want)


def test_corrupt_images_are_skipped_and_counted(tmp_path, capfd):
    root = write_synthetic_image_folder(tmp_path / "d", num_classes=2, per_class=6, test_per_class=2)
    files = sorted((root / "train").rglob("*.JPEG"))
    files[0].write_bytes(files[0].read_bytes()[:200])  # truncated
    files[1].write_bytes(b"not an image at all")
    ds = load_dataset(_cfg(root, val_size=1))
    seen = [s for _, s, _ in _batches(ds.train, 6)]
    assert all(len(y) == 8 for y in seen)  # slots refilled with other images
    err = capfd.readouterr().err
    assert files[1].name in err and "skipped" in err and "in total" in err
    test_bad = sorted((root / "val").rglob("*.JPEG"))[0]
    test_bad.write_bytes(b"garbage")
    masks = [m for _, _, m in eval_batches(load_dataset(_cfg(root, val_size=1)).test, 4)]
    assert float(np.concatenate(masks).sum()) == len(list((root / "val").rglob("*.*"))) - 1
    assert test_bad.name in capfd.readouterr().err


def test_bad_folders_are_input_errors(tmp_path):
    root = write_synthetic_image_folder(tmp_path / "d", num_classes=2, per_class=2, test_per_class=1)
    with pytest.raises(InputError, match="is not a folder"):
        load_dataset(_cfg(tmp_path / "missing"))
    (root / "train" / "empty_class").mkdir()
    with pytest.raises(InputError, match="empty_class has no images"):
        load_dataset(_cfg(root, val_size=1))
    (root / "train" / "empty_class").rmdir()
    (root / "val" / "stranger").mkdir()
    (root / "val" / "stranger" / "x.png").write_bytes(b"")
    with pytest.raises(InputError, match="not a training class"):
        load_dataset(_cfg(root, val_size=1))
    empty = tmp_path / "e"
    (empty / "train").mkdir(parents=True)
    (empty / "val").mkdir()
    with pytest.raises(InputError, match="no class folders"):
        load_dataset(_cfg(empty))
    # a folder of class folders is a layout of its own (every 10th image of a class held out) ...
    flat = load_dataset(_cfg(root / "train", val_size=1))
    assert flat.num_classes == 2 and len(flat.train) + len(flat.val) == 2 and len(flat.test) == 2
    # ... but a held-out folder without train/ beside it is a mistake
    (root / "train").rename(root / "training")
    with pytest.raises(InputError, match="no train/ folder"):
        load_dataset(_cfg(root))
    one = tmp_path / "one" / "only_class"
    one.mkdir(parents=True)
    (root / "training" / "n00000000").rename(one)
    with pytest.raises(InputError, match="at least two"):
        load_dataset(_cfg(one.parent))


def test_labels_out_of_range_are_input_errors(folder):
    import dataclasses

    ds = load_dataset(_cfg(folder))
    narrow = dataclasses.replace(ds.train, num_classes=2)
    with pytest.raises(InputError, match="out of range for 2 classes"):
        _batches(narrow, 4)


@pytest.mark.slow
def test_cli_bad_folder_is_one_line_exit_2(tmp_path):
    root = write_synthetic_image_folder(tmp_path / "d", num_classes=2, per_class=2, test_per_class=1)
    (root / "train" / "empty_class").mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, "-m", "nas.cli.main", "run", "imagenet_ofa", "--smoke", "--workdir",
                        str(tmp_path / "w"), "--set", f"data.path={root}", "--set", "supernet.jax_distributed=false"],
                       capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert p.returncode == 2, p.stderr
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "empty_class has no images" in lines[0]


def test_tfds_variable_size_images_stream(tmp_path):
    import tensorflow_datasets as tfds

    class NasVarImages(tfds.core.GeneratorBasedBuilder):
        VERSION = tfds.core.Version("1.0.0")

        def _info(self):
            return tfds.core.DatasetInfo(builder=self, supervised_keys=("image", "label"),
                                         features=tfds.features.FeaturesDict({
                                             "image": tfds.features.Image(shape=(None, None, 3)),
                                             "label": tfds.features.ClassLabel(num_classes=3)}))

        def _split_generators(self, dl_manager):
            return {"train": self._generate_examples(12, 0), "test": self._generate_examples(4, 1)}

        def _generate_examples(self, n, seed):
            rng = np.random.default_rng(seed)
            for i in range(n):
                h, w = rng.integers(20, 90, 2)
                yield i, {"image": rng.integers(0, 255, (h, w, 3), dtype=np.uint8), "label": i % 3}

    NasVarImages(data_dir=str(tmp_path), file_format="array_record").download_and_prepare()
    ds = load_dataset(DataConfig(source="tfds", name="nas_var_images", path=str(tmp_path), val_size=2,
                                 image_size=32, workers=0))
    assert ds.streaming and ds.num_classes == 3 and (len(ds.train), len(ds.test)) == (10, 4)
    (_, x, y), = _batches(ds.train.take(10), 1)
    assert x.shape == (8, 32, 32, 3) and set(y) <= {0, 1, 2}
    _, y, m = next(eval_batches(ds.test, 4))
    assert sorted(y.tolist()) == [0, 0, 1, 2] and m.sum() == 4  # TFDS shuffles records when preparing
    assert ds.train.source.encoded and isinstance(ds.train.source[0][1], bytes)  # decoded in the workers


def _tiny_rgb_space():
    from nas.search_spaces.elastic_mbconv import ElasticConfig, ElasticMBConvSpace, StageDef

    return ElasticMBConvSpace("tiny_rgb", ElasticConfig(
        in_channels=3, num_classes=4, stem_width=8, stem_stride=2, first_width=8,
        stages=(StageDef(8, 2, "relu", False), StageDef(16, 1, "relu", True)), final_width=16, feature_width=0,
        kernels=(3, 5), expands=(2, 3), depths=(1, 2), resolutions=(16, 24, 32)))


@pytest.mark.slow
def test_supernet_compiles_one_step_per_resolution(tmp_path):
    from flax import nnx

    from nas.search_spaces.supernet import Supernet
    from nas.train.forward import supernet_forward
    from nas.train.loop import RunSpec, fit
    from nas.train.supernet import subnet_sampler

    root = write_synthetic_image_folder(tmp_path / "d", num_classes=4, per_class=6, test_per_class=1,
                                        sizes=(20, 60))
    ds = load_dataset(_cfg(root, val_size=1, image_size=32))
    traced = []

    def counting_forward(model, x, arch, **kw):  # runs only while jit traces the step
        traced.append(int(x.shape[1]))
        return supernet_forward(model, x, arch, **kw)

    space = _tiny_rgb_space()
    model = Supernet(space, rngs=nnx.Rngs(0))
    spec = RunSpec(tmp_path / "run", "supernet", 8, 0.05, 9, 1, 3e-5, 0.1, 0, checkpoint_every=100,
                   resolutions=(16, 24, 32))
    fit(model, counting_forward, subnet_sampler(model, space, 1, 0), ds, spec, progress=False)
    counts = collections.Counter(traced)
    assert sorted(counts) == [16, 24, 32]  # 9 steps drew every resolution
    assert len(set(counts.values())) == 1 and counts[16] <= 2  # one trace each (scan body), not one per step
