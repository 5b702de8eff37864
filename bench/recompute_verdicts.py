"""Recompute the committed renders' verdicts with this commit's code and print them beside the committed ones
(issue 48: typed verdicts changed no verdict). Nothing is written: the cpu scorecard's rows are judged again
in memory from reports/cpu's records (as notebook 06 does), the curves judgement from reports/curves'
records (`studylib judge` without writing). Usage: python bench/recompute_verdicts.py
"""
import json
import sys

from studylib import paths
from studylib.report import scorecard
from studylib.report.judge import judge_render

KEYS = ("verdict", "estimate", "ci", "p_adjusted", "budget_limited", "flags", "n", "indicative")


def same(a, b) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def compare(name: str, committed: list[dict], fresh: list[dict]) -> int:
    print(f"\n{name}: {len(committed)} committed rows, {len(fresh)} recomputed")
    print(f"{'claim':40} {'run':36} {'committed':28} {'recomputed':28} equal")
    bad = 0
    for c, f in zip(committed, fresh):
        ok = c["id"] == f["id"] and all(same(c.get(k), f.get(k)) for k in KEYS)
        bad += not ok
        fmt = lambda r: f"{r['verdict'][:12]} {r['estimate'] if r['estimate'] is None else round(r['estimate'], 4)}"  # noqa: E731
        print(f"{c['id']:40} {(c.get('run') or '—')[:36]:36} {fmt(c):28} {fmt(f):28} {'yes' if ok else 'NO'}")
    bad += abs(len(committed) - len(fresh))
    print(f"{name}: {'every row equal in ' + ', '.join(KEYS) if not bad else f'{bad} rows differ'}")
    return bad


def main() -> int:
    cpu = paths.REPORTS / "cpu"
    record = json.loads((cpu / "results" / "06_scorecard.json").read_text())
    recs = scorecard.read(cpu / "results", False)
    card, _ = scorecard.evaluate(recs, record["profile"])
    fresh = [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()} for r in card.to_dict("records")]
    bad = compare("reports/cpu scorecard (06_scorecard.json)", record["metrics"]["claims"], fresh)
    curves = paths.REPORTS / "curves"
    judged = json.loads((curves / "judgement.json").read_text())
    bad += compare("reports/curves judgement (judgement.json)", judged["metrics"]["claims"],
                   judge_render(curves)["metrics"]["claims"])
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
