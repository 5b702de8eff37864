"""Issue 27, "nothing lost, nothing silently wrong": a resume checks a task's outputs against its record,
files appear whole or not at all (a full disk is one line naming the path), one run per reports folder,
the folders a run writes are checked before Ray starts, a task alone gets every core, reports get the
usual permissions, `--only` matching nothing is an error, and SIGTERM is handled as Ctrl-C.

Names introduced by the issue are imported inside each test, so that each fails on its own point."""
import errno
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from studylib import io

PROFILE = {"profile": "two", "data_dir": "generated", "seeds": [0, 1],
           "runs": [{"name": "cnn", "notebook": "03_cnn_from_scratch",
                     "params": {"max_train": 200, "train": {"epochs": 2, "device": "cpu"}}},
                    {"name": "card", "notebook": "06_scorecard"}]}


def _profile(tmp_path, content=PROFILE) -> str:
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(content, sort_keys=False))
    return str(path)


def _read_only(folder: Path) -> Path:
    """`folder` made read-only (0o500); skips where that does not stop writing (running as root)."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o500)
    if os.access(folder, os.W_OK):
        folder.chmod(0o700)
        pytest.skip("a read-only folder is still writable here (root)")
    return folder


@pytest.fixture()
def restore_modes():
    """Folders made read-only by a test get their mode back, so pytest can remove them."""
    made = []
    yield made
    for folder in made:
        folder.chmod(0o700)


# -- 1. resume integrity ------------------------------------------------------------------------------

def _task_with_predictions(out: Path, data: Path) -> tuple[dict, dict, Path]:
    """A finished task 't': its record listing t.npz by sha256, its HTML, its state; (state, inputs, npz)."""
    from studylib.runner import resume
    (out / "results").mkdir(parents=True)
    data.mkdir()
    npz = out / "results" / "t.npz"
    npz.write_bytes(b"predictions " * 100)
    (out / "results" / "t.json").write_text(json.dumps({"data_sources": {}, "predictions": {
        "file": "t.npz", "sha256": hashlib.sha256(npz.read_bytes()).hexdigest(), "protocols": {}}}))
    (out / "t.html").write_text("<html></html>")
    inputs = {"code": "c"}
    resume.save_state(out, {"name": "t", "status": "ok", "html": "t.html"}, inputs, data)
    return resume.load_state(out, "t"), inputs, npz


def test_a_deleted_or_corrupted_npz_makes_its_task_rerun(tmp_path):
    """The record's sha256 of its predictions is checked on resume: a deleted .npz, or one with a byte
    flipped in place (same size, same mtime), reruns the task that wrote it. Fails if `reason_to_run`
    checks the record alone (today's code: both cases 'unchanged, ok', the scorecard then fails)."""
    from studylib.runner import resume
    out, data = tmp_path / "out", tmp_path / "data"
    state, inputs, npz = _task_with_predictions(out, data)
    assert resume.reason_to_run(state, inputs, out, data) == ""
    good, st = npz.read_bytes(), npz.stat()

    npz.unlink()
    assert resume.reason_to_run(state, inputs, out, data) == "its predictions t.npz are missing"

    npz.write_bytes(good[:10] + bytes([good[10] ^ 1]) + good[11:])
    os.utime(npz, ns=(st.st_atime_ns, st.st_mtime_ns))  # a flip in place that keeps size and mtime
    assert "t.npz were changed" in resume.reason_to_run(state, inputs, out, data)

    npz.write_bytes(good)
    assert resume.reason_to_run(state, inputs, out, data) == ""
    (out / "t.html").unlink()
    assert resume.reason_to_run(state, inputs, out, data) == "its report t.html is missing"


def test_the_scorecard_names_the_command_that_restores_missing_predictions(tmp_path):
    """Two seeds' records of notebook 03, one .npz deleted: the scorecard's error names the .npz and
    `studylib run --profile cpu`. Fails if it only says "rerun that task" (today)."""
    import numpy as np
    from studylib.report import records, scorecard
    from studylib.study.experiments import resolve
    y = np.random.default_rng(0).integers(0, 5, 300)
    for seed in (0, 1):
        params = {**resolve("03_cnn_from_scratch", {"seed": seed}).__dict__}
        rec = records.make_record("03", "003", params, {}, records.Provenance({}, {}, 1.0, "cpu"), []).__dict__
        preds = {"small CNN (seed 003)": (y, np.where(np.arange(300) % 4 == seed, (y + 1) % 5, y))}
        rec.update(git_commit="abc", run_name="03", task=f"03--seed{seed}", seed=seed, profile="cpu",
                   notebook="03_cnn_from_scratch",
                   predictions=records.write_predictions(tmp_path / f"03--seed{seed}.npz", {"best": preds,
                                                                                          "final": preds}))
        records.write_record(rec, tmp_path / f"03--seed{seed}.json")
    (tmp_path / "03--seed1.npz").unlink()
    with pytest.raises(ValueError, match=r"03--seed1.npz.*`studylib run --profile cpu` reruns task 03--seed1"):
        scorecard.evaluate(scorecard.read(tmp_path), "cpu")


# -- 2. atomic writes; a full disk is one line --------------------------------------------------------

def test_a_write_that_fails_midway_leaves_no_file_and_names_the_path(tmp_path):
    """A writer that has written half its bytes when the disk fills: nothing under the final name, no
    temporary file left, and one line naming the path and what to free. Fails if the error is the bare
    OSError ("[Errno 28] No space left on device", no path), as today."""
    target = tmp_path / "results" / "t.json"

    def half_then_full(tmp):
        with open(tmp, "w") as f:
            f.write('{"half": ')
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(OSError) as caught:
        io.atomic_write(target, half_then_full)
    message = str(caught.value)
    assert not target.exists() and list(target.parent.iterdir()) == []
    assert str(target) in message and "free space" in message and "\n" not in message
    assert caught.value.errno == errno.ENOSPC  # still an OSError with its errno, for callers that check


def _spec(out: Path) -> dict:
    from studylib.study.task import Task
    task = Task("t", "03_cnn_from_scratch", "t", profile="p", data_dir=".", results_dir="results")
    return {"task": task, "parameters": {"profile": "p", "run": "t"}, "out_dir": str(out), "threads": 1,
            "gpus": 0}


def _paths(out: Path):
    from studylib.study.task import TaskPaths
    return TaskPaths(out, "t")


def test_a_task_whose_report_cannot_be_written_fails_with_one_line(tmp_path, monkeypatch):
    """nbconvert's HTML hitting a full disk ends the task 'failed' with one line naming the path and
    --out-dir, not a traceback in the runner; no HTML appears and the record is withdrawn. Fails if
    `finish_task` lets the OSError out (today)."""
    from studylib.runner import task
    out = tmp_path / "out"
    (out / "results").mkdir(parents=True)
    (out / "results" / "t.json").write_text("{}")
    _paths(out).partial_notebook.write_text(json.dumps(
        {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    html = out / "t.html"

    def full_disk(ipynb, path, title=""):
        io.atomic_write(path, lambda tmp: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space left on device")))

    monkeypatch.setattr(task, "render_html", full_disk)
    entry = task.finish_task(_spec(out), "ok", "", time.time(), time.time(), "here")
    assert entry["status"] == "failed" and not html.exists() and not (out / "results" / "t.json").exists()
    assert str(html) in entry["error"] and "--out-dir" in entry["error"] and "\n" not in entry["error"]


def test_a_notebook_papermill_left_half_written_is_not_published(tmp_path, monkeypatch):
    """papermill writes its output in place: a .part that is not a whole notebook (the disk filled) is
    dropped, never renamed to <task>.ipynb nor rendered. Fails if execute_task publishes it (today:
    rename, then nbconvert raises in the runner)."""
    import papermill
    from studylib.runner import task
    out = tmp_path / "out"

    def fills_the_disk(nb_in, nb_out, **kwargs):
        Path(nb_out).write_text('{"cells": [')
        raise OSError(errno.ENOSPC, "No space left on device", nb_out)

    monkeypatch.setattr(papermill, "execute_notebook", fills_the_disk)
    entry = task.execute_task(_spec(out))
    assert entry["status"] == "failed" and "free space" in entry["error"] and "\n" not in entry["error"]
    assert str(_paths(out).partial_notebook) in entry["error"]
    assert not (out / "t.ipynb").exists() and not (out / "t.html").exists()
    assert not _paths(out).partial_notebook.exists() and not _paths(out).running.exists()


def test_a_state_that_cannot_be_written_ends_the_run_with_one_line(tmp_path, monkeypatch, capsys):
    """The driver's own write failing (a task's state on a full disk) ends the run: exit 1, one line
    naming the path, --out-dir and how to resume; no traceback. Fails today (the OSError escapes)."""
    from studylib.runner import execute
    out = tmp_path / "out"
    state = out / "tasks" / "cnn--seed0.json"

    def full(*args, **kwargs):
        raise io.WriteError(errno.ENOSPC, "No space left on device", str(state))

    monkeypatch.setattr(execute, "_run", full)
    assert execute.run_profile(_profile(tmp_path), out_dir=out, allow_dirty=True) == 1
    said = capsys.readouterr().out.strip().splitlines()[-1]
    assert said.startswith("error: cannot write " + str(state)) and "--out-dir" in said and "resume" in said
    assert not (out / ".lock").exists()  # released


def test_a_finished_search_trial_leaves_no_checkpoints(tmp_path, monkeypatch):
    """A trial memoised by another process (or by one killed before removing them) leaves its .ck folder:
    whoever finds the memo removes it. Fails if only the process that trains a trial removes its .ck."""
    from studylib.study import search
    from studylib.study.experiments import Arm
    monkeypatch.setattr(search, "trial_key", lambda *a: "k")
    monkeypatch.setattr(search, "train_config", lambda *a, **k: type("C", (), {"monitor": "val_acc"})())
    memo = tmp_path / "k.json"
    memo.write_text(json.dumps({"lr": 0.1, "best_val": 0.5, "best_epoch": 1, "final_epoch": 2}))
    (tmp_path / "k.ck").mkdir()
    (tmp_path / "k.ck" / "last.pt").write_bytes(b"x")
    arm = Arm(name="a", lr_grid=[0.1])
    selection, _ = search.choose_lr(None, arm, {}, build=None, memo_dir=tmp_path)
    assert selection["lr"] == 0.1 and not (tmp_path / "k.ck").exists() and not (tmp_path / "k.lock").exists()


# -- 3. one run per reports folder ---------------------------------------------------------------------

HOLD = """
import sys, time
from studylib.io import file_lock
with file_lock(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(600)
"""


@pytest.mark.parametrize("flock", [True, False], ids=["fcntl", "pid-file"])
def test_a_second_lock_is_refused_naming_the_pid_and_a_dead_ones_is_taken_over(tmp_path, monkeypatch, flock):
    """Another process holding reports/<p>/.lock: refused, naming its PID; once it is killed (SIGKILL: no
    release) its lock is taken over with a message naming it. Also within one process. The PID-file mode
    (no fcntl) behaves the same. Fails if there is no lock (today)."""
    if not flock:
        monkeypatch.setattr(io, "fcntl", None)
    lock = tmp_path / ".lock"
    if flock:  # a real holder in another process (the pid-file mode only differs in this process)
        holder = subprocess.Popen([sys.executable, "-c", HOLD, str(lock)], stdout=subprocess.PIPE, text=True)
        assert holder.stdout.readline().strip() == "locked"
    else:
        holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        lock.write_text(f"{holder.pid} {socket.gethostname()}\n")
    try:
        with pytest.raises(io.LockHeld, match=f"PID {holder.pid}\\b"):
            with io.file_lock(lock):
                pass
    finally:
        holder.kill()
        holder.wait()
    with io.file_lock(lock) as took_over:
        assert f"PID {holder.pid}" in took_over and "took over" in took_over
        assert lock.read_text().split()[0] == str(os.getpid())
        with pytest.raises(io.LockHeld, match=f"PID {os.getpid()}\\b"):
            with io.file_lock(lock):
                pass
    assert not lock.exists()  # released: removed
    with io.file_lock(lock) as took_over:
        assert took_over == ""
    with io.file_lock(lock, keep=True):  # the prefix cache keeps its <key>.lock files, emptied
        pass
    assert not lock.exists() if not flock else lock.read_text() == ""
    with io.file_lock(lock) as took_over:
        assert took_over == ""


def test_a_second_run_in_the_same_folder_is_refused_before_ray_starts(tmp_path, monkeypatch):
    """Fails if run_profile takes no lock (today: it would go on and start Ray)."""
    from studylib.runner import RunRefused, execute
    from studylib.runner.preflight import run_lock
    monkeypatch.setattr(execute, "_run", lambda *a, **k: pytest.fail("ran while another run held the folder"))
    out = tmp_path / "out"
    out.mkdir()
    with run_lock(out):
        with pytest.raises(RunRefused, match=f"another run is writing to {out} .*PID {os.getpid()}"):
            execute.run_profile(_profile(tmp_path), out_dir=out, allow_dirty=True)


# -- 4. folders checked writable before Ray starts -----------------------------------------------------

def test_an_unwritable_reports_folder_is_refused_naming_out_dir(tmp_path, capsys, restore_modes):
    """`studylib run` into a read-only folder: exit 2 and one line naming --out-dir, before Ray starts.
    Fails today (a PermissionError traceback from writing the demo data)."""
    from studylib import cli
    out = _read_only(tmp_path / "out")
    restore_modes.append(out)
    code = cli.main(["run", "--profile", _profile(tmp_path), "--out-dir", str(out), "--allow-dirty"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert str(out) in err and "not writable" in err and "--out-dir" in err


def test_an_unwritable_ray_temp_folder_is_refused_naming_ray_tmpdir(tmp_path, monkeypatch, restore_modes):
    from studylib.runner.preflight import RunRefused, check_writable
    import contextlib
    tmp = _read_only(tmp_path / "tmp")
    restore_modes.append(tmp)
    monkeypatch.setenv("RAY_TMPDIR", str(tmp))
    with contextlib.ExitStack() as stack:
        with pytest.raises(RunRefused, match=r"Ray's temp folder .* set RAY_TMPDIR \(or TMPDIR\)"):
            check_writable(tmp_path / "out", local_ray=True, stack=stack)
        assert check_writable(tmp_path / "out", local_ray=False, stack=stack) == []  # a cluster's own


def test_an_unwritable_cache_is_skipped_with_a_warning(tmp_path, monkeypatch, restore_modes):
    """A read-only STUDYLIB_CACHE does not stop the run: a warning naming STUDYLIB_CACHE, the run's tasks
    cache in a scratch folder, removed (and the variable restored) when the run ends."""
    import contextlib
    from studylib.runner.preflight import check_writable
    cache = _read_only(tmp_path / "cache")
    restore_modes.append(cache)
    monkeypatch.setenv("STUDYLIB_CACHE", str(cache))
    monkeypatch.setenv("RAY_TMPDIR", str(tmp_path / "ray"))
    with contextlib.ExitStack() as stack:
        warnings = check_writable(tmp_path / "out", local_ray=True, stack=stack)
        scratch = Path(os.environ["STUDYLIB_CACHE"])
        assert len(warnings) == 1 and str(cache) in warnings[0] and "set STUDYLIB_CACHE" in warnings[0]
        assert scratch != cache and os.access(scratch, os.W_OK)
    assert os.environ["STUDYLIB_CACHE"] == str(cache) and not scratch.exists()


# -- 5. threads, permissions, --only, SIGTERM ----------------------------------------------------------

def test_a_tasks_threads_do_not_depend_on_what_is_left_to_run():
    """Two workers on two cores: every task gets one thread, also one resumed alone (torch's numbers depend
    on its thread count, so a resume must compute what the uninterrupted run did); one worker: both."""
    import inspect
    from studylib.runner.engine import cpu_share
    cluster = {"cpus": 2, "gpus": 0, "node_cpus": 2}
    assert cpu_share(1, workers=2, resources=cluster) == 1
    assert cpu_share(1, workers=1, resources=cluster) == 2
    assert cpu_share(1, workers=4, resources={"cpus": 16, "gpus": 0, "node_cpus": 16}) == 4
    assert list(inspect.signature(cpu_share).parameters) == ["requested", "workers", "resources"]


def test_reports_are_written_with_the_usual_permissions(tmp_path):
    """0644 under umask 022, as open() gives; fails with mkstemp's 0600 (today: other users, a web server
    serving reports/, cannot read them)."""
    old = os.umask(0o022)
    try:
        path = io.write_text(tmp_path / "index.html", "<html></html>")
        npz = io.atomic_write(tmp_path / "t.npz", lambda tmp: Path(tmp).write_bytes(b"x"))
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644 and npz.stat().st_mode & 0o777 == 0o644


def test_only_matching_nothing_is_an_error_listing_the_runs(tmp_path, capsys):
    """Fails if a typo in --only runs nothing and exits 0 (today)."""
    from studylib import cli
    out = tmp_path / "out"
    code = cli.main(["run", "--profile", _profile(tmp_path), "--only", "cnm", "--out-dir", str(out), "--allow-dirty"])
    err = capsys.readouterr().err
    assert code == 2 and "--only 'cnm' matches no task of profile p; its runs: cnn, card" in err
    assert not out.exists()  # refused before anything is written


def test_sigterm_raises_as_ctrl_c_does_and_survives_ray_init(monkeypatch):
    """Inside the runner SIGTERM raises Terminated (a KeyboardInterrupt: the running tasks are reported
    interrupted), also after ray.init, which installs its own handler (sys.exit). Fails today (SIGTERM
    kills the process, or Ray's handler exits mid-call)."""
    import ray
    from studylib.runner.engine import RayCluster, Terminated, sigterm_as_interrupt
    monkeypatch.setattr(ray, "init", lambda **kw: signal.signal(signal.SIGTERM, lambda *a: sys.exit(15)))
    monkeypatch.setattr(ray, "shutdown", lambda: None)
    before = signal.getsignal(signal.SIGTERM)
    with sigterm_as_interrupt():
        with RayCluster(None):
            with pytest.raises(Terminated):
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5)  # the handler runs before this ends
            assert isinstance(Terminated(), KeyboardInterrupt)
    assert signal.getsignal(signal.SIGTERM) == before


@pytest.mark.slow
def test_sigterm_stops_a_run_cleanly_and_a_resume_reruns_it(tmp_path):
    """`kill` of a running `studylib run`: exit 143, a clean line, no traceback, the task 'interrupted',
    the lock released; the same command then reruns it."""
    one = dict(PROFILE, seeds=[0], runs=[dict(PROFILE["runs"][0], params={
        "max_train": 200, "train": {"epochs": 30, "device": "cpu"}})])
    p, out = _profile(tmp_path, one), tmp_path / "out"
    cmd = [sys.executable, "-m", "studylib.cli", "run", "--profile", p, "--out-dir", str(out), "--workers", "1",
           "--allow-dirty"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    running = out / "tasks" / "cnn.running"
    deadline = time.time() + 300
    while not running.is_file() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.5)
    assert running.is_file(), proc.communicate()[0]
    proc.send_signal(signal.SIGTERM)
    said, _ = proc.communicate(timeout=120)
    assert proc.returncode == 143, said
    assert "terminated (SIGTERM): the running tasks were stopped" in said and "Traceback" not in said, said
    state = json.loads((out / "tasks" / "cnn.json").read_text())
    assert state["entry"]["status"] == "interrupted" and "SIGTERM" in state["entry"]["error"]
    assert not (out / ".lock").exists()
    from studylib.runner import resume
    assert resume.reason_to_run(state, state["inputs"], out, out / "data") == "last run interrupted"


def test_a_render_starts_with_its_projection_of_task_hours_and_temporary_space():
    """Printed before Ray runs anything: task-hours from each task's last wall time, the tasks never timed,
    and the disk the checkpoints of the tasks running at once need (a trial's checkpoint is tens of MB)."""
    from studylib.study.needs import checkpoint_bytes, projection
    from studylib.study.profile import load_profile
    tasks = load_profile("cpu", data_dir="generated").tasks
    text = projection(tasks, {tasks[1].name: 7200.0, tasks[2].name: 3600.0}, workers=2)
    assert text.startswith(f"projection: {len(tasks)} task(s) to run; 2 ran before, 3.0 task-hours")
    assert f"{len(tasks) - 2} never timed" in text
    lite0 = next(t for t in tasks if t.notebook == "05_partial_vs_full")
    assert checkpoint_bytes(lite0) > 40e6 and checkpoint_bytes(tasks[0]) == 0  # the audit trains nothing
    assert f"at most {2 * checkpoint_bytes(lite0) / 1e6:,.0f} MB" in text or "MB (2 at once" in text
