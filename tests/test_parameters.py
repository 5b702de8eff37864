"""The notebooks' named papermill parameters resolve into the same typed Task as the runner's (one path)."""
import subprocess
import sys

import pytest

from studylib import paths
from studylib.runner.execute import _spec
from studylib.study.parameters import NAMES, as_parameters, profile_ref, task_from_parameters
from studylib.study.profile import ParamsError, interactive_task, load_profile


def test_every_parameter_at_its_default_is_the_demo_profiles_run_of_the_notebook():
    assert task_from_parameters("05_partial_vs_full") == interactive_task("05_partial_vs_full")
    task = task_from_parameters("05_partial_vs_full")
    assert task.run == "05_partial_vs_full-fer2013" and task.results_dir == "" and task.data_dir == ""


def test_a_run_a_seed_and_a_grid_point_pick_the_profiles_task():
    demo = load_profile("demo", data_dir="generated")
    plants = task_from_parameters("05_partial_vs_full", run="05_partial_vs_full-plants")
    assert plants.params == next(t for t in demo.tasks if t.run == "05_partial_vs_full-plants").params
    point = task_from_parameters("03_cnn_sweep", grid={"lr": 0.05})
    assert point.params["train"]["lr"] == 0.05 and point.name == "03_cnn_sweep--lr=0.05"
    assert task_from_parameters("03_cnn_sweep").params["train"]["lr"] == 0.01  # empty: the first point


def test_a_seed_the_profile_does_not_list_is_the_run_at_that_seed_under_its_own_name(tmp_path):
    task = task_from_parameters("05_partial_vs_full", seed=7, out_dir=str(tmp_path))  # the demo data lands there
    assert task.seed == 7 and task.params["seed"] == 7 and task.name == "05_partial_vs_full-fer2013--seed7"
    listed = task_from_parameters("03_cnn_from_scratch", profile="cpu", seed=3, data_dir=str(paths.ROOT))
    assert listed.name == "03_cnn_from_scratch--seed3"  # cpu lists seeds 0-4: the profile's own task


def test_overrides_are_checked_as_a_profiles_params_and_merged_at_every_depth():
    task = task_from_parameters("05_partial_vs_full", overrides={"train": {"lr": 0.002}})
    assert task.params["train"]["lr"] == 0.002 and task.params["train"]["epochs"] == 2  # the run's kept
    typed = task_from_parameters("05_partial_vs_full", overrides='{"train": {"lr": 0.002}}')  # papermill -p: a string
    assert typed == task and task_from_parameters("03_cnn_sweep", grid="{lr: 0.05}").grid == {"lr": 0.05}
    with pytest.raises(ParamsError, match=r"parameter 'overrides'.*unknown key 'train.lrr'"):
        task_from_parameters("05_partial_vs_full", overrides={"train": {"lrr": 0.1}})
    with pytest.raises(ParamsError, match=r"key 'train.epochs' must be int"):
        task_from_parameters("05_partial_vs_full", overrides={"train": {"epochs": "ten"}})
    with pytest.raises(ParamsError, match="pass it as the 'seed' parameter"):
        task_from_parameters("05_partial_vs_full", overrides={"seed": 3})


@pytest.mark.parametrize("kwargs,message", [
    ({"run": "05_nope"}, "parameter 'run' is '05_nope', not a run of notebook 05_partial_vs_full; valid: "
                         "05_partial_vs_full-fer2013, 05_partial_vs_full-fer2013-mlp"),
    ({"run": "03_cnn_from_scratch"}, "(run 03_cnn_from_scratch is of notebook 03_cnn_from_scratch)"),
    ({"grid": {"lr": 0.01}}, "grid key 'lr' is not in run 05_partial_vs_full-fer2013's grid"),
    ({"seed": "1"}, "parameter 'seed' must be an integer, got str '1'"),
    ({"seed": True}, "parameter 'seed' must be an integer"),
    ({"overrides": "lr=0.1"}, "parameter 'overrides' must be a mapping"),
    ({"overrides": "{train: [}"}, "parameter 'overrides': '{train: [}' is not a mapping in YAML or JSON"),
    ({"profile": "nope"}, "profile 'nope': "),
])
def test_a_bad_parameter_is_one_error_naming_it_and_the_valid_choices(kwargs, message):
    with pytest.raises(ParamsError) as caught:
        task_from_parameters("05_partial_vs_full", **kwargs)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_grid_value_not_in_the_grid_lists_the_points():
    with pytest.raises(ParamsError, match=r"grid point \{'lr': 0.3\} is not one of run 03_cnn_sweep's; valid: "
                                          r"\{'lr': 0.01\}, \{'lr': 0.05\}"):
        task_from_parameters("03_cnn_sweep", grid={"lr": 0.3})


@pytest.mark.parametrize("profile,smoke", [("demo", False), ("cpu", False), ("curves", False), ("sweep-003", False),
                                           ("gpu", True)])
def test_the_runners_parameters_resolve_to_the_runners_task(profile, smoke, tmp_path, monkeypatch):
    """What `studylib run` hands papermill for each task resolves, in the notebook (whose kernel works in the
    reports folder), to that very task: one code path. Fails if the runner and the notebook disagree on any
    field (cuts, siblings, params, name, paths)."""
    (tmp_path / "data").mkdir()
    prof = load_profile(profile, data_dir=None if smoke else tmp_path / "data", smoke=smoke)
    out = tmp_path / "out"
    out.mkdir()
    if prof.data_dir == "generated":
        from studylib.data import synthetic
        synthetic.make_demo_data(out / "data", seed=0)
    data = out / "data" if prof.data_dir == "generated" else tmp_path / "data"
    monkeypatch.chdir(out)  # where the kernel works
    for task in prof.tasks:
        spec = _spec(task, data, out, profile_ref(prof))
        assert list(spec["parameters"]) == list(NAMES) and spec["parameters"]["out_dir"] == "."
        assert task_from_parameters(task.notebook, **spec["parameters"]) == spec["task"], task.name


def test_papermill_lists_the_named_parameters_with_their_comments():
    shown = subprocess.run([sys.executable, "-m", "papermill", "--help-notebook",
                            str(paths.NOTEBOOKS / "05_partial_vs_full.ipynb")], capture_output=True, text=True,
                           check=True).stdout
    for name in NAMES:
        assert f"  {name}: " in shown, shown
    assert "a run of that profile" in shown and '{"train": {"lr": 0.001}}' in shown


def test_as_parameters_names_every_parameter_of_the_cell():
    task = load_profile("demo", data_dir="generated").tasks[3]
    assert list(as_parameters(task, "demo", "data", ".")) == list(NAMES)
