"""The local executor (`studylib run --executor local`): tasks as subprocesses of this machine, no Ray; and
a hand-typed papermill command writing what the runner writes."""
import fnmatch
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from studylib import paths
from studylib.io import sha256_file
from studylib.runner.executor import pick_executor
from studylib.runner.local import GpuSlots, gpu_count
from studylib.runner.preflight import RunRefused
from studylib.study.profile import load_profile

# two tasks at once, no task reading another's record (the local executor's stages are compared with Ray's
# on the demo's 07_sweep, which reads its grid's points: test_both_executors_write_the_same_record_...)
TINY = {"profile": "tiny", "data_dir": "generated", "seeds": [0, 1],
        "runs": [{"name": "cnn", "notebook": "03_cnn_from_scratch",
                  "params": {"max_train": 200, "train": {"epochs": 2, "device": "cpu"}}}]}


@pytest.fixture()
def no_ray(tmp_path) -> dict:
    """An environment in which `import ray` fails (a module of that name that raises), for every process
    the run starts (workers, kernels inherit PYTHONPATH): as if Ray were uninstalled."""
    shim = tmp_path / "no-ray"
    shim.mkdir()
    (shim / "ray.py").write_text("raise ImportError('Ray is uninstalled in this test')\n")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(shim), str(paths.ROOT)])}


def _run(profile: str, out: Path, env: dict, *extra) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "studylib.cli", "run", "--profile", profile, "--out-dir", str(out),
                           "--executor", "local", "--allow-dirty", *extra], env=env, capture_output=True, text=True)


def test_nothing_on_the_local_path_imports_ray():
    code = ("import sys\nimport studylib.cli, studylib.runner.execute, studylib.runner.local, studylib.runner.worker\n"
            "from studylib.runner.execute import executor_for\nexecutor_for('local', None)\n"
            "assert 'ray' not in sys.modules, 'ray imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_auto_is_ray_where_installed_else_local_and_refusals_are_one_line(monkeypatch):
    from studylib.runner import executor
    monkeypatch.setattr(executor, "ray_installed", lambda: False)
    assert pick_executor("auto", None) == "local"
    with pytest.raises(RunRefused, match="Ray is not installed in this environment; use --executor local"):
        pick_executor("ray", None)
    with pytest.raises(RunRefused, match="--address auto joins a Ray cluster: use --executor ray"):
        pick_executor("local", "auto")
    monkeypatch.setattr(executor, "ray_installed", lambda: True)
    assert pick_executor("auto", None) == "ray" and pick_executor("local", None) == "local"


def test_gpus_are_shared_by_fraction_and_taken_whole_beyond_one():
    slots = GpuSlots(["0", "1"])
    assert slots.take(0) == []
    a, b = slots.take(0.5), slots.take(0.5)
    assert a == ["0"] and b == ["1"]  # the device with the most room first
    c = slots.take(0.5)
    assert c in (["0"], ["1"]) and slots.take(2) is None  # no two whole devices free: it waits
    slots.give(a, 0.5)
    slots.give(b, 0.5)
    slots.give(c, 0.5)
    assert slots.take(2) == ["0", "1"] and slots.take(0.1) is None
    assert GpuSlots([]).take(1) is None  # a task asking a GPU on a machine without one never starts


def test_the_gpu_count_follows_cuda_visible_devices(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3")
    assert gpu_count() == 2
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert gpu_count() == 0


@pytest.mark.slow
def test_a_profile_runs_without_ray_skips_when_done_and_resumes_after_ctrl_c(tmp_path, no_ray):
    profile = tmp_path / "tiny.yaml"
    profile.write_text(yaml.safe_dump(TINY, sort_keys=False))
    out = tmp_path / "out"
    first = _run(str(profile), out, no_ray)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "local (no Ray)" in first.stdout and "2 ok, 0 failed" in first.stdout
    index = json.loads((out / "index.json").read_text())
    assert {r["name"]: r["status"] for r in index["runs"]} == {"cnn--seed0": "ok", "cnn--seed1": "ok"}
    again = _run(str(profile), out, no_ray)
    assert again.returncode == 0 and again.stdout.count("skip ") == 2 and "run  " not in again.stdout, again.stdout
    # Ctrl-C while a task runs: exit 130, the task reported interrupted; the same command reruns it
    proc = subprocess.Popen([sys.executable, "-m", "studylib.cli", "run", "--profile", str(profile), "--out-dir",
                             str(out), "--executor", "local", "--allow-dirty", "--force", "--only", "cnn--seed0"],
                            env=no_ray, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            # SIGINT as in a terminal: a shell's background job (CI under nohup) starts its
                            # children with it ignored, and Python then never raises KeyboardInterrupt
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    running = out / "tasks" / "cnn--seed0.running"
    deadline = time.time() + 120
    while not running.is_file() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    assert running.is_file(), proc.communicate()[0]
    proc.send_signal(signal.SIGINT)
    said, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "interrupted: the running tasks were stopped" in said, said
    assert "Traceback" not in said, said
    state = json.loads((out / "tasks" / "cnn--seed0.json").read_text())
    assert state["entry"]["status"] == "interrupted" and not (out / ".lock").exists()
    resumed = _run(str(profile), out, no_ray)
    assert resumed.returncode == 0 and "run  cnn--seed0: last run interrupted" in resumed.stdout, resumed.stdout
    assert "skip cnn--seed1" in resumed.stdout, resumed.stdout  # only what was interrupted


# The demo tasks the local executor renders beside conftest's Ray render (`demo_reports`), one of each kind of
# input a task takes: plain training (03_cnn_from_scratch), a grid's points and the task that reads them
# (03_cnn_sweep--lr=*, 07_sweep: upstream records, so run after them), and arms with pretrained weights,
# predictions, an MLP head and a validation split of its own (05_partial_vs_full-fer2013-mlp). The rest of
# the demo adds minutes, not kinds: a rate search runs inside the notebook whatever runs it (the hand-typed
# papermill command below runs one, 05_partial_vs_full-fer2013, and is compared with the Ray render), and the
# scorecard reads every record, so it could only be compared after every task.
LOCAL_DEMO_TASKS = ("0[37]_*", "05_partial_vs_full-fer2013-mlp")


@pytest.fixture(scope="module")
def demo_local(tmp_path_factory):
    """Those demo tasks on the local executor (the Ray render is conftest's `demo_reports`), each `--only`
    selection in turn into one reports folder, as a person resumes a render."""
    from studylib import runner
    out = tmp_path_factory.mktemp("reports-demo-local")
    codes = [runner.run_profile("demo", out_dir=out, executor="local", only=only) for only in LOCAL_DEMO_TASKS]
    return out, max(codes)


def _same_record(a: Path, b: Path, strip_times) -> None:
    ra, rb = json.loads(a.read_text()), json.loads(b.read_text())
    assert strip_times(ra["metrics"]) == strip_times(rb["metrics"]), a.name
    assert ra["params"] == rb["params"] and ra["headline"] == rb["headline"], a.name
    if ra.get("predictions"):
        assert ra["predictions"]["sha256"] == rb["predictions"]["sha256"], a.name
        assert sha256_file(a.parent / ra["predictions"]["file"]) == sha256_file(b.parent / rb["predictions"]["file"])


@pytest.mark.slow
def test_both_executors_write_the_same_record_for_each_kind_of_demo_task(demo_reports, demo_local, strip_times):
    (ray_out, ray_code), (local_out, local_code) = demo_reports, demo_local
    assert ray_code == 0 and local_code == 0
    names = sorted(p.stem for p in (local_out / "results").glob("*.json"))
    assert names == sorted(  # every task selected, and only those
        t.name for t in load_profile("demo", data_dir="generated").tasks
        if any(fnmatch.fnmatch(t.name, g) or g in t.name for g in LOCAL_DEMO_TASKS))
    assert len(names) == 5 and "07_sweep" in names
    for name in names:
        _same_record(ray_out / "results" / f"{name}.json", local_out / "results" / f"{name}.json", strip_times)


@pytest.mark.slow
def test_a_hand_typed_papermill_command_writes_the_runners_record(demo_reports, tmp_path, strip_times):
    """`papermill notebooks/05_partial_vs_full.ipynb out.ipynb -p profile demo -p out_dir X --engine studylib`
    with one thread (as the runner gives each of two tasks on two cores) equals the runner's task (the demo
    render's: its arms' rates searched as the runner searches them)."""
    out = tmp_path / "mine"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    subprocess.run([sys.executable, "-m", "papermill", str(paths.NOTEBOOKS / "05_partial_vs_full.ipynb"),
                    str(tmp_path / "out.ipynb"), "-p", "profile", "demo", "-p", "out_dir", str(out),
                    "--engine", "studylib", "--no-progress-bar"], check=True, env=env, cwd=tmp_path)
    name = "05_partial_vs_full-fer2013.json"
    _same_record(out / "results" / name, demo_reports[0] / "results" / name, strip_times)
