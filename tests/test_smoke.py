"""The GPU path proven without a GPU: every task of the gpu profile runs at smoke scale through the same
runner, notebooks and reports, on CPU (issue 28); absent pretrained weights become random init, and every
report says so and says SMOKE."""
import json

import pytest

from studylib.study.profile import load_profile
from studylib.study.curves import ladder_sizes
from studylib.study.smoke import SMOKE_CAP, SMOKE_LADDER


def test_the_smoke_profile_is_every_run_once_tiny_on_generated_data_without_gpus():
    full, smoke = load_profile("gpu", data_dir="generated"), load_profile("gpu", smoke=True)
    assert smoke.name == "gpu-smoke" and smoke.data_dir == "generated"
    assert [t.run for t in smoke.tasks] == list(dict.fromkeys(t.run for t in full.tasks))  # every run, once
    for t in smoke.tasks:
        assert t.resources == {"cpus": 1, "gpus": 0} and t.profile == "gpu-smoke" and t.cuts[0].startswith("SMOKE")
        if "train" in t.params:
            assert t.params["train"]["epochs"] == 1 and t.params["train"]["max_steps_per_epoch"] == 2
        assert t.params.get("max_train", 0) <= SMOKE_CAP
        assert all(len(a["lr_grid"]) <= 1 for a in t.params.get("arms", []))
    card = next(t for t in smoke.tasks if t.notebook == "06_scorecard")
    assert card.upstream == [t.name for t in smoke.tasks if t is not card]


def test_the_curves_smoke_shrinks_the_ladder_to_what_the_generated_data_holds():
    """Notebook 08's ladder is counts of the real splits (300 ... 10,000 FER2013 images) and fractions whose
    smallest rung holds fewer images than classes on the generated data: its smoke takes two fractions."""
    full, smoke = load_profile("curves", data_dir="generated"), load_profile("curves", smoke=True)
    assert {t.run for t in smoke.tasks} == {t.run for t in full.tasks}
    for t in smoke.tasks:
        assert t.params["ladder"] == SMOKE_LADDER and t.params["max_val"] <= SMOKE_CAP
    # the generated splits' smallest training split (plants: 72 images of 6 classes) holds both rungs
    assert ladder_sizes(SMOKE_LADDER, 72, 6) == [36, 72]
    with pytest.raises(ValueError, match="smallest rung"):
        ladder_sizes(full.tasks[-1].params["ladder"], 72, 6)


@pytest.mark.slow
def test_every_task_of_the_gpu_profile_runs_at_smoke_scale(gpu_smoke_reports):
    out, code = gpu_smoke_reports
    assert code == 0
    index = json.loads((out / "index.json").read_text())
    assert [r["status"] for r in index["runs"]] == ["ok"] * len(load_profile("gpu", smoke=True).tasks)
    for r in index["runs"]:
        html = (out / r["html"]).read_text()
        assert "SMOKE" in html, r["name"]
    resnet = (out / "05_partial_vs_full-fer2013.html").read_text()
    assert "random init in place of resnet50-0676ba61.pth (SMOKE)" in resnet  # the absent weights, said
    card = json.loads((out / "results" / "06_scorecard.json").read_text())["metrics"]["claims"]
    assert {c["verdict"] for c in card} == {"not testable here"}  # a smoke run judges nothing
