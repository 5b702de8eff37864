"""The GPU check's kit and script (issue 47), without a GPU: the FER2013 kit reads as the csv does, the
kit's wheels install offline and need nothing the image lacks, and `bench/gpu_check.sh --smoke` runs every
step on CPU so the script cannot rot."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from studylib import paths
from studylib.data import fer2013, synthetic
from studylib.data.base import DataError

KIT = paths.ROOT / ".gpukit"


def _gpu_kit():
    spec = importlib.util.spec_from_file_location("gpu_kit", paths.ROOT / "bench" / "gpu_kit.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---- the FER2013 kit ----------------------------------------------------------------------------------------

def test_a_kit_gives_the_same_tensors_as_the_csv_for_its_rows(tmp_path):
    csv = synthetic.make_fer(tmp_path / "full")["fer2013"]
    arrays, digest = fer2013.load_arrays(csv)
    rows = np.flatnonzero(arrays["usage"] != 1)[::3]  # some Training and PrivateTest rows, none of PublicTest
    kit = fer2013.write_kit(tmp_path / "kit" / "fer2013" / fer2013.KIT, arrays, rows, csv, digest)
    assert fer2013.find_source(tmp_path / "kit") == kit  # no csv there: the kit is the source
    for split in ("train", "test"):
        a, b = fer2013.load(tmp_path / "full", split), fer2013.load(tmp_path / "kit", split)
        keep = np.isin(a.ids, rows)
        assert np.array_equal(b.ids, a.ids[keep])  # each image's csv row, as from the csv
        assert np.array_equal(b.images, a.images[keep]) and np.array_equal(b.targets, a.targets[keep])
    assert len(fer2013.load(tmp_path / "kit", "val")) == 0
    _, info = fer2013.read_kit(kit)
    assert info["source_sha256"] == digest and info["source_name"] == csv.name


def test_a_damaged_kit_is_one_error_naming_it(tmp_path):
    csv = synthetic.make_fer(tmp_path / "full")["fer2013"]
    arrays, digest = fer2013.load_arrays(csv)
    kit = fer2013.write_kit(tmp_path / fer2013.KIT, arrays, [0, 1, 2], csv, digest)
    with np.load(kit) as z:
        stored = {k: z[k] for k in z.files}
    stored["labels"] = stored["labels"].copy()
    stored["labels"][0] = (stored["labels"][0] + 1) % 7  # one label changed
    np.savez_compressed(kit, **stored)
    with pytest.raises(DataError, match=rf"{fer2013.KIT}: its arrays' sha256 .* damaged or was altered"):
        fer2013.read_kit(kit)
    kit.write_bytes(b"not a zip")
    with pytest.raises(DataError, match="not a readable FER2013 kit"):
        fer2013.read_kit(kit)


# ---- the wheels ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def installed_kit(tmp_path_factory) -> Path:
    wheels = sorted((KIT / "wheels").glob("*.whl"))
    if not wheels:
        pytest.skip("no .gpukit/wheels: build the kit with `make gpu-kit`")
    target = tmp_path_factory.mktemp("site")
    # the image's Python: 3.12 wheels, installed as bench/gpu_check.sh step 0 does, from the kit alone
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile",
                    "--target", str(target), "--python-version", "3.12", "--only-binary", ":all:",
                    *[f"--platform={p}" for p in _gpu_kit().PLATFORMS], *map(str, wheels)], check=True)
    return target


def test_the_kits_wheels_install_offline_and_need_nothing_the_image_lacks(installed_kit):
    """Every requirement of every installed distribution (Python 3.12 markers) is met by the kit itself at a
    version it admits, by the image (IMAGE_HAS), or left out for a reason (LEFT_OUT, NOT_CARRIED).

    Importing them here would prove less: this machine's Python 3.12 has none of the image's packages
    (tqdm, pyyaml, requests, ...) and no index to get them; step 0 of the check imports studylib there."""
    from importlib.metadata import distributions
    from packaging.requirements import Requirement
    kit = _gpu_kit()
    have = {kit._name(d.metadata["Name"]): d.version for d in distributions(path=[str(installed_kit)])}
    assert {"papermill", "nbclient", "ipykernel", "nbconvert", "nbformat", "jupyter-client", "pyzmq"} <= set(have)
    assert "torch" not in have and "great-tables" not in have
    unmet = []
    for dist in distributions(path=[str(installed_kit)]):
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker and not req.marker.evaluate({**kit.MARKER_ENV, "extra": ""}):
                continue
            name = kit._name(req.name)
            if name in kit.IMAGE_HAS or name in kit.LEFT_OUT or name in kit.NOT_CARRIED or kit.NEVER.match(name):
                continue
            if name not in have or not req.specifier.contains(have[name], prereleases=True):
                unmet.append(f"{dist.metadata['Name']} needs {text}")
    assert not unmet, unmet
    # nbconvert finds its templates only where pip put them (a prefix or --target), not from a wheel
    assert (installed_kit / "share" / "jupyter" / "nbconvert" / "templates" / "lab" / "index.html.j2").is_file()


def test_the_kit_and_the_tree_fit_the_device_and_the_sums_check():
    if not (KIT / "SHA256SUMS").is_file():
        pytest.skip("no .gpukit: build the kit with `make gpu-kit`")
    kit = _gpu_kit()
    assert kit.report_sizes(KIT), "the kit and the tree do not fit: `make gpu-kit` names what to trim"
    subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=KIT, check=True)


# ---- the script ---------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_the_smoke_check_runs_every_step_and_returns_few_small_files(tmp_path):
    """`bash bench/gpu_check.sh --smoke`: steps 0-4 on CPU at tiny scale on generated data (about 3 min)."""
    out = tmp_path / "out"
    env = {**os.environ, "OUT": str(out), "PYTHON": sys.executable}
    done = subprocess.run(["bash", str(paths.ROOT / "bench" / "gpu_check.sh"), "--smoke"], env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    summary = json.loads((out / "gpu-check.json").read_text())
    assert summary["1_determinism"]["identical"] is True
    assert {r["model"] if isinstance(r, dict) and "model" in r else None for r in summary["2_throughput"]["rows"]}
    study = summary["3_study"]
    assert study["done"] and not study["dropped"] and study["scorecard"].get("exit", 0) == 0
    files = [p for p in out.rglob("*") if p.is_file()]
    assert 0 < len(files) <= 8 and all(p.stat().st_size < 16 * 2 ** 20 for p in files)
    assert "gpu-check done" in (out / "gpu-check.log").read_text()
