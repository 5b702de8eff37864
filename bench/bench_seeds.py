"""Benchmark: seeds per hour, one seed at a time versus the replicate path, for the claim-bearing runs of a profile.

Prints figures; not a test. For every arm of every claim-bearing run of the profile (params/cpu.yaml by
default), each measured in its own fresh process, exactly as the notebook builds it (the run's resolved
parameters, `study.arms.build_arm_model`, `study.experiments.train_config`, `train.fit`, then the test split
scored once):

  one at a time   one process with every core's threads (2 here), seeds one after another, the frozen prefix
                  cached in that process only (frozen_prefix 'memory': what each seed did before the shared
                  cache);
  replicate path  K processes at once with one thread each (`train.threads.thread_plan`: OMP_NUM_THREADS=1,
                  OMP_WAIT_POLICY=PASSIVE), the layout the Ray runner gives K seeds, and the shared disk
                  cache of frozen-prefix outputs (frozen_prefix 'auto': one process builds, the others wait
                  and read it). The K processes start their timed part together.

A seed's full cost is extrapolated from a measured fraction f of it: f of the training, validation and test
images for 2 epochs; seed time = (setup incl. a shared prefix cache + epoch 1 (warm-up; an in-process
cache fills during it) + (epochs - 1) x epoch 2 + test) / f. The printout says which fraction each row measured. Notebook start, data
loading and rendering are not in it (about half a minute a task, added once per task to the projection).

    python bench/bench_seeds.py [--profile cpu] [--data-dir ../shared/data] [--runs PATTERN] [--k-cnn 5]

Uses real data from --data-dir when present, generated data otherwise. The machine may be shared: figures
are wall-clock and move with other load (the load average is printed).
"""
from __future__ import annotations

import argparse
import contextlib
import fnmatch
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TASK_OVERHEAD_S = 30  # papermill kernel start, imports, data load from the parsed cache, HTML: per task


def load_run(profile: str, run_name: str, data_dir: str, seed: int):
    """(run, resolved params at `seed`, splits as the notebook loads them)."""
    from studylib.data import splits as S
    from studylib.study import experiments, profile as P
    prof = P.load_profile(profile, data_dir=data_dir)
    run = next(r for r in prof.tasks if r.name == run_name)
    p = experiments.resolve(run.notebook, {**run.params, "seed": seed})
    if run.notebook in ("04_frozen_vs_full", "05_partial_vs_full"):
        from studylib.study.arms import experiment_splits
        splits = experiment_splits(p, data_dir)
    elif run.notebook == "02_features_svm_vs_finetune":
        splits = S.load_splits(p.dataset, data_dir, S.LoadOptions(fractions=p.split_fractions))
    else:  # 03: as the notebook loads it (the split never depends on the seed)
        splits = S.load_splits("ferplus", data_dir, label_mode=p.label_mode, num_classes=p.num_classes,
                               max_train=p.max_train)
    return run, p, splits


def worker(spec: dict) -> dict:
    """One seed of one arm, cut to a fraction: runs in its own process (threads set by its environment)."""
    import dataclasses
    import numpy as np
    import torch
    from studylib.study import arms as A, experiments
    from studylib.train import evaluate, fit, seed_everything
    with contextlib.redirect_stdout(io.StringIO()):
        run, p, splits = load_run(spec["profile"], spec["run"], spec["data_dir"], spec["seed"])
        arm = p.arms[spec["arm"]]
        real = experiments.train_config(p, arm)
        frac = min(1.0, spec["images"] / len(splits["train"]))
        rng = np.random.default_rng(0)  # the same fraction of samples in every process (one shared cache key)
        cut = {k: v.subset(np.sort(rng.choice(len(v), max(min(len(v), 2 * real.batch_size), round(frac * len(v))),
                                              replace=False))) for k, v in splits.items()}
        seed_everything(spec["seed"])
        model = A.build_arm_model(p, arm, cut)
        cfg = dataclasses.replace(real, epochs=2, frozen_prefix=spec["frozen_prefix"], num_threads=spec["threads"],
                                  device="cpu")
    ready, go = Path(spec["sync"]) / f"ready-{spec['id']}", Path(spec["sync"]) / "go"
    ready.touch()
    while not go.exists():
        time.sleep(0.02)
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        res = fit(model, cut["train"], cut["val"], cfg)
        t_fit = time.perf_counter() - t0
        evaluate(res.model, cut["test"], cfg)
    t_test = time.perf_counter() - t0 - t_fit
    epochs = res.history["seconds"].tolist()
    setup = t_fit - sum(epochs)
    f = len(cut["train"]) / len(splits["train"])
    # epoch 1 as measured (warm-up, and an in-process prefix cache fills during it), the others at epoch 2's pace
    seed_s = (setup + epochs[0] + (real.epochs - 1) * epochs[-1] + t_test) / f
    return dict(seed_s=seed_s, f=f, setup=setup, epoch=epochs[-1], test=t_test, epochs=real.epochs,
                cache=res.speed.get("prefix_cache") or res.speed["frozen_prefix"], threads=torch.get_num_threads(),
                n_train=len(splits["train"]))


def launch(specs: list[dict], env: dict, sync: Path) -> list[dict]:
    """Start one process per spec, release them together once all are set up, collect their results."""
    for p in sync.glob("*"):
        p.unlink()
    procs = []
    for i, spec in enumerate(specs):
        spec = dict(spec, id=i, sync=str(sync))
        procs.append(subprocess.Popen([sys.executable, __file__, "--worker", json.dumps(spec)],
                                      env={**os.environ, **env}, stdout=subprocess.PIPE, text=True))
    while len(list(sync.glob("ready-*"))) < len(specs) and all(p.poll() is None for p in procs):
        time.sleep(0.05)
    (sync / "go").touch()
    out = []
    for p in procs:
        text, _ = p.communicate()
        if p.returncode:
            raise RuntimeError(f"worker failed ({p.returncode}); see its error above")
        out.append(json.loads(text.strip().splitlines()[-1]))
    return out


def claim_bearing(profile: str, data_dir: str, pattern: str):
    """(run name, [(arm name, search trials)]) of every run of the profile that tests a registry claim and
    trains a model; search trials: the arm's lr grid beyond the rate seed 0 then keeps (`study.search`)."""
    from studylib.study import claims, experiments, profile as P
    prof = P.load_profile(profile, data_dir=data_dir)
    out, seen = [], set()
    for run in prof.tasks:
        if run.run in seen:  # one task per run: its seeds cost the same (the projection multiplies)
            continue
        seen.add(run.run)
        p = experiments.resolve(run.notebook, run.params)
        if claims.for_run(run.notebook, p) and fnmatch.fnmatch(run.name, pattern):
            out.append((run.name, [(a.name, max(len(a.lr_grid or ()) - 1, 0)) for a in getattr(p, "arms", [])]))
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--profile", default="cpu")
    ap.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"),
                    help="real data folder (default ../shared/data); generated stand-ins when absent")
    ap.add_argument("--runs", default="*", help="only runs whose name matches this glob")
    ap.add_argument("--k-cnn", type=int, default=5, help="concurrent seeds of paper 003's CNN (the issue: 5)")
    ap.add_argument("--seeds", type=int, default=5, help="seeds per run in the projected profile")
    ap.add_argument("--images", type=int, default=0,
                    help="training images measured per arm (default: by image size, about 10 s of work each)")
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return

    import torch
    from studylib.train import threads
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-seeds-") as tmp:
        tmp = Path(tmp)
        data_dir = args.data_dir
        if not (Path(data_dir) / "PROVENANCE.md").is_file():
            from studylib.data import synthetic
            data_dir = str(synthetic.make_demo_data(tmp / "data", seed=0))
            what = "generated stand-ins (no real data under --data-dir)"
        else:
            what = f"real data from {args.data_dir}"
        sync = tmp / "sync"
        sync.mkdir()
        cpus = threads.usable_cpus()
        print(f"torch {torch.__version__}, {cpus} usable CPUs, load average {os.getloadavg()[0]:.1f} at start; {what}")
        print("one at a time: 1 process x %d threads, in-process prefix cache; replicate: K processes x 1 thread "
              "(OMP_WAIT_POLICY=PASSIVE), shared disk prefix cache\n" % cpus)
        env_cache = {"STUDYLIB_PREFIX_CACHE": str(tmp / "prefix-cache")}  # starts empty: the first seed builds
        rows = []
        print(f"{'run':34s} {'arm':28s} {'meas.':>6s} {'cache':>14s} {'1-at-a-time':>12s} {'replicate':>17s} "
              f"{'ratio':>6s}")
        print(f"{'':34s} {'':28s} {'f':>6s} {'(1x / Kx)':>14s} {'s/seed  /h':>12s} {'K  s/seed  /h':>17s}")
        for run_name, arm_names in claim_bearing(args.profile, data_dir, args.runs):
            for i, (arm, trials) in enumerate(arm_names):
                base = dict(profile=args.profile, run=run_name, arm=i, data_dir=data_dir, seed=0)
                k = args.k_cnn if run_name.startswith("03") else cpus
                images = args.images or (2048 if run_name.startswith("03") else 512)
                if run_name.startswith(("02", "05_partial_vs_full-plants")):
                    images = args.images or 48  # 224x224 / 96x96 images: a few times the work per image
                one = launch([dict(base, images=images, threads=cpus, frozen_prefix="memory")],
                             {**env_cache, **threads.thread_plan(cpus, 1).env}, sync)[0]
                plan = threads.thread_plan(cpus, k)
                rep = launch([dict(base, seed=s, images=images, threads=plan.threads, frozen_prefix="auto")
                              for s in range(k)], {**env_cache, **plan.env}, sync)
                wall = max(r["seed_s"] for r in rep)
                per_h_one, per_h_rep = 3600 / one["seed_s"], k * 3600 / wall
                caches = "/".join(sorted({r["cache"] for r in rep}))
                rows.append(dict(run=run_name, arm=arm, one=one["seed_s"], rep_task=sum(r["seed_s"] for r in rep) / k,
                                 k=k, wall=wall, trials=trials))
                print(f"{run_name[:34]:34s} {arm[:28]:28s} {one['f']:6.3f} {one['cache'][:6] + ' / ' + caches:>14s} "
                      f"{one['seed_s']:6.0f} {per_h_one:5.1f} {k:3d} {wall:6.0f} {per_h_rep:5.1f} "
                      f"{per_h_rep / per_h_one:5.2f}x", flush=True)
        # projection: every claim-bearing run x seeds; one at a time in sequence, or cpus tasks at once
        runs = {r["run"] for r in rows}
        # an arm with an lr grid also trains its other rates once, at seed 0 (the chosen one is seed 0's model)
        seq = sum((args.seeds + r["trials"]) * r["one"] for r in rows) + args.seeds * len(runs) * TASK_OVERHEAD_S
        # replicate: each task's measured time under concurrency, cpus at a time (Ray keeps every core busy)
        per_task = sum((args.seeds + r["trials"]) * r["rep_task"] * (min(r["k"], cpus) / r["k"]) for r in rows)
        par = (per_task + args.seeds * len(runs) * TASK_OVERHEAD_S) / cpus
        print(f"\nprojected wall time, {args.seeds} seeds of each of {len(runs)} claim-bearing training runs of "
              f"params/{args.profile}.yaml ({TASK_OVERHEAD_S} s per task for kernel start, data, HTML; 01_data_audit "
              f"and 06_scorecard once, about a minute, not included; each lr grid's other rates trained once; every epoch "
              f"up to the cap, so early stopping can only shorten it):")
        print(f"  one seed at a time: {seq / 3600:5.2f} h   replicate path ({cpus} tasks x 1 thread at a time): "
              f"{par / 3600:5.2f} h   ({seq / par:4.2f}x)")
        print(f"extrapolated from measured fractions (column f) of each seed: 2 epochs each, seed time = (setup + "
              f"epoch 1 + (epochs - 1) x epoch 2 + test) / f. Benchmark wall time {time.perf_counter() - t_start:.0f} s; load "
              f"average {os.getloadavg()[0]:.1f} at the end.")


if __name__ == "__main__":
    main()
