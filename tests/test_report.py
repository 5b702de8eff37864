"""Verdict rules, the face finder behind "try your own image", and the misclassified filter."""
import numpy as np
import pytest
from skimage import data as skdata

from studylib import models
from studylib.report import display, scorecard, widgets
from studylib.study import claims, verdicts
from studylib.data import ImageDataset


def test_numeric_verdicts():
    assert verdicts.verdict_value(0.7257, 0.73, ci=(0.71, 0.75))[0] == "reproduced"
    assert verdicts.verdict_value(0.8571, 0.62, ci=(0.60, 0.64))[0] == "not reproduced"
    assert verdicts.verdict_value(0.8571, 0.62, profile="demo") == ("not testable here", "DEMO run on generated data")
    v = verdicts.verdict_value(0.9405, 0.5, untestable="random init")
    assert v[0] == "not testable here" and "random init" in v[1]


def test_order_verdicts_say_when_cis_overlap():
    held = verdicts.verdict_order(True, 0.03, overlap=True)
    assert held[0] == "reproduced" and "within test-set noise" in held[1]
    assert verdicts.verdict_order(False, -0.02)[0] == "not reproduced"


def test_claim_rows_round_trip_into_a_table():
    c = claims.CLAIMS["003.cnn.accuracy"]
    rows = [verdicts.claim_row(c, 0.5, 0.4, ("not reproduced", "n"), ci=(0.3, 0.5)),
            verdicts.claim_row(c, "A > B", 0.1, ("reproduced", ""))]
    t = display.claims_table(rows)
    assert list(t["ours 95% CI"]) == ["[0.300, 0.500]", ""]


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
