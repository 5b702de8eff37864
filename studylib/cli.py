"""Command line: `studylib data check`, `studylib data make-demo`, `studylib run`, `studylib diff`, `studylib judge`."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import paths


def _data_check(args) -> int:
    from .data import check
    text, ok = check.report(args.data_dir)
    print(text)
    return 0 if ok else 1


def _data_make_demo(args) -> int:
    from .data import synthetic
    out = synthetic.make_demo_data(args.out, seed=args.seed)
    print(f"Generated demo data in {out}")
    return 0


def _run(args) -> int:
    from .runner import run_profile
    return run_profile(args.profile, only=args.only, data_dir=args.data_dir, out_dir=args.out_dir,
                       allow_dirty=args.allow_dirty, workers=args.workers, address=args.address, force=args.force,
                       smoke=args.smoke, executor=args.executor)


# what the README's 'Beyond the papers' section says until reports/curves holds notebook 08's records
BEYOND_PENDING = ("Not rendered yet: `studylib run --profile curves` (params/curves.yaml, about 12 task-hours on "
                  "2 cores) writes reports/curves; `studylib results --write README.md` then fills this section.")


def _results(args) -> int:
    from .report import summary
    text = summary.markdown(Path(args.results_dir or paths.REPORTS / args.profile / "results"), args.profile)
    if args.write:
        print(f"wrote {summary.write_between_markers(args.write, text)}")
        # and each sweep whose markers the file holds (reports/<sweep>): a paragraph from its records
        doc = Path(args.write).read_text(encoding="utf-8")
        for folder in sorted(paths.REPORTS.glob("sweep-*")):
            markers = summary.sweep_markers(folder.name)
            if markers[0] in doc:
                summary.write_between_markers(args.write, summary.sweep_markdown(folder / "results", folder.name),
                                              markers)
                print(f"wrote {args.write}: the {folder.name} paragraph")
        # and the papers judged on the curves' records (`studylib judge reports/curves`) where its markers stand
        markers = summary.sweep_markers("papers-on-curves")
        if markers[0] in doc:
            text = summary.judgement_markdown(paths.REPORTS / "curves")
            summary.write_between_markers(args.write, text or "Not judged yet: `studylib judge reports/curves`.", markers)
            print(f"wrote {args.write}: the papers judged on the curves")
        # and the 'Beyond the papers' section (notebook 08's curves, reports/curves) where its markers stand
        markers = summary.sweep_markers("beyond-the-papers")
        if markers[0] in doc:
            from .report.curves_words import beyond_the_papers
            curves = paths.REPORTS / "curves" / "results"
            text = beyond_the_papers(curves, heading="") if curves.is_dir() else ""
            summary.write_between_markers(args.write, text.strip() or BEYOND_PENDING, markers)
            print(f"wrote {args.write}: the beyond-the-papers section")
    else:
        print(text)
    return 0


def _diff(args) -> int:
    import json
    from .report import diff
    for folder in (args.render_a, args.render_b):
        if not Path(folder).is_dir():
            print(f"error: {folder}: no such render folder", file=sys.stderr)
            return 2
    a, b = diff.read_render(args.render_a), diff.read_render(args.render_b)
    if args.json:
        print(json.dumps(diff.json_rows(a, b), indent=1, ensure_ascii=False))
    else:
        print(diff.markdown(a, b), end="")
    return 0


def _judge(args) -> int:
    from .report import judge
    if not Path(args.render).is_dir():
        print(f"error: {args.render}: no such render folder", file=sys.stderr)
        return 2
    try:
        written = judge.write_judgement(args.render, allow_mixed=args.allow_mixed)
    except judge.JudgeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    return 0


def _weights_fetch(args) -> int:
    from .models import fetch
    from .models.weights import WeightsError
    from .study.needs import pretrained_backbones
    from .study.profile import load_profile
    # data_dir "generated": the weights a profile needs do not depend on its data being here
    needs = pretrained_backbones(load_profile(args.profile, data_dir="generated"))
    print(f"Profile {args.profile}: pretrained weights for {', '.join(a for a, _ in needs) or 'no backbone'}")
    downloadable = 0
    for arch, run_dir in needs:
        try:
            got = fetch.fetch(arch, args.weights_dir or run_dir or None, source=args.source)
        except (WeightsError, ValueError, fetch.FetchError) as e:  # WeightsHashError is a ValueError
            print(f"error: {e}", file=sys.stderr)
            return 2
        downloadable += not got.how.startswith("ships with")
        print(f"  {arch}: {got.how}{' from ' + got.url if got.url else ''}\n    {got.path}\n"
              f"    sha256 {got.sha256} (verified)")
    if not downloadable:
        print(f"Profile {args.profile} needs no downloadable weights.")
    return 0


def _report_commands(sub) -> None:
    """The commands that read rendered records: results, diff, judge."""
    s = sub.add_parser("results", help="the results block of a rendered profile, as markdown from its records")
    s.add_argument("--profile", default="cpu", help="reports/<profile>/results (default: %(default)s)")
    s.add_argument("--results-dir", default=None, help="another records folder")
    s.add_argument("--markdown", action="store_true", help="markdown (the only format; for clarity in scripts)")
    s.add_argument("--write", default=None, metavar="FILE",
                   help="write between the results markers of FILE (e.g. README.md) instead of printing")
    s.set_defaults(func=_results)
    d = sub.add_parser("diff", help="two renders' verdicts side by side, claim by claim: each side's regime, "
                                    "estimate, interval and verdict, and whether it moved")
    d.add_argument("render_a", metavar="RENDER_A", help="a render folder (e.g. reports/cpu)")
    d.add_argument("render_b", metavar="RENDER_B", help="another (e.g. reports/curves)")
    how = d.add_mutually_exclusive_group()
    how.add_argument("--markdown", action="store_true", help="a markdown table (the default)")
    how.add_argument("--json", action="store_true", help="one JSON object: both renders and every row")
    d.set_defaults(func=_diff)
    j = sub.add_parser("judge", help="judge the paper files' claims over a ladder of sizes (papers 005, 006) on a "
                                     "curves render's records, nothing trained: writes judgement.json, "
                                     "judgement.html and papers/<id>.html in the render folder")
    j.add_argument("render", help="a curves render folder, e.g. reports/curves")
    j.add_argument("--allow-mixed", action="store_true", help="judge records of several commits together")
    j.set_defaults(func=_judge)


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="studylib", description="Transfer-learning study: data and reports")
    sub = p.add_subparsers(dest="command", required=True)
    data = sub.add_parser("data", help="inspect or generate datasets").add_subparsers(dest="action", required=True)
    c = data.add_parser("check", help="which datasets are present, with verified checksums")
    c.add_argument("--data-dir", default=paths.default_data_dir(), help="data folder (default: %(default)s)")
    c.set_defaults(func=_data_check)
    m = data.add_parser("make-demo", help="write generated data laid out like the real sets")
    m.add_argument("out", help="folder to write")
    m.add_argument("--seed", type=int, default=0, help="generator seed (default: %(default)s)")
    m.set_defaults(func=_data_make_demo)
    r = sub.add_parser("run", help="execute a profile's tasks (papermill, on this machine or Ray), render HTML "
                                   "reports; resumable")
    r.add_argument("--profile", default="demo", help="params/<profile>.yaml (default: %(default)s)")
    r.add_argument("--only", default=None,
                   help="run only the tasks whose name matches this glob pattern (or contains it); matching none "
                        "is an error listing the runs")
    r.add_argument("--data-dir", default=None, help="data folder (default: the profile's)")
    r.add_argument("--out-dir", default=None, help="reports folder (default: reports/<profile>)")
    r.add_argument("--allow-dirty", action="store_true",
                   help="render from a tree with uncommitted changes (each record stores the diff)")
    r.add_argument("--workers", type=int, default=None,
                   help="tasks at once (default: the machine's or cluster's CPUs / the CPUs a task asks); each task "
                        "gets its share of the CPUs as torch threads, and of the GPUs (CUDA_VISIBLE_DEVICES)")
    r.add_argument("--executor", default="auto", choices=["auto", "local", "ray"],
                   help="local: tasks as subprocesses of this machine, no Ray; ray: a Ray instance (or the cluster "
                        "--address names); auto (default): ray where Ray is installed, else local")
    r.add_argument("--address", default=None,
                   help="join a running Ray cluster ('auto' or host:port) instead of starting a local instance")
    r.add_argument("--force", action="store_true", help="rerun the selected tasks even when they are done")
    r.add_argument("--smoke", action="store_true",
                   help="every run of the profile once at a tiny scale on generated data, random init where pretrained "
                        "weights are absent (into reports/<profile>-smoke): proves the code path, judges nothing")
    r.set_defaults(func=_run)
    _report_commands(sub)
    w = sub.add_parser("weights", help="pretrained weights").add_subparsers(dest="action", required=True)
    f = w.add_parser("fetch", help="download a profile's pretrained weights (torchvision's files), verify each sha256")
    f.add_argument("--profile", required=True, help="params/<profile>.yaml whose runs' weights to fetch")
    f.add_argument("--weights-dir", default=None,
                   help="where to put them (default: $STUDYLIB_WEIGHTS, else $TORCH_HOME/hub/checkpoints)")
    f.add_argument("--source", default=None, metavar="URL",
                   help="base URL replacing torchvision's, e.g. a mirror or file:///folder (default: "
                        "$STUDYLIB_WEIGHTS_SOURCE, else download.pytorch.org as torchvision does)")
    f.set_defaults(func=_weights_fetch)
    return p


def main(argv=None) -> int:
    args = get_parser().parse_args(argv)
    try:
        return args.func(args)
    except Exception as e:  # one clear line for expected input errors, not a traceback
        from .data.base import DataError
        from .io import WriteError
        from .study.schema import ParamsError
        from .runner import DirtyTreeError, RunRefused
        if isinstance(e, (DataError, ParamsError, DirtyTreeError, RunRefused, WriteError)):
            print(f"error: {e}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
