"""Two scorecards side by side, claim by claim: what a new render changed (prints markdown; not a test).

For each claim row of either scorecard (`results/06_scorecard.json`): the verdict, the estimate with its
interval and n, and the regime (input size, epochs, what trains) of each, and whether the verdict moved; a
sensitivity rung's row is shown beside its claim. Used for a render's closing note: why a verdict changed
is read from the regime and budget columns.

    python bench/compare_scorecards.py reports/cpu reports/cpu-next
"""
from __future__ import annotations

import json
import sys
from pathlib import Path


def rows(folder: Path) -> dict:
    card = json.loads((folder / "results" / "06_scorecard.json").read_text())
    return {(r["id"], r.get("run") if r.get("sensitivity") else None): r for r in card["metrics"]["claims"]}


def cell(r: dict | None) -> str:
    if r is None:
        return "—"
    ci = r.get("ci") or []
    est = f"{r['estimate']:.3f}" if isinstance(r.get("estimate"), (int, float)) else "—"
    interval = f" [{ci[0]:.3f}, {ci[1]:.3f}]" if len(ci) == 2 else ""
    flag = " · budget-limited" if r.get("budget_limited") else ""
    return f"**{r['verdict']}**{flag}: {est}{interval}, n {r.get('n', 0)}; {r.get('regime') or '—'}"


def main(argv=None) -> None:
    argv = argv or sys.argv[1:]
    old, new = (rows(Path(a)) for a in argv[:2])
    print(f"| claim | {argv[0]} | {argv[1]} | moved |\n|---|---|---|---|")
    for key in list(dict.fromkeys([*old, *new])):
        a, b = old.get(key), new.get(key)
        moved = "" if a and b and a["verdict"] == b["verdict"] else "yes"
        name = key[0] + (f" ({key[1]}, sensitivity)" if key[1] else "")
        print(f"| {name} | {cell(a)} | {cell(b)} | {moved} |")


if __name__ == "__main__":
    main()
