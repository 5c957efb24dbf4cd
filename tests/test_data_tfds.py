"""nas.data with source "tfds": a tiny dataset prepared offline as array_record, no TensorFlow."""
from __future__ import annotations

import numpy as np
import pytest
import tensorflow_datasets as tfds

from nas.config import DataConfig
from nas.data import load_dataset
from nas.errors import InputError
from tests.conftest import synthetic_images


class NasTinyImages(tfds.core.GeneratorBasedBuilder):
    """28x28x1 uint8 Tensor images, 10 classes; 48 train and 16 test examples."""

    VERSION = tfds.core.Version("1.0.0")

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self, supervised_keys=("image", "label"),
            features=tfds.features.FeaturesDict({
                "image": tfds.features.Tensor(shape=(28, 28, 1), dtype=np.uint8),
                "label": tfds.features.ClassLabel(num_classes=10)}))

    def _split_generators(self, dl_manager):
        return {"train": self._generate_examples(48, 0), "test": self._generate_examples(16, 1)}

    def _generate_examples(self, n, seed):
        x, y = synthetic_images(n, seed=seed)
        for i in range(n):
            yield i, {"image": x[i], "label": int(y[i])}


@pytest.fixture(scope="module")
def tfds_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("tfds")
    NasTinyImages(data_dir=str(d), file_format="array_record").download_and_prepare()
    return d


def test_tfds_data_source_loads_all_splits(tfds_dir):
    ds = load_dataset(DataConfig(source="tfds", name="nas_tiny_images", path=str(tfds_dir), val_size=8))
    assert (len(ds.train), len(ds.val), len(ds.test)) == (40, 8, 16)
    assert ds.num_classes == 10 and ds.input_shape == (28, 28, 1)
    x, y = synthetic_images(16, seed=1)
    order = np.lexsort((ds.test.labels, ds.test.images.reshape(16, -1).sum(1)))
    ref = np.lexsort((y, x.reshape(16, -1).sum(1)))
    np.testing.assert_array_equal(ds.test.images[order], x[ref])
    np.testing.assert_array_equal(ds.test.labels[order], y[ref])


def test_tfds_unknown_dataset_is_input_error(tfds_dir):
    with pytest.raises(InputError, match="data.name: cannot open TFDS dataset 'no_such_set'"):
        load_dataset(DataConfig(source="tfds", name="no_such_set", path=str(tfds_dir)))
    with pytest.raises(InputError, match="data.name"):
        load_dataset(DataConfig(source="tfds", name="", path=str(tfds_dir)))
