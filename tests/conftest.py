import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("STUDYLIB_SHARED_DATA", ROOT.parent / "shared" / "data"))


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
    3.5 minutes on 2 cores)."""
    from studylib import runner
    out = tmp_path_factory.mktemp("reports") / "gpu-smoke"
    code = runner.run_profile("gpu", out_dir=out, smoke=True)
    return out, code


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
