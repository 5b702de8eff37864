"""The curves render's answer pictures and sentences (`report.curves_answer`), on simulated summary records
with known differences, and on the committed curves render."""
import base64
import io
import json
import re

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from studylib import paths  # noqa: E402
from studylib.report import curves_answer as ca  # noqa: E402

PARTIAL, PRETRAIN = "last block − everything", "everything − everything, random init"


def _row(dataset, difference, n, low, high, metric="macro F1"):
    return {"dataset": dataset, "difference": difference, "training images": n, "metric": metric,
            "estimate": (low + high) / 2, "low": low, "high": high, "seeds": 3, "wins": "3/3", "order": "?"}


def _record(dataset, partial, pretraining):
    """A summary record in the curves task's shape: each table a list of `difference_table`s, accuracy rows
    beside macro F1's (with the opposite sign, so that reading the wrong metric fails the tests)."""
    def tables(diff, spans):
        f1 = [_row(dataset, diff, n, lo, hi) for n, (lo, hi) in spans.items()]
        acc = [_row(dataset, diff, n, -hi, -lo, "accuracy") for n, (lo, hi) in spans.items()]
        return [acc + f1]
    return {"notebook": "08_curves", "run_name": dataset, "metrics": {
        "points": {}, "partial_vs_full": tables(PARTIAL, partial), "pretraining": tables(PRETRAIN, pretraining)}}


@pytest.fixture()
def results(tmp_path):
    """Two datasets: A's gain from pretraining excludes zero at 100 images and straddles it at 1,000; its
    last block scores below everything at 100 and straddles zero at 1,000. B straddles zero everywhere."""
    folder = tmp_path / "results"
    folder.mkdir()
    a = _record("Alpha (48 px)", {100: (-0.12, -0.03), 1000: (-0.04, 0.02)}, {100: (0.08, 0.15), 1000: (-0.02, 0.12)})
    b = _record("Beta (96 px)", {80: (-0.05, 0.05), 800: (-0.03, 0.06)}, {80: (-0.01, 0.3), 800: (-0.2, 0.1)})
    (folder / "08_curves-alpha.json").write_text(json.dumps(a))
    (folder / "08_curves-beta.json").write_text(json.dumps(b))
    # a seed's record of one scope: never read (not JSON here, so reading it would fail)
    (folder / "08_curves-alpha-points--scope=probe--seed0.json").write_text("not a record")
    (tmp_path / "08_curves-alpha.html").write_text("<html></html>")  # only Alpha's summary page exists
    return folder


def _text(section: str) -> str:
    return re.sub(r"<[^>]+>", " ", section).replace("&#x27;", "'")


def test_sentences_say_the_order_only_where_the_interval_excludes_zero(results):
    said = dict(ca.answer_sentences(results))
    partial, gain = (said[t] for t, *_ in ca.ANSWERS)
    alpha = gain["Alpha (48 px)"]
    assert alpha.startswith("Pretraining raises macro F1 at 100 images (+0.115 [+0.080, +0.150])")
    assert "at 1,000 images (+0.050 [−0.020, +0.120]) the difference cannot be told from zero with 3 seeds" in alpha
    assert "lowers" not in alpha and "every size" not in alpha
    alpha = partial["Alpha (48 px)"]
    assert alpha.startswith("Training only the last block scores below training everything at 100 images (−0.075")
    assert "scores above" not in alpha and "1,000 images (−0.010 [−0.040, +0.020]) the difference cannot" in alpha
    beta = gain["Beta (96 px)"]
    assert beta.startswith("Pretrained minus random init cannot be told from zero at any size measured with 3 seeds")
    assert "raises" not in beta and "lowers" not in beta
    for per in (partial, gain):
        for s in per.values():
            assert not re.search(r"stops paying|no benefit|pays at no|no gain", s)


def test_sentence_of_rows_in_either_direction():
    rows = [{"training images": 10, "estimate": 0.2, "low": 0.1, "high": 0.3, "seeds": 3},
            {"training images": 20, "estimate": -0.2, "low": -0.3, "high": -0.1, "seeds": 3}]
    s = ca.difference_sentence(rows, "A wins", "A loses", "A minus B")
    assert s == "A wins at 10 images (+0.200 [+0.100, +0.300]); A loses at 20 images (−0.200 [−0.300, −0.100])"
    assert ca.difference_sentence(rows[:1], "A wins", "A loses", "A minus B").startswith("A wins at every size")


def test_section_has_two_pictures_of_two_panels_and_links_what_exists(results, monkeypatch):
    drawn = []
    real = ca.figure_png

    def spy(fig, dpi=None):
        drawn.append([ax.get_title() for ax in fig.axes])
        return real(fig, dpi)
    monkeypatch.setattr(ca, "figure_png", spy)
    section = ca.answer_section(results)
    assert drawn == [["Alpha (48 px)", "Beta (96 px)"]] * 2  # one small panel per dataset, in each picture
    assert section.startswith("<section id='answer'") and section.count("<img ") == 2
    assert all("95% interval as an error bar" in alt for alt in re.findall(r"alt='([^']*)'", section))
    assert "href='08_curves-alpha.html'" in section and "08_curves-beta.html" not in section
    for uri in re.findall(r"src='data:image/\w+;base64,([^']*)'", section):
        width, _ = Image.open(io.BytesIO(base64.b64decode(uri))).size
        assert 1000 <= width <= 1300  # shown 1:1 on the index's 1,300 px page, so its fonts keep their size
    assert "href='x.html'" in ca.answer_section(results, page_links={"X": "x.html"})


def test_nothing_without_summary_records(tmp_path):
    assert ca.answer_section(tmp_path / "absent") == "" and ca.answer_figures(tmp_path / "absent") == []
    (tmp_path / "08_curves-alpha-points--scope=probe--seed0.json").write_text("{}")
    assert ca.answer_section(tmp_path) == "" and ca.answer_sentences(tmp_path) == []


def test_committed_curves_render():
    folder = paths.REPORTS / "curves" / "results"
    if not (folder / "08_curves-fer2013.json").is_file() or not (folder / "08_curves-plants.json").is_file():
        pytest.skip("the curves render's summary records are not committed here")
    section = ca.answer_section(folder)
    text = _text(section)
    assert "FER2013 (48 px)" in text and "Plant Seedlings (96 px)" in text
    assert section.count("<img ") == 2 and "id='answer'" in section
