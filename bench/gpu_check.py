"""The GPU check's steps 0-3 as Python (issue 47); `bench/gpu_check.sh` runs them, each under its own time
limit, and packs what they wrote. Each step prints its figures and adds its section to a JSON summary
(`--summary`, rewritten atomically as each step ends, so a check cut short still returns what finished).

    python bench/gpu_check.py env          [--smoke]   # 0: the machine, torch, the kit, cached weights
    python bench/gpu_check.py determinism  [--smoke]   # 1: one short fit twice under the deterministic settings
    python bench/gpu_check.py throughput   [--smoke]   # 2: training img/s host-fed vs device-resident
    python bench/gpu_check.py study --deadline EPOCH [--smoke] [--out-dir DIR]
                                                       # 3: params/gpu-lite0.yaml through `studylib run
                                                       #    --executor local`, seed by seed, within the deadline

`--smoke`: CPU, tiny, on generated data (`data.synthetic`), so CI runs every step's code (steps 1-2 on
a few dozen 32 px images, step 3 as `studylib run --smoke`).
"""
from __future__ import annotations

import argparse
import contextlib
import glob
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")  # fit's progress bars would bury the figures

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PROFILE = "gpu-lite0"
KIT = ROOT / ".gpukit"
KIT_DATA = KIT / "data"
# torchvision's file names (studylib.models.weights.WEIGHTS): the next check would run the papers' own nets
PAPER_WEIGHTS = ("resnet50", "resnet18", "efficientnet_b0")


# --- the summary ---------------------------------------------------------------------------------------------

def add_to_summary(path: str | None, key: str, value) -> None:
    """Put `value` under `key` in the JSON summary at `path` (atomically); nothing when path is None."""
    if not path:
        return
    from studylib.io import write_text
    p = Path(path)
    data = json.loads(p.read_text()) if p.is_file() else {}
    data[key] = value
    write_text(p, json.dumps(data, indent=1, default=str) + "\n")  # default=str: a path, a dtype


def say(text: str = "") -> None:
    print(text, flush=True)


# --- data -----------------------------------------------------------------------------------------------------

def check_data(smoke: bool, tmp: Path):
    """(train, val, where): the kit's FER2013 training rung and validation images, or (smoke) generated faces."""
    from studylib.data import fer2013, synthetic
    if smoke:
        synthetic.make_fer(tmp / "generated", n_per_class=(10, 5, 1), seed=0)
        load = lambda split: fer2013.load(tmp / "generated", split, cache_dir=tmp / "cache")  # noqa: E731
        return load("train"), load("val"), "generated faces (smoke)"
    return fer2013.load(KIT_DATA, "train"), fer2013.load(KIT_DATA, "val"), f"{KIT_DATA / 'fer2013' / fer2013.KIT}"


# --- step 0 ---------------------------------------------------------------------------------------------------

def _weights_dirs() -> list[Path]:
    """Where pretrained weights may be cached: torch hub's checkpoints (where studylib looks,
    `models.weights.search_dirs`: $STUDYLIB_WEIGHTS, else $TORCH_HOME / $XDG_CACHE_HOME / ~/.cache/torch), and
    Hugging Face's cache."""
    from studylib.models.weights import search_dirs
    hf = Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface"))
    return [*search_dirs(), hf]


def cached_weights() -> dict:
    """What pretrained weights the machine holds: every file in torch hub's and Hugging Face's caches (name,
    MiB), and torchvision's files for the papers' networks, each with its sha256 checked."""
    from studylib.io import sha256_file
    from studylib.models.weights import WEIGHTS
    listed, papers = {}, {}
    for d in _weights_dirs():
        if not d.is_dir():
            listed[str(d)] = "absent"
            continue
        files = sorted(p for p in d.rglob("*") if p.is_file())
        listed[str(d)] = [f"{p.relative_to(d)} ({p.stat().st_size / 2**20:.1f} MiB)" for p in files[:40]]
        if len(files) > 40:
            listed[str(d)].append(f"... {len(files) - 40} more")
    for arch in PAPER_WEIGHTS:
        for spec in WEIGHTS[arch]:
            for d in _weights_dirs():
                path = d / spec.file
                if path.is_file():
                    digest = sha256_file(path)
                    papers[spec.file] = {"path": str(path), "sha256": digest,
                                         "verified": digest.startswith(spec.sha256)}
    return {"folders": listed, "papers_weights": papers}


def step_env(args) -> int:
    """Step 0: the machine, torch and CUDA, studylib importable with this torch, the kit, cached weights."""
    import platform

    import torch
    out = {"python": platform.python_version(), "torch": torch.__version__, "cuda_build": torch.version.cuda,
           "cuda_available": torch.cuda.is_available()}
    if shutil.which("nvidia-smi"):
        q = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total,memory.used",
                            "--format=csv,noheader"], capture_output=True, text=True, timeout=30)
        out["nvidia_smi"] = q.stdout.strip() or q.stderr.strip()
    if torch.cuda.is_available():
        free, total = torch.cuda.mem_get_info()
        out.update(device=torch.cuda.get_device_name(0), capability=".".join(map(str, torch.cuda.get_device_capability(0))),
                   free_gib=round(free / 2**30, 1), total_gib=round(total / 2**30, 1),
                   bf16=torch.cuda.is_bf16_supported())
    import torchvision

    import studylib.report  # noqa: F401  (every notebook imports it: papermill, ipywidgets, IPython, kornia)
    import studylib.study  # noqa: F401
    import studylib.train  # noqa: F401
    from studylib.report.records import library_versions
    out["torchvision"] = torchvision.__version__
    out["versions"] = library_versions()
    kit = {}
    if (KIT / "code.json").is_file():
        kit = json.loads((KIT / "code.json").read_text())
    out["kit"] = kit
    out["weights"] = cached_weights()
    for k in ("python", "torch", "cuda_build", "torchvision", "nvidia_smi", "device", "capability", "free_gib",
              "total_gib", "bf16"):
        if k in out:
            say(f"{k}: {out[k]}")
    say(f"kit built at commit {kit.get('commit', '?')[:12]}{' (dirty tree)' if kit.get('dirty') else ''}"
        if kit else "no .gpukit/code.json")
    for folder, files in out["weights"]["folders"].items():
        say(f"weights in {folder}: {files if isinstance(files, str) else (', '.join(files) or 'empty')}")
    for name, w in out["weights"]["papers_weights"].items():
        say(f"  {name}: sha256 {'checks' if w['verified'] else 'DOES NOT match its name'} ({w['path']}): "
            + ("the next check can run the papers' own network" if w["verified"] else "not usable"))
    if not out["weights"]["papers_weights"]:
        say("  none of torchvision's files for ResNet50 / ResNet18 / EfficientNet-B0: Lite0 stands in")
    add_to_summary(args.summary, "0_env", out)
    if not args.smoke and not torch.cuda.is_available():
        say("no CUDA device: the check needs one (steps 1-3 stop here)")
        return 2
    return 0


# --- step 1 ---------------------------------------------------------------------------------------------------

def step_determinism(args) -> int:
    """Step 1: one short fit (Lite0, 224 px, about 2,000 images, 2 epochs) twice with one seed under the
    deterministic settings, then once with the fast settings beside: metrics and weights' sha256 compared."""
    from studylib.data.splits import subsample
    from studylib.models import build_model
    from studylib.train import TrainConfig, fit, seed_everything
    from studylib.train.prefix_cache import state_sha256

    with tempfile.TemporaryDirectory() as tmp:
        train, val, where = check_data(args.smoke, Path(tmp))
    n, size, epochs = (48, 32, 1) if args.smoke else (2000, 224, 2)
    train = subsample(train, n)
    say(f"determinism: EfficientNet-Lite0 pretrained, everything trains, {len(train):,} train / {len(val):,} val "
        f"images at {size} px, {epochs} epoch(s), seed 0, augment mild ({where})")
    runs = {}
    for label, deterministic in (("deterministic", True), ("deterministic, again", True), ("fast", False)):
        seed_everything(0)
        model = build_model("efficientnet_lite0", train.num_classes, in_channels=train.channels, pretrained=True,
                            scope="all", image_size=size)
        cfg = TrainConfig(epochs=epochs, batch_size=32, lr=3e-4, augment="mild", image_size=size, seed=0,
                          monitor="val_macro_f1", deterministic=deterministic,
                          max_steps_per_epoch=3 if args.smoke else None)
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("always")
            res = fit(model, train, val, cfg)
        hist = res.history.drop(columns=["seconds"]).to_dict("records")
        runs[label] = {"history": hist, "weights_sha256": state_sha256(res.model), "best_epoch": res.best_epoch,
                       "seconds": round(time.perf_counter() - t0, 1), "numerics": res.speed,
                       "warnings": sorted({str(w.message)[:200] for w in caught
                                           if "deterministic" in str(w.message).lower()})}
        last = hist[-1]
        say(f"  {label:22s} {runs[label]['seconds']:5.1f}s  val acc {last['val_acc']:.4f} macro F1 "
            f"{last['val_macro_f1']:.4f} train loss {last['train_loss']:.6f}  weights {runs[label]['weights_sha256'][:16]}")
        for w in runs[label]["warnings"]:
            say(f"    warning: {w}")
    a, b, fast = runs["deterministic"], runs["deterministic, again"], runs["fast"]
    same = a["history"] == b["history"] and a["weights_sha256"] == b["weights_sha256"]
    out = {"identical": same, "fast_equals_deterministic": fast["weights_sha256"] == a["weights_sha256"],
           "runs": runs, "images": len(train), "image_size": size, "epochs": epochs}
    if not same:
        diff = [k for k in a["history"][-1] if a["history"][-1][k] != b["history"][-1][k]]
        out["differs_in"] = diff + (["weights"] if a["weights_sha256"] != b["weights_sha256"] else [])
    say(f"deterministic twice: {'IDENTICAL (metrics and weights)' if same else 'DIFFER: ' + ', '.join(out['differs_in'])}; "
        f"fast settings: {'the same weights' if out['fast_equals_deterministic'] else 'other weights (as expected: float rounding)'}, "
        f"{fast['seconds']:.1f}s vs {a['seconds']:.1f}s")
    add_to_summary(args.summary, "1_determinism", out)
    return 0 if same else 1


# --- step 2 ---------------------------------------------------------------------------------------------------

class GpuSampler:
    """GPU utilisation (%) sampled every 0.2 s in a thread while it is entered (NVML, else nvidia-smi)."""

    def __init__(self):
        self.samples, self._stop = [], threading.Event()

    def _read(self):
        try:
            import pynvml
            pynvml.nvmlInit()
            handle = pynvml.nvmlDeviceGetHandleByIndex(0)
            return lambda: pynvml.nvmlDeviceGetUtilizationRates(handle).gpu
        except Exception:
            if not shutil.which("nvidia-smi"):
                return None
            return lambda: float(subprocess.run(["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"],
                                                capture_output=True, text=True, timeout=5).stdout.split()[0])

    def _loop(self, read):
        while not self._stop.wait(0.2):
            try:
                self.samples.append(float(read()))
            except Exception:
                return

    def __enter__(self):
        read = self._read()
        self._thread = threading.Thread(target=self._loop, args=(read,), daemon=True) if read else None
        if self._thread:
            self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=2)

    def summary(self) -> dict | None:
        s = self.samples
        return {"mean": round(sum(s) / len(s), 1), "max": max(s), "n": len(s)} if s else None


def step_throughput(args) -> int:
    """Step 2: training img/s of full fine-tuning at 224 px (bf16 autocast, channels_last, the study's
    deterministic settings), Lite0 (pretrained) and ResNet50 (random init), host-fed vs device-resident
    images, with GPU utilisation sampled through each fit (its warm-up epoch included)."""
    from studylib.data.splits import subsample
    from studylib.models import build_model
    from studylib.train import TrainConfig, fit, seed_everything
    from studylib.train.prefix_cache import state_sha256

    with tempfile.TemporaryDirectory() as tmp:
        train, val, where = check_data(args.smoke, Path(tmp))
    size, n_val = (32, 16) if args.smoke else (224, 64)
    val = subsample(val, n_val)
    say(f"throughput: {len(train):,} training images a epoch at {size} px, batch 32, mild augmentation ({where}); "
        "epoch 1 warms up, epoch 2 is timed (its small validation included); GPU utilisation over both")
    rows = []
    for backbone, pretrained in (("efficientnet_lite0", True), ("resnet50", False)):
        for resident in (False, True):
            seed_everything(0)
            with contextlib.redirect_stdout(io.StringIO()):
                model = build_model(backbone, train.num_classes, in_channels=train.channels, pretrained=pretrained,
                                    scope="all", image_size=size)
            cfg = TrainConfig(epochs=2, batch_size=32, lr=1e-4, augment="mild", image_size=size, seed=0,
                              channels_last=True, resident=resident, max_steps_per_epoch=2 if args.smoke else None)
            sampler = GpuSampler()
            t0 = time.perf_counter()
            with sampler, contextlib.redirect_stdout(io.StringIO()):
                res = fit(model, train, val, cfg)
            hist = res.history
            seconds = float(hist["seconds"].iloc[-1])
            images = min(len(train), 2 * 32) if args.smoke else len(train)
            row = {"backbone": backbone, "pretrained": pretrained, "feed": "device-resident" if resident else "host-fed",
                   "img_per_s": round(images / seconds, 1), "epoch_s": round(seconds, 2),
                   "gpu_util": sampler.summary(), "numerics": {k: res.speed.get(k) for k in
                                                               ("amp_dtype", "channels_last", "resident", "deterministic")},
                   "wall_s": round(time.perf_counter() - t0, 1)}
            rows.append(row)
            util = row["gpu_util"]
            gpu = "n/a" if not util else "{mean:.0f}% mean, {max:.0f}% max".format(**util)
            settings = ", ".join(f"{k} {v}" for k, v in row["numerics"].items())
            say(f"  {backbone:18s} {row['feed']:16s} {row['img_per_s']:8.1f} img/s  epoch {seconds:6.2f}s  "
                f"GPU {gpu}  ({settings})")
            del model, res
    add_to_summary(args.summary, "2_throughput", {"rows": rows, "image_size": size, "images": len(train)})
    return 0


# --- step 3 ---------------------------------------------------------------------------------------------------

def _task_walls(out_dir: Path) -> dict:
    """{task: wall seconds} of the tasks the runner finished ok in out_dir (its state files)."""
    walls = {}
    for f in glob.glob(str(out_dir / "tasks" / "*.json")):
        try:
            entry = json.loads(Path(f).read_text())["entry"]
        except (OSError, ValueError, KeyError):
            continue
        if entry.get("status") == "ok":
            walls[entry["name"]] = float(entry.get("wall_s") or 0)
    return walls


def estimate_seed_task(out_dir: Path, seed0_task: str, wall0: float) -> float:
    """Seconds a later seed's task of a run should take, from its seed-0 task: the seed-0 wall less every
    search trial's seconds, plus the chosen trials' (a later seed fits each arm once, at the chosen rate)."""
    try:
        metrics = json.loads((out_dir / "results" / f"{seed0_task}.json").read_text())["metrics"]
    except (OSError, ValueError, KeyError):
        return 0.6 * wall0
    trials = chosen = 0.0
    for arm in metrics.values():
        sel = (arm or {}).get("selection") or {}
        for t in sel.get("trials", []):
            trials += float(t.get("seconds") or 0)
            if t.get("lr") == sel.get("lr"):
                chosen += float(t.get("seconds") or 0)
    if not trials:
        return 0.6 * wall0
    return max(1.0, wall0 - trials) + chosen


def plan_study(smoke: bool, data_dir: str | None) -> tuple[list[int], dict]:
    """(seeds in order, {seed: [task names]}) of the profile's training tasks; the scorecard apart."""
    from studylib.study.profile import load_profile
    prof = load_profile(PROFILE, data_dir=data_dir, smoke=smoke)
    by_seed: dict[int, list] = {}
    for t in prof.tasks:
        if t.notebook != "06_scorecard":
            by_seed.setdefault(t.seed, []).append(t.name)
    return sorted(by_seed), by_seed


def _stop(proc, grace_s: float) -> int:
    """SIGTERM to the runner (it stops its tasks' processes and reports them interrupted), SIGKILL grace_s
    later (its workers then exit with it); the exit code."""
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def _run_studylib(args_list: list[str], limit_s: float, grace_s: float = 15) -> tuple[int, float]:
    """`python -m studylib run ...`, stopped at limit_s (and when this process is sent SIGTERM, as
    `timeout` does); (exit code, seconds)."""
    cmd = [sys.executable, "-m", "studylib", "run", *args_list]
    say(f"$ studylib run {' '.join(args_list)}   (limit {limit_s:.0f}s)")
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT)

    def on_term(signum, frame):
        say("gpu_check.py: SIGTERM, stopping the runner")
        _stop(proc, grace_s)
        raise SystemExit(143)
    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        code = proc.wait(timeout=max(1.0, limit_s))
    except subprocess.TimeoutExpired:
        say(f"time guard: stopping it at {limit_s:.0f}s (SIGTERM)")
        code = _stop(proc, grace_s)
    finally:
        signal.signal(signal.SIGTERM, previous)
    return code, time.perf_counter() - t0


def step_study(args) -> int:
    """Step 3: the profile's tasks through `studylib run --executor local`, seed by seed: every size's seed 0
    at once (they share the GPU), then seed 1's, then seed 2's, a later seed's task dropped when its estimate
    (from its seed 0's record and wall time) would pass the deadline; every invocation stopped at the
    deadline whatever its estimate. Then the scorecard, where great_tables is installed."""
    out_dir = Path(args.out_dir).resolve()
    common = ["--profile", PROFILE, "--executor", "local", "--workers", str(args.workers), "--out-dir", str(out_dir)]
    common += ["--smoke"] if args.smoke else []
    common += ["--data-dir", args.data_dir] if args.data_dir else []
    seeds, by_seed = plan_study(args.smoke, args.data_dir)
    run_of = lambda name: name.rsplit("--seed", 1)[0]  # noqa: E731
    first = {run_of(n): n for n in by_seed[seeds[0]]}
    done, dropped, invocations, t_start = [], [], [], time.time()

    def invoke(pattern: str, names: list[str]) -> None:
        code, secs = _run_studylib([*common, "--only", pattern], args.deadline - time.time())
        invocations.append({"only": pattern, "exit": code, "seconds": round(secs, 1)})
        walls = _task_walls(out_dir)
        done.extend(n for n in names if n in walls)
        dropped.extend(n for n in names if n not in walls)

    for seed in seeds:
        names, left = by_seed[seed], args.deadline - time.time()
        if seed == seeds[0]:
            if left > 20:
                invoke(f"*--seed{seed}", names)
            else:
                dropped.extend(names)
            continue
        walls = _task_walls(out_dir)
        est = {n: estimate_seed_task(out_dir, first[run_of(n)], walls[first[run_of(n)]])
               for n in names if first.get(run_of(n)) in walls}
        keep = [n for n in names if n in est and 1.15 * est[n] + 15 <= left]
        for n in names:
            if n not in keep:
                dropped.append(n)
                say(f"time guard: dropping {n} (" + (f"estimated {est[n]:.0f}s, {left:.0f}s left" if n in est
                                                     else "its seed 0 did not finish") + ")")
        if keep == names:
            invoke(f"*--seed{seed}", names)
        else:  # only some fit: one at a time, in the profile's order (the claim-bearing run first)
            for n in keep:
                if 1.15 * est[n] + 15 <= args.deadline - time.time():
                    invoke(n, [n])
                else:
                    dropped.append(n)
    scorecard = {"ran": False}
    try:
        import great_tables  # noqa: F401
    except ImportError:
        scorecard["why"] = ("great_tables is not in the kit (bench/gpu_kit.py NOT_CARRIED): render it where the "
                            f"records land: studylib run --profile {PROFILE} --only 06_scorecard --executor local")
        say(f"scorecard: {scorecard['why']}")
    else:
        left = args.deadline + args.scorecard_s - time.time()
        if done and left > 10:
            code, secs = _run_studylib([*common, "--only", "06_scorecard"], left)
            scorecard = {"ran": True, "exit": code, "seconds": round(secs, 1)}
    out = {"done": done, "dropped": dropped, "invocations": invocations, "scorecard": scorecard,
           "seconds": round(time.time() - t_start, 1), "out_dir": str(out_dir)}
    say(f"study: {len(done)} task(s) done ({', '.join(done) or 'none'}); not run or not finished: "
        f"{', '.join(dropped) or 'none'}")
    add_to_summary(args.summary, "3_study", out)
    return 0 if done and all(r["exit"] == 0 for r in invocations) and scorecard.get("exit", 0) == 0 else 1


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("step", choices=["env", "determinism", "throughput", "study"])
    ap.add_argument("--smoke", action="store_true", help="CPU, tiny, generated data")
    ap.add_argument("--summary", help="JSON file each step adds its section to")
    ap.add_argument("--deadline", type=float, default=time.time() + 240, help="study: epoch seconds to end by")
    ap.add_argument("--scorecard-s", type=float, default=0, help="study: seconds past the deadline the scorecard may use")
    ap.add_argument("--out-dir", default=str(ROOT / "reports" / PROFILE), help="study: the reports folder")
    ap.add_argument("--data-dir", default=None, help="study: the data folder (default: the profile's)")
    ap.add_argument("--workers", type=int, default=3, help="study: tasks at once (they share the GPU)")
    args = ap.parse_args(argv)
    return {"env": step_env, "determinism": step_determinism, "throughput": step_throughput,
            "study": step_study}[args.step](args)


if __name__ == "__main__":
    sys.exit(main())
