"""The Ray runner: grids expand to the documented task names; tasks run concurrently; a profile resumes
where it stopped and skips what is done; a task whose worker is killed is reported failed and rerun."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from studylib import runner
from studylib.study.profile import ParamsError, load_profile
from studylib.runner.engine import cpu_share

def _profile(tmp_path, content: dict, name="p.yaml") -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(content, sort_keys=False))
    return str(path)


def test_a_grid_expands_to_the_documented_task_names(tmp_path):
    p = _profile(tmp_path, {"profile": "g", "data_dir": str(tmp_path), "seeds": [0, 1], "runs": [
        {"name": "sweep", "notebook": "03_cnn_from_scratch",
         "grid": {"lr": [0.1, 0.01], "optimizer": ["sgd", "adam"], "dropout": [0.5]}}]})
    runs = load_profile(p).tasks
    assert [r.name for r in runs][:3] == ["sweep--lr=0.1--optimizer=sgd--dropout=0.5--seed0",
                                          "sweep--lr=0.1--optimizer=sgd--dropout=0.5--seed1",
                                          "sweep--lr=0.1--optimizer=adam--dropout=0.5--seed0"]
    assert len(runs) == 2 * 2 * 1 * 2 and len({r.name for r in runs}) == 8
    last = runs[-1]
    # lr and optimizer are train settings, dropout a parameter of the notebook
    assert last.params["train"]["lr"] == 0.01 and last.params["train"]["optimizer"] == "adam"
    assert last.params["dropout"] == 0.5 and last.seed == 1
    assert last.grid == {"lr": 0.01, "optimizer": "adam", "dropout": 0.5} and last.run == "sweep"


@pytest.mark.parametrize("grid, message", [
    ({"lr": []}, "non-empty lists"),
    ({"nonsense": [1]}, "grid point nonsense=1: unknown key 'train.nonsense'"),
    ({"lr": ["fast"]}, "grid point lr=fast.*train.lr"),
    ({"lr": [0.1, 0.1]}, "lists a value twice"),
])
def test_a_bad_grid_is_one_error_naming_the_key(tmp_path, grid, message):
    p = _profile(tmp_path, {"profile": "g", "data_dir": str(tmp_path),
                            "runs": [{"name": "s", "notebook": "03_cnn_from_scratch", "grid": grid}]})
    with pytest.raises(ParamsError, match=message):
        load_profile(p)


def test_resources_are_checked_and_tasks_get_their_share_of_the_cpus(tmp_path):
    p = _profile(tmp_path, {"profile": "r", "data_dir": str(tmp_path), "resources": {"cpus": 2},
                            "runs": [{"name": "a", "notebook": "01_data_audit"},
                                     {"name": "b", "notebook": "06_scorecard", "resources": {"gpus": 1}}]})
    a, b = load_profile(p).tasks
    assert a.resources == {"cpus": 2, "gpus": 0} and b.resources == {"cpus": 2, "gpus": 1}
    assert a.upstream == [] and b.upstream == ["a"]  # the scorecard declares the records it reads: it runs after
    from studylib.runner.execute import _stages
    assert [[t.name for t in stage] for stage in _stages([b, a])] == [["a"], ["b"]]
    with pytest.raises(ParamsError, match="resources"):
        load_profile(_profile(tmp_path, {"profile": "r", "data_dir": str(tmp_path), "resources": {"cpu": 1},
                                         "runs": [{"name": "a", "notebook": "01_data_audit"}]}))
    cluster = {"cpus": 2, "gpus": 0, "node_cpus": 2}
    assert cpu_share(1, workers=2, resources=cluster) == 1  # two tasks on two cores: one thread each
    assert cpu_share(1, workers=1, resources=cluster) == 2  # alone: both cores
    assert cpu_share(1, workers=1, resources={"cpus": 64, "gpus": 0, "node_cpus": 16}) == 16  # one node at most


def _index(out: Path) -> dict:
    return {r["name"]: r for r in json.loads((out / "index.json").read_text())["runs"]}


def _files(out: Path) -> dict:
    return {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in sorted((out / "results").iterdir())}


@pytest.mark.slow
def test_a_sweep_table_reads_its_points_and_the_scorecard_reads_every_task(tmp_path):
    """What a task declares upstream is its input: the sweep's table must not rerun when a record it never
    reads changes (03's), the scorecard must."""
    prof = load_profile(_profile(tmp_path, {"profile": "r", "data_dir": str(tmp_path), "seeds": [0], "runs": [
        {"name": "cnn", "notebook": "03_cnn_from_scratch"}, {"name": "pt", "notebook": "03_cnn_sweep",
                                                              "grid": {"lr": [0.1, 0.01]}},
        {"name": "card", "notebook": "06_scorecard"}, {"name": "table", "notebook": "07_sweep"}]}))
    reads = {r.name: r.upstream for r in prof.tasks}
    assert reads["table"] == ["pt--lr=0.1", "pt--lr=0.01"]
    assert reads["card"] == ["cnn", "pt--lr=0.1", "pt--lr=0.01"] and reads["cnn"] == []


def test_the_index_of_a_render_in_progress_lists_what_has_not_run(tmp_path):
    from studylib.report.index import write_index
    prof = load_profile(_profile(tmp_path, {"profile": "r", "data_dir": str(tmp_path), "seeds": [0, 1],
                                            "runs": [{"name": "cnn", "notebook": "03_cnn_from_scratch"}]}))
    entry = {"name": "cnn--seed0", "run": "cnn", "status": "ok", "headline": "70%", "error": "", "wall_s": 60.0,
             "node": "vm", "html": "cnn--seed0.html", "log": "logs/cnn--seed0.log"}
    page = write_index(tmp_path, prof, [entry], pending=["cnn--seed1"]).read_text()
    assert "2 tasks,\n1 ok, 1 not run yet" in page and "<td>cnn--seed1</td><td>not run yet</td>" in page
    assert json.loads((tmp_path / "index.json").read_text())["not_run_yet"] == ["cnn--seed1"]


def test_seed_zero_of_every_run_starts_first_then_the_longest():
    """A run's learning-rate search is trained at seed 0: its other seeds must not start beside it (they
    would wait on the search's lock); among the rest the longest (or never timed) task goes first."""
    from studylib.runner.execute import _longest_first
    from studylib.study.task import Task
    specs = [{"name": n, "task": Task(n, "nb", seed=s), "last_wall_s": w} for n, s, w in [
        ("a--seed1", 1, None), ("a--seed0", 0, 50.0), ("b--seed2", 2, 900.0), ("card", None, 1.0),
        ("b--seed0", 0, None), ("c--seed3", 3, 20.0)]]
    assert [s["name"] for s in _longest_first(specs)] == [
        "b--seed0", "a--seed0", "card", "a--seed1", "b--seed2", "c--seed3"]


def test_two_workers_run_two_tasks_at_once(two_seeds):  # conftest's: run once, read by test_notebooks too
    _, out, code = two_seeds
    index = _index(out)
    assert code == 0 and set(index) == {"cnn--seed0", "cnn--seed1", "card"}
    assert index["card"]["start"] >= max(index["cnn--seed0"]["end"], index["cnn--seed1"]["end"])  # reads them
    a, b = index["cnn--seed0"], index["cnn--seed1"]
    assert a["start"] < b["end"] and b["start"] < a["end"], "the two tasks did not overlap"
    for e in (a, b):
        assert e["status"] == "ok" and e["node"] and (out / e["html"]).is_file()
        log = (out / e["log"]).read_text()
        assert "threads 1" in log and "ok in" in log  # each task has its share: one of the two cores
        assert "without encryption" not in log  # local kernels over IPC, not plaintext TCP
    assert not list(out.glob(".*.part")) and not list((out / "tasks").glob("*.running"))


@pytest.mark.slow
def test_resume_runs_nothing_twice_and_only_what_is_missing(two_seeds, capsys, strip_times):
    p, out, _ = two_seeds
    before = _files(out)
    capsys.readouterr()
    assert runner.run_profile(p, out_dir=out, workers=2) == 0
    said = capsys.readouterr().out
    assert "skip cnn--seed0: unchanged, ok" in said and "skip cnn--seed1" in said and "skip card" in said
    assert "run  " not in said
    assert _files(out) == before  # every record untouched (bytes and modification time)

    (out / "results" / "cnn--seed1.json").unlink()
    assert runner.run_profile(p, out_dir=out, workers=2) == 0
    said = capsys.readouterr().out
    assert "run  cnn--seed1: its record is missing" in said and "skip cnn--seed0" in said
    assert "run  card: changed: records" in said  # the scorecard reads the record that was written again
    after = _files(out)
    assert after["cnn--seed0.json"] == before["cnn--seed0.json"]
    assert "cnn--seed1.json" in after
    # Seed 1 ran beside seed 0 the first time and alone now (one thread both times): the same record but
    # for its clock readings, so seeds run in parallel are exactly the seeds run one at a time.
    rerun = strip_times(json.loads(after["cnn--seed1.json"][1])["metrics"])
    first = strip_times(json.loads(before["cnn--seed1.json"][1])["metrics"])
    assert rerun == first and next(iter(first.values()))["history"]


def test_the_same_data_copied_afresh_reruns_nothing_and_a_changed_byte_reruns(tmp_path):
    """A new checkout or another machine gives the data new mtimes: compared by content, nothing reruns
    (the cpu render, resumed over several sittings, reran its finished tasks when only mtimes changed).
    A changed byte, or a file added to a folder, does rerun; so does a file whose record had no digest."""
    import shutil
    from studylib.runner import resume
    data, out = tmp_path / "data", tmp_path / "out"
    (data / "faces" / "p1").mkdir(parents=True)
    (data / "faces" / "p1" / "a.jpg").write_bytes(b"face-a")
    (data / "faces" / "b.jpg").write_bytes(b"face-b")
    (data / "labels.csv").write_text("x,y\n1,2\n")
    (out / "results").mkdir(parents=True)
    (out / "results" / "t.json").write_text(json.dumps({"data_sources": {"faces": "split-files-only",
                                                                         "labels.csv": ""}}))
    inputs = {"code": "c"}
    resume.save_state(out, {"name": "t", "status": "ok"}, inputs, data)
    state = resume.load_state(out, "t")
    assert resume.reason_to_run(state, inputs, out, data) == ""

    def fresh_copy():
        shutil.rmtree(tmp_path / "copy", ignore_errors=True)
        copy = shutil.copytree(data, tmp_path / "copy", copy_function=shutil.copy)  # new mtimes
        for f in copy.rglob("*"):
            os.utime(f, ns=(f.stat().st_atime_ns, f.stat().st_mtime_ns + 10**9))
        return copy

    copy = fresh_copy()
    assert resume._stat(copy / "faces") != state["data"]["faces"][1]  # the signature alone would rerun
    assert resume.reason_to_run(state, inputs, out, copy) == ""
    (copy / "faces" / "b.jpg").write_bytes(b"face-c")  # same size, one byte changed
    assert resume.reason_to_run(state, inputs, out, copy) == "data faces changed"
    copy = fresh_copy()
    (copy / "faces" / "p1" / "new.jpg").write_bytes(b"")
    assert resume.reason_to_run(state, inputs, out, copy) == "data faces changed"
    copy = fresh_copy()
    (copy / "labels.csv").write_text("x,y\n1,3\n")
    assert resume.reason_to_run(state, inputs, out, copy) == "data labels.csv changed"


@pytest.mark.slow
def test_a_killed_worker_is_reported_failed_and_a_resume_reruns_it(tmp_path):
    one = {"profile": "two", "data_dir": "generated", "seeds": [0],
           "runs": [{"name": "cnn", "notebook": "03_cnn_from_scratch",
                     "params": {"max_train": 200, "train": {"epochs": 30, "device": "cpu"}}}]}
    p, out = _profile(tmp_path, one), tmp_path / "out"
    cmd = [sys.executable, "-m", "studylib.cli", "run", "--profile", p, "--out-dir", str(out), "--workers", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    running = out / "tasks" / "cnn.running"
    deadline = time.time() + 300
    while not running.is_file() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.5)
    assert running.is_file(), proc.communicate()[0]
    os.kill(json.loads(running.read_text())["pid"], signal.SIGKILL)  # the Ray worker running the task
    said, _ = proc.communicate(timeout=300)
    assert proc.returncode == 1, said
    entry = _index(out)["cnn"]
    assert entry["status"] == "failed" and "Worker" in entry["error"] and "died" in said.lower() + entry["error"].lower()
    assert not (out / "results" / "cnn.json").exists()

    again = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "run  cnn: last run failed" in again.stdout and _index(out)["cnn"]["status"] == "ok"


def test_a_spec_crosses_to_a_local_worker_with_its_task_as_itself(tmp_path):
    """The one conversion of a Task between the profile and the notebook: the local executor's spec file
    (JSON, `executor.spec_as_json`), read back in the worker (`spec_from_json`) to an equal Task; Ray
    pickles the Task itself. Fails if a field of the Task does not survive the crossing."""
    import pickle
    from studylib.runner.execute import _spec
    from studylib.runner.executor import spec_as_json, spec_from_json
    prof = load_profile("demo", data_dir="generated")
    for task in prof.tasks:
        spec = _spec(task, tmp_path / "data", tmp_path, "demo")
        assert spec_from_json(spec_as_json(spec)) == spec and pickle.loads(pickle.dumps(spec)) == spec
        assert spec["task"].results_dir == "results" and spec["task"].data_dir == "data"
