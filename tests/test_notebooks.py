"""Notebooks, profiles and the runner: every notebook executes under papermill in the demo profile."""
import json
import re

import nbformat
import pytest

from studylib import paths, runner
from studylib.cli import main
from studylib.report.records import load_records
from studylib.study import experiments
from studylib.study import profile as params

NOTEBOOKS = sorted(paths.NOTEBOOKS.glob("*.ipynb"))
# the named parameters every notebook declares (papermill --help-notebook lists them), the runner passes them too
RUNNER_KEYS = ["profile", "run", "seed", "grid", "data_dir", "out_dir", "overrides"]


def test_notebooks_are_committed_without_outputs():
    assert {p.stem for p in NOTEBOOKS} == set(experiments.EXPERIMENTS)  # each with its parameters class
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, f"{path.name} has outputs"


def _code_cells(path):
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def test_every_notebook_has_the_same_parameters_and_import_cells_and_a_params_class():
    first = _code_cells(NOTEBOOKS[0])
    for path in NOTEBOOKS:
        cells = _code_cells(path)
        assert "parameters" in cells[0].metadata.get("tags", []), path.name
        names = [line.split("=")[0].strip() for line in cells[0].source.splitlines()
                 if line.strip() and not line.strip().startswith("#")]
        assert names == RUNNER_KEYS, path.name
        assert cells[0].source == first[0].source and cells[1].source == first[1].source, path.name
        assert path.stem in experiments.EXPERIMENTS, path.name


def test_notebook_cells_are_short_calls_without_defs_lambdas_or_loops():
    for path in NOTEBOOKS:
        for cell in _code_cells(path):
            lines = cell.source.splitlines()
            assert len(lines) <= 10, f"{path.name}: a cell of {len(lines)} lines"
            for bad in ("lambda", ":=", "\ndef ", "\nclass ", "\nfor ", "__import__"):
                assert bad not in "\n" + cell.source, f"{path.name}: {bad!r} in a cell"


@pytest.mark.parametrize("profile", ["demo", "cpu", "gpu"])
def test_profiles_validate_against_the_notebooks(profile, tmp_path):
    prof = params.load_profile(profile, data_dir=tmp_path)  # every key and type checked
    assert prof.tasks and {r.notebook for r in prof.tasks} <= {p.stem for p in NOTEBOOKS}


def _write_profile(tmp_path, run_params):
    (tmp_path / "bad.yaml").write_text(json.dumps({
        "profile": "bad", "data_dir": str(tmp_path),
        "runs": [{"name": "ok-run", "notebook": "01_data_audit"},
                 {"name": "cnn", "notebook": "03_cnn_from_scratch", "params": run_params}]}))
    return str(tmp_path / "bad.yaml")


@pytest.mark.parametrize("run_params,message", [
    ({"epochz": 3}, "run cnn: unknown key 'epochz'; valid: seed, label_mode"),
    ({"train": {"epochs": "ten"}}, "run cnn: key 'train.epochs' must be int, got str 'ten'"),
    ({"train": {"epochz": 3}}, "run cnn: unknown key 'train.epochz'; valid:"),
    ({"train": {"seed": 3}}, "run cnn: key 'train.seed' is set at the top level"),
    ({"train": {"optimizer": "sgdd"}}, "run cnn: key 'train': TrainConfig.optimizer='sgdd'; valid: sgd, adam"),
    ({"arms": [{"name": "x", "scope": "all", "trian": {}}]}, "run cnn: unknown key 'arms[0].trian'"),
    ({"data_dir": "x"}, "run cnn: unknown key 'data_dir'"),
])
def test_broken_profile_is_one_error_before_any_notebook_runs(tmp_path, capsys, run_params, message):
    out = tmp_path / "reports"
    assert main(["run", "--profile", _write_profile(tmp_path, run_params), "--out-dir", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and "\n" not in err
    assert "bad.yaml" in err  # the file is named
    assert not out.exists(), "nothing may run before the profile is valid"


def test_missing_data_dir_is_a_profile_error(tmp_path):
    with pytest.raises(params.ParamsError, match="profile demo: data_dir '/nonexistent' does not exist"):
        params.load_profile("demo", data_dir="/nonexistent")


def test_papermill_injects_the_parameters(tmp_path):
    import papermill as pm
    out = tmp_path / "prepared.ipynb"
    params_ = {"profile": "cpu", "seed": 3, "overrides": {"train": {"epochs": 3}}}
    pm.execute_notebook(str(paths.NOTEBOOKS / "03_cnn_from_scratch.ipynb"), str(out),
                        parameters=params_, prepare_only=True, kernel_name="python3")
    nb = nbformat.read(out, as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and 'overrides = {"train": {"epochs": 3}}' in injected[0].source
    assert 'seed = 3' in injected[0].source and 'profile = "cpu"' in injected[0].source
    assert nb.metadata.papermill.parameters == params_


@pytest.mark.slow
def test_demo_profile_runs_every_notebook(demo_reports):
    out, code = demo_reports
    index = json.loads((out / "index.json").read_text())
    failed = [(r["name"], r["error"]) for r in index["runs"] if r["status"] != "ok"]
    assert code == 0 and not failed, failed
    prof = params.load_profile("demo", data_dir=out)
    assert {r["name"] for r in index["runs"]} == {r.name for r in prof.tasks}
    for run in prof.tasks:
        nb = nbformat.read(out / f"{run.name}.ipynb", as_version=4)
        assert not any(o.get("output_type") == "error" for c in nb.cells for o in c.get("outputs", []))
        given = nb.metadata.papermill.parameters  # the named parameters that resolve to the task
        assert (given["profile"], given["run"], given["seed"], given["grid"]) == ("demo", run.run, run.seed, run.grid)
        assert given["out_dir"] == "." and given["overrides"] == {}
        html = (out / f"{run.name}.html").read_text()
        assert "DEMO" in html and "Traceback" not in html
        for absolute in (str(out), str(paths.ROOT)):  # reports show paths relative to the data or report folder
            assert absolute not in html, f"{run.name}.html shows {absolute}"
        if run.notebook != "01_data_audit" and not run.upstream:  # the audit and record readers load no weights
            assert "sha256" in html
    assert "<table>" in (out / "index.html").read_text()


@pytest.mark.slow
def test_demo_run_records(demo_reports):
    out, _ = demo_reports
    records = {p.stem: json.loads(p.read_text()) for p in (out / "results").glob("*.json")}
    assert set(records) == {r.name for r in params.load_profile("demo", data_dir=out).tasks}
    for name, rec in records.items():
        assert rec["headline"] and rec["git_commit"] and rec["wall_time_s"] > 0, name
        assert rec["versions"]["torch"].startswith("2.14")
        # every data file a record lists is pinned by its content (the audit's used to list none)
        assert all(re.fullmatch("[0-9a-f]{64}", h) for h in rec["data_sources"].values()), (name, rec["data_sources"])
    assert any(k.startswith("fer2013/fer2013.csv") for k in records["01_data_audit"]["data_sources"])
    assert records["03_cnn_from_scratch"]["weights"] == {"small_cnn": "random init"}
    assert records["02_features_svm_vs_finetune"]["weights"]["efficientnet_lite0"]["sha256"].startswith("579344")
    card = load_records(out / "results")
    assert len(card) >= 8 and set(card["verdict"]) == {"not testable here"}  # demo data tests no claim
    # generated expressions are learnable: the small CNN must learn them even in the demo's few epochs
    assert records["03_cnn_from_scratch"]["metrics"]["cnn"]["test"]["accuracy"] > 0.5  # keyed by arm id
    assert records["02_features_svm_vs_finetune"]["arms"] == {"finetune": "fine-tuned", "svm": "features + SVM"}
    assert set(records["02_features_svm_vs_finetune"]["predictions"]["protocols"]["best"]) == {"finetune", "svm"}


@pytest.mark.slow
def test_a_failing_run_is_rendered_marked_and_the_rest_go_on(tmp_path, demo_data):
    (tmp_path / "p.yaml").write_text(json.dumps({
        "profile": "p", "data_dir": str(demo_data),
        "runs": [{"name": "broken", "notebook": "05_partial_vs_full", "params": {"backbone": "resnet50", "weights_dir": str(tmp_path)}},
                 {"name": "card", "notebook": "06_scorecard"}]}))
    out = tmp_path / "out"
    assert runner.run_profile(str(tmp_path / "p.yaml"), out_dir=out) == 1
    index = {r["name"]: r for r in json.loads((out / "index.json").read_text())["runs"]}
    assert index["broken"]["status"] == "failed" and "WeightsError" in index["broken"]["error"]
    assert index["card"]["status"] == "ok"
    html = (out / "broken.html").read_text()
    assert "resnet50" in html and "WeightsError" in html  # the error is visible in the report
    assert not (out / "results" / "broken.json").exists()


@pytest.mark.slow
def test_run_all_twice_in_one_kernel_gives_the_same_record(tmp_path, demo_data, strip_times):
    """Run seeds everything at the header cell: a second Run All in the same JupyterLab kernel (whose
    RNGs the first one advanced) must give the same numbers."""
    from nbclient import NotebookClient
    nb = nbformat.read(paths.NOTEBOOKS / "03_cnn_from_scratch.ipynb", as_version=4)
    overrides = {"train": {"epochs": 2, "device": "cpu"}, "max_train": 200}
    # as papermill injects them: after the parameters cell, before the cell that resolves them
    nb.cells.insert(2, nbformat.v4.new_code_cell(f"data_dir = {str(demo_data)!r}\nout_dir = {str(tmp_path)!r}\n"
                                                 f"overrides = {overrides!r}"))
    client = NotebookClient(nb, kernel_name="python3", resources={"metadata": {"path": str(paths.NOTEBOOKS)}})
    metrics = []
    with client.setup_kernel():
        for _ in range(2):
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)
            record = tmp_path / "results" / "03_cnn_from_scratch.json"
            metrics.append(strip_times(json.loads(record.read_text())["metrics"]))
            record.unlink()  # the second Run All must write it again
    assert metrics[0]["cnn"]["history"] and metrics[0] == metrics[1]   # records key arms by id (papers/003.yaml)


@pytest.mark.slow
def test_a_profile_with_two_seeds_renders_a_scorecard_with_n_2(two_seeds):
    _, out, code = two_seeds  # conftest: seeds 0 and 1 of a small CNN, then the scorecard
    assert code == 0
    assert {p.stem for p in (out / "results").glob("*.json")} == {"cnn--seed0", "cnn--seed1", "card"}
    card = json.loads((out / "results" / "card.json").read_text())["metrics"]["claims"]
    tested = [c for c in card if c["id"].startswith("003.cnn")]
    assert tested and all(c["n"] == 2 and len(c["seeds"]) == 2 for c in tested)
    assert "003.cnn.accuracy" in (out / "card.html").read_text()
    index = (out / "index.html").read_text()  # the landing page: one row per claim, its verdict and n
    verdict = next(c["verdict"] for c in card if c["id"] == "003.cnn.accuracy")
    row = index[index.index("<code class='claim-id'>003.cnn.accuracy</code>"):]
    row = row[:row.index("</tr>")]
    assert f"data-verdict='{verdict}'" in row and "n=2" in row
