import json
import os
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("STUDYLIB_SHARED_DATA", ROOT.parent / "shared" / "data"))


# The renders several tests read, each made once per pytest process (a session or module fixture). Under
# pytest-xdist (`make test` runs `-n 2 --dist loadgroup`) every test using one is sent to the same worker, so
# each is still made once while the other worker runs the rest; a test using two goes with the first listed.
SHARED_RENDERS = {
    "demo_reports": "demo-render",            # conftest: the demo profile through Ray (about 3.5 minutes)
    "demo_local": "demo-render",              # test_local_executor: compared with demo_reports, so beside it
    "gpu_smoke_reports": "gpu-smoke-render",  # conftest: the gpu profile at smoke scale (about 3 minutes)
    "two_seeds": "two-seeds-render",          # conftest: two seeds of a small CNN and their scorecard
    "lab": "jupyterlab",                      # test_browser: one JupyterLab server
    "lab_as_cloned": "jupyterlab-as-cloned",  # test_lab: another, started as `make lab` starts it
}
# xdist's own loadgroup reads the group from a suffix its worker appends to each test's node id, which pytest
# 9.2 no longer lets it change (pytest-dev/pytest-xdist#1386): every test would be scheduled alone. So each
# worker writes {node id: group} to this file as it collects, and the controller's scheduler (below) reads it.
GROUPS_FILE = "STUDYLIB_TEST_GROUPS"


def _render_group(item) -> str | None:
    names = getattr(item, "fixturenames", ())
    return next((g for fixture, g in SHARED_RENDERS.items() if fixture in names), None)


def pytest_configure(config):
    # the controller of an xdist run (its workers, started after this, inherit the variable)
    if getattr(config.option, "dist", "no") != "no" and not hasattr(config, "workerinput"):
        fd, path = tempfile.mkstemp(prefix="studylib-test-groups-", suffix=".json")
        os.close(fd)
        os.environ[GROUPS_FILE] = path
        config.add_cleanup(lambda: Path(path).unlink(missing_ok=True))


@pytest.hookimpl(tryfirst=True)  # before xdist reads the marks (its own pytest_collection_modifyitems)
def pytest_collection_modifyitems(config, items):
    groups = {}
    for item in items:
        # a wall-clock property (two workers' tasks overlap) needs a quiet machine: the two-seed render's tests
        # run after the parallel phase, alone (`make test`'s second pytest, `-m alone`)
        if "two_seeds" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.alone)
        if group := _render_group(item):
            groups[item.nodeid] = group
            if not any(item.iter_markers("xdist_group")):
                item.add_marker(pytest.mark.xdist_group(group))
    if hasattr(config, "workerinput") and os.environ.get(GROUPS_FILE):
        part = Path(f"{os.environ[GROUPS_FILE]}.{config.workerinput['workerid']}")
        part.write_text(json.dumps(groups))
        part.replace(os.environ[GROUPS_FILE])  # whole, and the same from every worker


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist, called only where it runs
def pytest_xdist_make_scheduler(config, log):
    if config.getoption("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class ByRender(LoadGroupScheduling):
        """loadgroup, with each test's group read from the workers' GROUPS_FILE (called once every worker has
        collected, so the file is there): the largest groups (the renders) are handed out first."""
        groups: dict | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self.groups is None:
                text = Path(os.environ[GROUPS_FILE]).read_text() if os.environ.get(GROUPS_FILE) else ""
                self.groups = json.loads(text) if text.strip() else {}
            return self.groups.get(nodeid) or super()._split_scope(nodeid)

    return ByRender(config, log)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real datasets (../shared/data); tests using it skip when it is absent."""
    if not (SHARED_DATA / "PROVENANCE.md").is_file():
        pytest.skip(f"real data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory) -> Path:
    """A generated data folder laid out like the real one."""
    from studylib.data import synthetic
    return synthetic.make_demo_data(tmp_path_factory.mktemp("demo-data"), seed=0)


@pytest.fixture()
def cache(tmp_path) -> Path:
    """An empty cache folder for tests that check what is (not) cached."""
    d = tmp_path / "cache"
    d.mkdir()
    return d


@pytest.fixture(scope="session")
def shared_data_or_none():
    """The real data folder when present, else None (for tests that only borrow names from it)."""
    return SHARED_DATA if (SHARED_DATA / "PROVENANCE.md").is_file() else None


@pytest.fixture(autouse=True)
def _prefix_cache_in_tmp(tmp_path_factory, monkeypatch):
    """Each test gets its own, empty store of frozen-prefix outputs (never the user's cache folder, and no
    entry carried from one test to the next); subprocesses (papermill, multiprocessing) inherit it."""
    monkeypatch.setenv("STUDYLIB_PREFIX_CACHE", str(tmp_path_factory.mktemp("prefix-cache")))


@pytest.fixture(scope="session")
def demo_reports(tmp_path_factory):
    """The whole demo profile, run once for the tests that read its reports (a few minutes on 2 cores)."""
    from studylib import runner
    out = tmp_path_factory.mktemp("reports-demo")
    code = runner.run_profile("demo", out_dir=out)
    return out, code


@pytest.fixture(scope="session")
def gpu_smoke_reports(tmp_path_factory):
    """Every task of the gpu profile at smoke scale, run once for the tests that read its reports (about
    3 minutes on 2 cores beside the rest of the suite)."""
    from studylib import runner
    out = tmp_path_factory.mktemp("reports") / "gpu-smoke"
    code = runner.run_profile("gpu", out_dir=out, smoke=True)
    return out, code


TWO_SEEDS = {"profile": "two", "data_dir": "generated", "seeds": [0, 1],
             "runs": [{"name": "cnn", "notebook": "03_cnn_from_scratch",
                       "params": {"max_train": 200, "train": {"epochs": 2, "device": "cpu"}}},
                      {"name": "card", "notebook": "06_scorecard"}]}


@pytest.fixture(scope="session")
def two_seeds(tmp_path_factory):
    """A two-seed profile (a small CNN, then the scorecard reading both seeds) run once with two workers, for
    the runner's tests (test_runner: concurrency, resume) and the scorecard's n = 2 (test_notebooks).
    Returns (profile path, reports folder, exit code)."""
    import yaml

    from studylib import runner
    tmp = tmp_path_factory.mktemp("two-seeds")
    p, out = tmp / "two.yaml", tmp / "out"
    p.write_text(yaml.safe_dump(TWO_SEEDS, sort_keys=False))
    code = runner.run_profile(str(p), out_dir=out, workers=2)
    return str(p), out, code


def _strip_times(metrics: dict) -> dict:
    """A record's metrics without what two identical runs may differ in: wall-clock seconds (every `seconds`
    or `*_seconds` key, at any depth: an epoch's, a rate-search trial's, a curve point's) and whether the
    frozen prefix's feature cache was built or found (`prefix_cache*`: a second run of the same task finds
    what the first built, and computes the same numbers from it)."""
    def strip(x):
        if isinstance(x, dict):
            return {k: strip(v) for k, v in x.items()
                    if not (k == "seconds" or k.endswith("_seconds") or k.startswith("prefix_cache"))}
        if isinstance(x, list):
            return [strip(v) for v in x]
        return x
    return strip(json.loads(json.dumps(metrics)))


@pytest.fixture()
def strip_times():
    return _strip_times


@pytest.fixture(scope="session")
def browser():
    """Headless Debian chromium under Playwright; skips (with the fix) where none can be had."""
    pw = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')")
    if not _chromium():
        pytest.skip("no chromium on this machine: `apt-get install chromium` (as .ci/run does), "
                    "or set STUDYLIB_CHROMIUM to a Chromium executable")
    with pw.sync_playwright() as p:
        # --no-sandbox: CI containers run as root, where Chromium's sandbox refuses to start
        b = p.chromium.launch(executable_path=_chromium(), args=["--no-sandbox"])
        yield b
        b.close()


def _chromium():
    """Debian's chromium (or $STUDYLIB_CHROMIUM); None where there is none."""
    import os
    import shutil
    return os.environ.get("STUDYLIB_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
