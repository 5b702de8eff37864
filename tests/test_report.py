"""The face finder behind "try your own image", and the misclassified filter."""
import base64
import datetime

import numpy as np
import pytest
from skimage import data as skdata

from studylib import models
from studylib.report import render, scorecard, widgets
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
    rec = results.make_record("01_data_audit", "all", {}, {},
                              results.Provenance({}, {"small_cnn": "random init"}, 12.3, "cpu"), [])
    results.write_record(rec, tmp_path / "01_data_audit.json")
    table = scorecard.headlines(tmp_path)
    assert list(table["run"]) == ["01_data_audit"] and table["weights"][0] == "small_cnn: random init"
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"broken.json.*not valid JSON"):
        scorecard.headlines(tmp_path)


def _browsable():
    rng = np.random.default_rng(0)
    faces = ImageDataset(rng.integers(0, 255, (12, 8, 8, 3), np.uint8), np.arange(12) % 2, ["Ada_Lovelace", "b"],
                         "train", "faces", ids=np.array([f"Ada_Lovelace/Ada_Lovelace_{i:04d}.jpg" for i in range(12)]))
    other = ImageDataset(rng.integers(0, 255, (12, 8, 8, 3), np.uint8), np.arange(12) % 2, ["Ada_Lovelace", "b"],
                         "test", "faces")
    return {"faces train": faces, "faces test": other}


def test_sample_browser_redraws_in_place_when_only_the_dataset_changes():
    box = widgets.sample_browser(_browsable(), n=4)
    ds_pick, cls_pick, _ = box.children[0].children
    assert box.children[-1] is box.image and bytes(box.image.value).startswith(b"\x89PNG")  # one image area
    first = box.image.value
    ds_pick.value = "faces test"  # same class names: the class keeps its value, yet the grid must change
    assert cls_pick.value == "Ada_Lovelace" and box.image.value != first
    second = box.image.value
    cls_pick.value = "b"
    assert box.image.value != second
    bundle = box._repr_mimebundle_()  # a page without a kernel shows the current figure, not an empty widget
    assert base64.b64decode(bundle["image/png"]) == bytes(box.image.value) and render.WIDGET_VIEW in bundle


def test_grid_captions_are_short():
    assert widgets.caption("Ada_Lovelace/Ada_Lovelace_0005.jpg", "Ada_Lovelace") == "0005"
    assert widgets.caption(42, "Angry") == "42"
    long = widgets.caption("Black-grass/0123456789abcdefghij.png", "Black-grass")
    assert len(long) == 16 and long.startswith("0123456") and long.endswith("cdefghij")


def test_try_your_image_draws_the_face_box_and_names_the_prediction():
    import io
    from PIL import Image
    model = models.build_model("small_cnn", 3, in_channels=1, pretrained=False)
    box = widgets.try_your_image(model, ["a", "b", "c"], 48, 1)
    assert "image/png" not in box._repr_mimebundle_()  # nothing to show before an upload
    buf = io.BytesIO()
    Image.fromarray(skdata.astronaut()).save(buf, format="png")
    upload, result = box.children[0].children[0], box.children[1]
    upload.value = ({"name": "me.png", "type": "image/png", "size": len(buf.getvalue()),
                     "content": memoryview(buf.getvalue()), "last_modified": datetime.datetime.now(datetime.timezone.utc)},)
    assert "face found at x=" in result.value and "predicted: <b>" in result.value
    drawn = np.asarray(Image.open(io.BytesIO(bytes(box.image.value))).convert("RGB"))
    assert ((drawn == [0, 255, 0]).all(-1)).sum() > 100  # the green face box is in the figure
    upload.value = ({"name": "x.png", "type": "image/png", "size": 3, "content": memoryview(b"abc"),
                     "last_modified": datetime.datetime.now(datetime.timezone.utc)},)
    assert result.value == "not an image: x.png" and box.image.value == b""  # one line; the old figure goes


def test_a_seed_report_says_its_verdict_is_this_seeds_alone_and_links_the_pooled_one():
    from studylib.report import display
    row = {"claim": "test accuracy 72.57%", "paper_value": 0.7257, "estimate": 0.71, "ci": [0.69, 0.73], "n": 1,
           "verdict": "inconclusive", "this_seed": 3}
    text = display.verdict_sentence([row])
    assert text.startswith("**This seed alone (seed 3).**") and "(06_scorecard.html)" in text
    assert "verdict (seed 3 alone)" in display.claims_table([row]).columns
    assert display.verdict_sentence([{k: v for k, v in row.items() if k != "this_seed"}]).startswith("**Verdict.**")


def test_widgets_offer_only_confusions_that_occur_and_refuse_a_non_image_in_one_line():
    from types import SimpleNamespace
    from studylib.report import widgets
    ds = SimpleNamespace(labels=np.array([0, 0, 1, 1, 2, 2]), classes=["a", "b", "c"],
                         images=np.zeros((6, 8, 8, 1), np.uint8))
    pred = np.array([0, 1, 0, 0, 2, 1])
    assert widgets.misclassified_pairs(ds, pred) == [("b", "a", 2), ("a", "b", 1), ("c", "b", 1)]
    box = widgets.misclassified_browser(ds, pred)
    labels = [label for label, _ in box.children[0].children[0].options]
    assert labels[0] == "all misclassified (4)" and "b → a (2)" in labels and not any("a → a" in x for x in labels)
    assert widgets.read_image("notes.txt", b"plain text") == "not an image: notes.txt"
    empty = widgets.FigureBox([], "x")
    assert empty.image.layout.display == "none"  # no broken-image icon before a figure
