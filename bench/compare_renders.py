"""Compare the metrics (and claim figures) of two renders of a profile, record by record, to 1e-6.

Used to show that a reshape changed no number. Usage:
    STUDYLIB_COMPARE_SEED=1234 PYTHONPATH=bench/fixseed studylib run --profile demo --out-dir /tmp/a   # before
    STUDYLIB_COMPARE_SEED=1234 PYTHONPATH=bench/fixseed studylib run --profile demo --out-dir /tmp/b   # after
    python bench/compare_renders.py /tmp/a /tmp/b
bench/fixseed/sitecustomize.py pins torch's process seed, which before the seeding fix decided the initial
weights of models built before `fit` (torch draws a new default seed in every process).
"""
import json, math, sys
from pathlib import Path
RENAME = {"none": "all", "new_layers_only": "new_layers", "none + seed003 augmentation": "all + seed003 augmentation"}
SKIP = {"seconds", "train s"}

def flat(obj, prefix=""):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from flat(v, f"{prefix}/{RENAME.get(k, k)}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from flat(v, f"{prefix}[{i}]")
    else:
        yield prefix, obj

a_dir, b_dir = Path(sys.argv[1]), Path(sys.argv[2])
worst, n, missing = 0.0, 0, []
for pa in sorted(a_dir.glob("results/*.json")):
    pb = b_dir / "results" / pa.name
    ra, rb = json.loads(pa.read_text()), json.loads(pb.read_text())
    fa = {k: v for k, v in flat(ra["metrics"], "metrics") if k.rsplit("/", 1)[-1] not in SKIP}
    fb = {k: v for k, v in flat(rb["metrics"], "metrics") if k.rsplit("/", 1)[-1] not in SKIP}
    fa.update({f"claim[{i}]/our_value": c.get("estimate", c.get("our_value")) for i, c in enumerate(ra["claims"])})
    fb.update({f"claim[{i}]/our_value": c.get("estimate", c.get("our_value")) for i, c in enumerate(rb["claims"])})
    run_worst, run_n = 0.0, 0
    for k, va in fa.items():
        if k not in fb:
            missing.append(f"{pa.stem}:{k}"); continue
        vb = fb[k]
        if isinstance(va, (int, float)) and isinstance(vb, (int, float)) and not isinstance(va, bool):
            d = abs(va - vb) if not (va is None or vb is None) else 0
            run_worst, run_n = max(run_worst, d), run_n + 1
        elif va != vb:
            print(f"  {pa.stem}: {k}: {va!r} != {vb!r}")
    print(f"{pa.stem:34s} {run_n:5d} numbers compared, max |diff| {run_worst:.3g}")
    worst, n = max(worst, run_worst), n + run_n
print(f"ALL: {n} numbers, max |diff| {worst:.3g}; {len(missing)} keys only in the first render"
      + (f" (e.g. {missing[:3]})" if missing else ""))
