"""The face finder behind "try your own image", and the misclassified filter."""
import numpy as np
import pytest
from skimage import data as skdata

from studylib import models
from studylib.report import scorecard, widgets
from studylib.data import ImageDataset


def test_face_is_found_and_classified():
    crop, found = widgets.find_face(skdata.astronaut())
    assert found and crop.shape[0] < 512 and crop.shape[0] > 50
    _, found_none = widgets.find_face(np.full((120, 120, 3), 128, np.uint8))
    assert not found_none
    model = models.build_model("small_cnn", 3, in_channels=1, pretrained=False)
    arr, found, probs = widgets.predict_face(model, skdata.astronaut(), ["a", "b", "c"], 48, 1)
    assert found and arr.shape == (48, 48, 1) and probs.sum() == pytest.approx(1, abs=1e-5)


def test_misclassified_filter():
    ds = ImageDataset(np.zeros((4, 2, 2, 1), np.uint8), np.array([0, 1, 1, 2]), ["a", "b", "c"], "test", "t")
    pred = np.array([0, 2, 1, 0])
    assert list(widgets.misclassified(ds, pred)) == [1, 3]
    assert list(widgets.misclassified(ds, pred, true_class="b")) == [1]
    assert list(widgets.misclassified(ds, pred, pred_class="a")) == [3]


def test_headlines_list_claimless_runs_and_name_a_broken_record(tmp_path):
    from studylib.report import records as results
    rec = results.make_record("01_data_audit", "all", {}, {}, {}, {"small_cnn": "random init"}, 12.3, "cpu", [])
    results.write_record(rec, tmp_path / "01_data_audit.json")
    table = scorecard.headlines(tmp_path)
    assert list(table["run"]) == ["01_data_audit"] and table["weights"][0] == "small_cnn: random init"
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"broken.json.*not valid JSON"):
        scorecard.headlines(tmp_path)
