"""`make lab` as cloned: a notebook opened with its `task` left empty runs the demo profile's settings on
the demo data (generated into the cache), JupyterLab starts without the "Jupyter news" popup, notebook 01
reads as steps (an absent dataset is one line, its section skipped), and notebook 07's sweep table (best
configuration first, collapsed points flagged, the paper's configuration marked).

The browser test starts JupyterLab as `make lab` does (the Makefile's command, the committed settings
overrides) on the notebooks folder as committed, and runs 01 and 03 with Run All.
"""
from __future__ import annotations

import ast
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
import yaml

from studylib import paths
from studylib.data import audit, check
from studylib.report import Run
from studylib.report import audit as shown
from studylib.report import sweep
from studylib.study.profile import interactive_task, load_profile
from studylib.study.task import Task

from test_browser import PANEL, _free_port, _run_all

OVERRIDES = paths.ROOT / "jupyter" / "overrides.json"
NOTIFICATION = "@jupyterlab/apputils-extension:notification"


# ---- an empty task: the demo profile's run of the notebook ----------------------------------------------

def test_an_empty_task_is_the_demo_profiles_run_of_the_notebook():
    demo = load_profile("demo", data_dir="generated")
    cnn = next(t for t in demo.tasks if t.notebook == "03_cnn_from_scratch")
    task = interactive_task("03_cnn_from_scratch")
    assert task.params == cnn.params and task.cuts == cnn.cuts and task.profile == "demo"
    assert task.params["train"]["epochs"] == 15  # not the paper's 100
    assert (task.data_dir, task.results_dir) == ("", "")  # the demo data from the cache; no record written
    run = Run.start("03_cnn_from_scratch")
    assert run.p.train["epochs"] == 15 and run.p.train["device"] == "cpu" and run.profile == "demo"
    assert run.task == task and run.results_dir == "" and run.checkpoints() is None
    # a grid: its first point
    point = interactive_task("03_cnn_sweep")
    assert point.params["train"]["lr"] == 0.01 and point.params["max_train"] == 300
    # a task the runner hands over is taken as it is
    given = Run.from_task("03_cnn_from_scratch", Task.from_dict({"name": "t", "notebook": "03_cnn_from_scratch",
                                                                 "params": {"train": {"epochs": 4}}},
                                                                "03_cnn_from_scratch"))
    assert given.p.train["epochs"] == 4 and given.task.cuts == [] and given.task.name == "t"


def test_a_notebook_the_demo_profile_does_not_run_gets_its_defaults(tmp_path, monkeypatch):
    (tmp_path / "demo.yaml").write_text(yaml.safe_dump({"profile": "demo", "data_dir": "generated",
                                                        "runs": [{"name": "audit", "notebook": "01_data_audit"}]}))
    monkeypatch.setattr(paths, "PARAMS", tmp_path)
    task = interactive_task("03_cnn_from_scratch")
    assert task.params == {"seed": 0} and task.cuts == [] and task.profile == "demo"
    assert Run.start("03_cnn_from_scratch").p.train["epochs"] == 100  # the notebook's (the paper's) own
    assert interactive_task("01_data_audit").run == "audit"
    monkeypatch.setattr(paths, "PARAMS", tmp_path / "absent")  # no profile file at all: the defaults
    assert interactive_task("03_cnn_from_scratch").params == {"seed": 0}


# ---- JupyterLab as `make lab` starts it --------------------------------------------------------------

def _makefile_lab_args() -> list[str]:
    """The arguments `make lab` gives `jupyter`, as make itself expands the `lab` rule (`make -n`, the
    `install` prerequisite taken as done), so a variable or a conditional in the recipe is read as make
    reads it, not as text."""
    if not shutil.which("make"):
        pytest.skip("no make on this machine")
    venv = "/nonexistent-venv"
    dry = subprocess.run(["make", "-n", "--no-print-directory", "-o", "install", "-C", str(paths.ROOT), "lab",
                          f"VENV={venv}"], capture_output=True, text=True, check=True).stdout
    line = next(cmd for cmd in dry.splitlines() if f"{venv}/bin/jupyter " in cmd)
    args = shlex.split(line)
    assert args[0] == f"{venv}/bin/jupyter", line
    return args[1:]


def test_make_lab_starts_jupyterlab_on_the_notebooks_with_the_committed_settings(tmp_path):
    # as root (a container, CI) Jupyter refuses to start without --allow-root; as a user it is not given
    as_root = ["--allow-root"] if os.geteuid() == 0 else []
    assert _makefile_lab_args() == ["lab", "notebooks/", *as_root]
    overrides = json.loads(OVERRIDES.read_text())[NOTIFICATION]
    assert overrides == {"fetchNews": "false", "checkForUpdates": False}
    schema = Path(sys.prefix, "share", "jupyter", "lab", "schemas", *NOTIFICATION.split(":")).with_suffix(".json")
    if schema.is_file():  # the keys and values are the installed JupyterLab's
        props = json.loads(schema.read_text())["properties"]
        assert {c["const"] for c in props["fetchNews"]["oneOf"]} >= {overrides["fetchNews"]}
        assert props["checkForUpdates"]["type"] == "boolean"
    # `make install` copies them where JupyterLab reads its application settings (<venv>/share/jupyter/lab/settings)
    from jupyterlab.commands import get_app_dir
    venv = tmp_path / "venv"
    dry = subprocess.run(["make", "-n", "-C", str(paths.ROOT), "install", f"VENV={venv}"], capture_output=True,
                         text=True, check=True).stdout
    assert f"cp jupyter/overrides.json {venv}/share/jupyter/lab/settings/overrides.json" in dry, dry
    assert Path(get_app_dir()) == Path(sys.prefix, "share", "jupyter", "lab")


def _wait_for(url: str, server, log: Path) -> None:
    for _ in range(240):
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            assert server.poll() is None, log.read_text()[-3000:]
            time.sleep(0.5)
    raise AssertionError(f"JupyterLab did not answer: {log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def lab_as_cloned(browser, tmp_path_factory):  # noqa: F811 (the imported fixture)
    """JupyterLab started as `make lab` starts it (its arguments from the Makefile) in a copy of the
    repository's notebooks folder as committed (no parameters injected), with the settings overrides
    `make install` installs (the committed file, in the application settings folder) and the demo data
    generated into an empty cache. Yields (open a notebook in a new page, the server's base URL and token)."""
    root = tmp_path_factory.mktemp("clone")
    shutil.copytree(paths.NOTEBOOKS, root / "notebooks")
    app_settings = root / "app-settings"  # what `make install` writes to <venv>/share/jupyter/lab/settings
    app_settings.mkdir()
    shutil.copy(OVERRIDES, app_settings / "overrides.json")
    user = root / "user-settings" / "@jupyterlab" / "notebook-extension"
    user.mkdir(parents=True)
    # every cell in the DOM (no windowing), so the test sees every prompt and output
    (user / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    port, token = _free_port(), "studylib-lab-test-token"
    env = {**os.environ, "STUDYLIB_CACHE": str(root / "cache"), "JUPYTERLAB_SETTINGS_DIR": str(root / "user-settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(root / "workspaces"), "JUPYTER_RUNTIME_DIR": str(root / "runtime")}
    env.pop("STUDYLIB_DATA_DIR", None)
    log = root / "server.log"
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", *_makefile_lab_args(),
         "--no-browser", "--ip=127.0.0.1", f"--port={port}", f"--IdentityProvider.token={token}",
         f"--LabApp.app_settings_dir={app_settings}"],
        cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=open(log, "w"), start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(f"{base}/api/status?token={token}", server, log)

        def open_notebook(name: str):
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{base}/lab/tree/{name}.ipynb?reset&token={token}")
            page.locator(PANEL).wait_for(timeout=60_000)
            return page
        yield open_notebook, base, token
    finally:
        server.terminate()  # the server shuts its kernels down
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)


def _no_news_popup(page) -> None:
    toasts = page.locator(".Toastify__toast")
    news = toasts.filter(has_text=re.compile("news", re.I))
    assert news.count() == 0, toasts.all_inner_texts()


@pytest.mark.slow
def test_make_lab_as_cloned_runs_01_and_03_with_run_all(lab_as_cloned):
    open_notebook, base, token = lab_as_cloned
    settings = json.loads(urllib.request.urlopen(f"{base}/lab/api/settings/{NOTIFICATION}?token={token}").read())
    assert settings["schema"]["properties"]["fetchNews"]["default"] == "false"  # the committed override applies
    page = open_notebook("01_data_audit")
    _run_all(page, timeout_s=180)
    text = page.locator(PANEL).inner_text()
    assert "DEMO" in text and "is not in the data folder" not in text  # the demo data has every dataset
    _no_news_popup(page)
    page.close()
    page = open_notebook("03_cnn_from_scratch")
    _run_all(page, timeout_s=240)  # the paper's 100 epochs would not finish in time
    # "epoch 15/15" in the progress bar (a widget: its spaces are figure spaces) or in the epoch lines
    totals = {int(m) for m in re.findall(r"epoch\s\d+/(\d+)", page.locator(PANEL).inner_text())}
    demo_epochs = interactive_task("03_cnn_from_scratch").params["train"]["epochs"]
    assert totals == {demo_epochs}, f"epochs trained: {totals}, expected the demo profile's {demo_epochs}"
    _no_news_popup(page)
    page.close()


# ---- notebook 01 as steps -----------------------------------------------------------------------------

def _collect(monkeypatch) -> list:
    seen = []
    monkeypatch.setattr(shown, "display", seen.append)
    return seen


def _markdown_lines(seen) -> list[str]:
    return [m.data for m in seen if type(m).__name__ == "Markdown"]


@pytest.fixture(scope="module")
def partial_data(demo_data, tmp_path_factory) -> Path:
    """Demo data without FER2013 (so FERPlus cannot be read either) and without the LFW faces."""
    out = tmp_path_factory.mktemp("partial") / "data"
    shutil.copytree(demo_data, out)
    shutil.rmtree(out / "fer2013")
    shutil.rmtree(out / "faces")
    return out


def test_an_absent_dataset_is_one_line_and_its_section_is_skipped(partial_data, monkeypatch):
    status = check.check(partial_data)
    datasets = ["fer2013", "ferplus", "deepweeds", "faces", "plants"]
    plan = audit.sections(status, datasets)
    assert plan["deepweeds"] == plan["plants"] == ""
    assert plan["fer2013"].startswith("**FER2013** is not in the data folder: this section is skipped")
    assert "FER2013 is not in the data folder" in plan["ferplus"] and "LFW faces 8x30" in plan["faces"]
    assert all("\n" not in line for line in plan.values())
    fer = audit.load_fer(partial_data, plan)
    assert fer == {}
    seen = _collect(monkeypatch)
    shown.show_fer(fer, plan, 16)
    assert _markdown_lines(seen) == [plan["fer2013"]] and len(seen) == 1
    seen.clear()
    shown.show_findings(fer, audit.blank_rows(fer), audit.duplicates(fer, True))
    assert seen == []  # the section's line is said once, above
    agree = audit.agreement(partial_data, plan)
    shown.show_ferplus(partial_data, agree, plan)
    assert agree is None and _markdown_lines(seen) == [plan["ferplus"]] and len(seen) == 1
    seen.clear()
    folders = audit.image_folders(partial_data, plan, 32, 0)
    shown.show_folders(folders, plan)
    assert list(folders) == ["plants"] and _markdown_lines(seen) == [plan["faces"]]
    assert len(seen) == 3  # the line, then the plants' table and figure
    seen.clear()
    shown.show_deepweeds(partial_data, plan)
    assert len(seen) == 2 and not any(line.startswith("**") for line in _markdown_lines(seen))

    class Checks:  # what `data_checks` needs of a Run
        claims: list = []

        def check(self, claim_id, ours):
            self.claims.append({"claim": claim_id})
    table = shown.data_checks(Checks(), fer, [], agree)
    assert type(table).__name__ == "Markdown" and Checks.claims == []
    metrics = audit.record_metrics(fer, [], {}, agree)
    assert metrics["blank_images"] is None and metrics["ferplus_agreement"] is None
    assert audit.headline(fer, {}, 0, plan) == "audit of deepweeds, plants"
    not_audited = audit.sections(status, ["deepweeds"])
    assert not_audited["fer2013"] == "**FER2013** is not audited in this run (its `datasets` parameter leaves it out)."


def test_the_check_table_shows_each_files_sha256(demo_data, partial_data):
    table = audit.check_table(check.check(partial_data))
    full = check.check(demo_data).set_index("dataset")
    assert table.loc["FER2013", "sha256 (first 16)"] == "—" and table.loc["FER2013", "status"] == "missing"
    assert table.loc["FERPlus votes", "sha256 (first 16)"] == full.loc["FERPlus votes", "sha256"][:16]
    assert re.fullmatch("[0-9a-f]{16}", table.loc["Plant Seedlings", "sha256 (first 16)"])
    assert "…" not in table.to_string()


def test_the_duplicates_finding_is_a_small_table():
    odd = audit.oddities_table([3, 9], {"groups": 2, "images": 5, "cross_split_groups": 1, "label_conflict_groups": 0})
    assert list(odd.columns) == ["finding", "count", "why it matters"]
    assert odd.set_index("finding")["count"].to_dict()["blank images"] == 2
    assert set(audit.oddities_table([], {})["count"][1:]) == {"not searched"}  # find_duplicates off: not zeros


def _code_cells(name: str):
    return [c for c in nbformat.read(paths.NOTEBOOKS / f"{name}.ipynb", as_version=4).cells if c.cell_type == "code"]


@pytest.mark.parametrize("name", ["01_data_audit", "07_sweep"])
def test_cells_read_as_steps(name):
    """No conditional expression used as a statement, no line over 110 characters, a few lines a cell (the
    parameters and import cells every notebook shares aside)."""
    for cell in _code_cells(name)[2:]:
        source = "\n".join(line for line in cell.source.splitlines() if not line.startswith("%"))
        for node in ast.walk(ast.parse(source)):
            assert not (isinstance(node, ast.Expr) and isinstance(node.value, ast.IfExp)), cell.source
        assert all(len(line) <= 110 for line in cell.source.splitlines()), cell.source
        assert len(cell.source.splitlines()) <= 5, cell.source


# ---- notebook 07: the sweep table ----------------------------------------------------------------------

def _record(folder: Path, name: str, lr: float, optimizer: str, val: list[tuple[float, float]], seed: int = 0):
    """A sweep point's record as notebook 03_cnn_sweep writes it (10 classes), its history `val`
    [(val acc, val macro F1)] by epoch, the best accuracy chosen."""
    best = max(range(len(val)), key=lambda i: val[i][0])
    history = [{"epoch": i + 1, "val_acc": a, "val_macro_f1": f} for i, (a, f) in enumerate(val)]
    rec = {"experiment": "cnn", "paper": "003", "device": "cpu", "git_commit": "x", "timestamp": "t",
           "wall_time_s": 1.0, "claims": [], "notebook": "03_cnn_sweep", "task": name, "seed": seed,
           "params": {"num_classes": 10, "dropout": 0.1,
                      "train": {"lr": lr, "optimizer": optimizer, "batch_size": 32, "scheduler": "exponential",
                                "gamma": 0.9, "epochs": 3}},
           "metrics": {"small CNN": {"val": {"val_acc": val[best][0], "val_macro_f1": val[best][1]},
                                     "best_epoch": best + 1, "epochs_run": len(val), "history": history}}}
    (folder / f"{name}.json").write_text(json.dumps(rec))


def _constant(share: float, k: int = 10) -> tuple[float, float]:
    """The validation figures of answering one class (of share `share`) for every image."""
    return share, 2 * share / (1 + share) / k


def test_the_sweep_table_is_sorted_flags_collapse_and_marks_the_papers_configuration(tmp_path):
    _record(tmp_path, "a-seed0", 0.001, "adam", [(0.50, 0.30), (0.61, 0.35)], seed=0)
    _record(tmp_path, "a-seed1", 0.001, "adam", [(0.52, 0.30), (0.53, 0.31)], seed=1)   # mean 0.57
    _record(tmp_path, "paper-seed0", 0.01, "sgd", [(0.55, 0.30), (0.60, 0.32)], seed=0)
    _record(tmp_path, "paper-seed1", 0.01, "sgd", [(0.58, 0.30), (0.59, 0.32)], seed=1)  # mean 0.595
    _record(tmp_path, "stuck", 0.05, "sgd", [_constant(0.373), _constant(0.373)])        # one class answered
    _record(tmp_path, "nearly", 0.05, "adam", [_constant(0.373), (0.376, 0.08)])         # 0.3 point above it
    _record(tmp_path, "weak", 0.001, "sgd", [(0.30, 0.10), (0.40, 0.12)])                # learns, slowly
    df = sweep.table(tmp_path, "03_cnn_sweep")
    assert list(df["mean val acc"]) == sorted(df["mean val acc"], reverse=True)
    assert list(df["task"][:4]) == ["paper-seed0", "paper-seed1", "a-seed0", "a-seed1"]  # by mean, not by point
    assert df["mean val acc"].iloc[2] == pytest.approx(0.57)
    assert df.set_index("task")["collapsed"].to_dict() == {
        "paper-seed0": False, "paper-seed1": False, "a-seed0": False, "a-seed1": False, "weak": False,
        "nearly": True, "stuck": True}
    assert df.attrs["majority_share"] == pytest.approx(0.373)
    assert set(df.loc[df["paper's"], "task"]) == {"paper-seed0", "paper-seed1"}  # lr 0.01, sgd: the notebook's defaults
    assert df.attrs["constants"] == {"scheduler": "exponential", "gamma": 0.9, "batch_size": 32, "epochs": 3,
                                     "dropout": 0.1}
    assert all(type(v) in (int, float, str) for v in df.attrs["constants"].values())  # no np.float64(0.9)
    chosen = sweep.best(df)
    assert (chosen["lr"], chosen["optimizer"], chosen["n"]) == ("0.01", "sgd", 2)
    text = sweep.summary(df, chosen)
    assert "ranks 1 of 5" in text and "2 of 7 points collapsed" in text
    html = sweep.styled(df).as_raw_html()
    assert 'id="sweep"' in html and "s configuration" in html and "collapsed" in html and "np.float64" not in html
    assert "epochs" in sweep.constants(df).as_raw_html()
    metrics = sweep.record_metrics(df, chosen)
    assert sorted(metrics["collapsed"]) == ["nearly", "stuck"] and metrics["paper"]["rank"] == 1
    json.dumps(metrics)  # plain values only
    assert "np." not in sweep.headline(df, chosen) and "PosixPath" not in repr(metrics)


def test_a_sweep_without_a_constant_epoch_flags_nothing(tmp_path):
    _record(tmp_path, "x", 0.001, "adam", [(0.30, 0.10), (0.35, 0.12)])
    _record(tmp_path, "y", 0.01, "adam", [(0.31, 0.11), (0.33, 0.12)])
    df = sweep.table(tmp_path, "03_cnn_sweep")
    assert df.attrs["majority_share"] is None and not df["collapsed"].any()
    assert not df["paper's"].any()  # adam is not the paper's optimizer
    assert "ranks" not in sweep.summary(df, sweep.best(df))


def test_an_interactive_sweep_table_without_records_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "REPORTS", tmp_path)
    df = sweep.read("", "03_cnn_sweep")
    assert df.empty and "make study" in df.attrs["missing"]
    assert sweep.constants(df).data == df.attrs["missing"]
    assert sweep.styled(df) is None and sweep.plot(df) is None and sweep.best(df) == {}
    with pytest.raises(ValueError, match="no records of notebook 03_cnn_sweep"):
        sweep.read(tmp_path, "03_cnn_sweep")  # a task's own results folder must hold its points
