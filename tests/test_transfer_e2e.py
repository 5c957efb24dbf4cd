"""A newcomer's folder of images, end to end: `nas run image_folder --set data.path=DIR` on a
generated 5-class folder of class folders (mixed sizes and colour modes) transfers the shipped
10-class Fashion-MNIST supernet (body kept, classifier replaced and trained alone, then the
supernet fine-tuned), searches it (a Ray actor rebuilding the run's 5-class space), and exports
a network with one logit per class."""
import json
import shutil

import numpy as np
import pytest
import yaml

from nas.data import write_synthetic_image_folder
from nas.search_spaces.registry import SHIPPED
from tests.test_hostile_input import cli

pytestmark = pytest.mark.slow


def _class_folders(root):
    """A folder of class folders (no train/ and val/): the layout a newcomer has."""
    src = write_synthetic_image_folder(root / "gen", num_classes=5, per_class=14, test_per_class=2, sizes=(20, 90))
    out = root / "my_images"
    for split in ("train", "val"):
        for cls in sorted((src / split).iterdir()):
            dst = out / f"class_{cls.name[-1]}"
            dst.mkdir(parents=True, exist_ok=True)
            for f in cls.iterdir():
                shutil.copy(f, dst / f"{split}_{f.name}")
    shutil.rmtree(src)
    return out


def test_image_folder_transfers_the_shipped_supernet_and_exports_five_logits(tmp_path):
    import onnxruntime as ort

    data = _class_folders(tmp_path)
    work = tmp_path / "run"
    code, out, err = cli("run", "image_folder", "--smoke", "--workdir", work, "--set", f"data.path={data}",
                         "--set", "search.num_workers=1")
    assert code == 0, err[-2000:]
    assert "transfer from pretrained:fashion_mnist" in " ".join((out + err).split())
    cfg = json.loads((work / "config.json").read_text())
    assert cfg["space"] == "fashion_mnist" and cfg["space_def"]["num_classes"] == 5
    record = json.loads((work / "supernet" / "result.json").read_text())
    assert record["result"]["started_from"]["head"] == {"replaced": True, "from_classes": 10, "to_classes": 5}
    assert [p["name"] for p in record["result"]["phases"]] == ["head", "expand"]
    assert record["fingerprint"]["num_classes"] == 5 and "space_declaration" in record["fingerprint"]
    models = sorted(work.glob("export/*/model.onnx"))
    assert models
    session = ort.InferenceSession(str(models[0]))
    assert session.get_outputs()[0].shape[-1] == 5
    x = np.zeros([1, 28, 28, 1], np.float32)
    assert session.run(None, {session.get_inputs()[0].name: x})[0].shape == (1, 5)
    # the same folder, resumed: nothing retrained, the record unchanged
    code, _, err = cli("run", "image_folder", "--smoke", "--workdir", work, "--set", f"data.path={data}")
    assert code == 0, err[-2000:]
    assert json.loads((work / "supernet" / "result.json").read_text()) == record


def test_a_space_that_pins_another_class_count_stops_before_training(tmp_path):
    data = _class_folders(tmp_path)
    pinned = {**SHIPPED["fashion_mnist"].declaration(), "name": "pinned_ten", "pin_classes": True}
    f = tmp_path / "pinned.yaml"
    f.write_text(yaml.safe_dump(pinned))
    work = tmp_path / "run"
    code, _, err = cli("run", "image_folder", "--smoke", "--workdir", work, "--set", f"data.path={data}",
                       "--set", f"space={f}")
    assert code == 2 and "space: pinned_ten pins 10 classes but data" in err and "has 5" in err
    assert not (work / "supernet").exists()
