"""Committed pages rebuilt answer-first from their records, nothing trained or judged again:
`python -m studylib.report.rebuild reports/cpu reports/curves`.

A render's page is nbconvert's HTML of the executed notebook, one cell per notebook cell in order. Rebuilding
takes each cell's role from the notebook's tags at this commit (`answer.roles_of`; papermill's injected
parameters cell after the parameters cell), puts the claims of the page's record first (`answer.claim_boxes`,
with the scorecard's row where the render has one from the same commit), and folds method and provenance.
Every figure and number stays the render's; the page says which commit rebuilt it and which its records are
of. Records, predictions and the index's JSON are never written (their hashes prove it).
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

from .. import paths
from ..io import write_text
from . import answer, lighten, publish

__all__ = ["JUDGED", "notebook_roles", "rebuild_folder", "rebuild_page", "redraw_scorecard", "main"]

# What a claim row's judgement is: a redrawn scorecard must give every row these, as its render's record did.
JUDGED = ("id", "run", "verdict", "estimate", "ci", "p_adjusted", "budget_limited", "flags", "n", "indicative")


def notebook_roles(notebook: str, page_cells: int, notebooks: Path = paths.NOTEBOOKS) -> list[str]:
    """The roles of a page's cells, from its notebook's tags; a page of papermill has one cell more (the
    injected parameters, after the parameters cell). A page whose cells the notebook does not account for
    is an error naming both."""
    cells = json.loads((notebooks / f"{notebook}.ipynb").read_text())["cells"]
    roles = answer.roles_of(cells)
    if page_cells == len(roles) + 1:
        at = next((i for i, c in enumerate(cells) if "parameters" in c.get("metadata", {}).get("tags", [])), 0)
        roles.insert(at + 1, "")
    if page_cells != len(roles):
        raise ValueError(f"notebooks/{notebook}.ipynb has {len(cells)} cells and its page {page_cells}: the page "
                         "was rendered from another notebook; render it again instead of rebuilding it")
    return roles


def _size_curves(record: dict):
    import pandas as pd
    from .curves import size_curves
    table = pd.DataFrame(record["metrics"].get("curves") or [])
    return size_curves(table, ", ".join(dict.fromkeys(table["dataset"])) if len(table) else "")


# Figures a rebuild draws again from the page's record, where this commit draws them otherwise (the curves'
# bands, once five to a panel, now small multiples): (notebook, the call its cell makes) -> figure of record.
REDRAWN = {("08_curves", "view.size_curves("): _size_curves}


def redraw_figures(page: str, notebook: str, record: dict, notebooks: Path = paths.NOTEBOOKS) -> tuple[str, list[str]]:
    """The page with each figure of `REDRAWN` drawn again from its record (the cell's first image replaced,
    compressed as every figure is); the calls redrawn."""
    import base64

    from bs4 import BeautifulSoup
    from .lighten import compress_image
    from .widgets import figure_png
    wanted = {call: draw for (nb, call), draw in REDRAWN.items() if nb == notebook}
    if not wanted:
        return page, []
    sources = [c["source"] if isinstance(c["source"], str) else "".join(c["source"])
               for c in json.loads((notebooks / f"{notebook}.ipynb").read_text())["cells"]]
    soup = BeautifulSoup(page, "html.parser")
    cells = [c for c in soup.find("main").find_all("div", class_="jp-Cell", recursive=False)
             if "celltag_injected-parameters" not in c.get("class", [])]
    done = []
    for source, cell in zip(sources, cells):
        for call, draw in wanted.items():
            img = cell.find("img") if call in source else None
            fig = draw(record) if img is not None else None
            if fig is not None:
                import matplotlib.pyplot as plt
                mime, data = compress_image(figure_png(fig, dpi=80))
                plt.close(fig)
                img["src"] = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
                img.attrs.pop("width", None), img.attrs.pop("height", None)
                done.append(call.rstrip("("))
    return (str(soup), done) if done else (page, [])


def _cuts(profile_yaml: str) -> dict[str, list[str]]:
    """{run name: its cuts, the profile's own under ""} of a profile file's text."""
    import yaml
    spec = yaml.safe_load(profile_yaml) or {}
    out = {"": list(spec.get("cuts") or [])}
    out.update({r["name"]: list(r.get("cuts") or []) for r in spec.get("runs") or [] if "name" in r})
    return out


def reworded_cuts(record: dict) -> dict[str, str]:
    """{a cut as the render's profile worded it: as this commit's profile words it}, for the page's run and
    the profile-wide cuts: pairwise where both list as many, and only where a cut's words changed (a report
    states a setting as what it is; earlier profiles narrated earlier renders). {} without git or the file."""
    profile, commit = record.get("profile"), record.get("git_commit")
    now = paths.PARAMS / f"{profile}.yaml"
    then = subprocess.run(["git", "show", f"{commit}:params/{profile}.yaml"], cwd=paths.ROOT, capture_output=True,
                          text=True)
    if not profile or then.returncode != 0 or not now.is_file():
        return {}
    old, new = _cuts(then.stdout), _cuts(now.read_text())
    out = {}
    for key in ("", record.get("run_name") or ""):
        a, b = old.get(key, []), new.get(key, [])
        if len(a) == len(b):
            out.update({x: y for x, y in zip(a, b) if x != y})
    return out


# Sentences the reports' code wrote and words otherwise at this commit: a pointer to a document outside the
# repository became one to docs/METHOD.md.
REWORDED = {"(VERDICTS.md: one seed is never a verdict)": "(docs/METHOD.md, Replicates: one seed is never a verdict)"}
# An interval that includes zero was once said as "stops paying" (docs/METHOD.md, Equivalence forbids it):
# such a sentence is said again from the record's own rows of the gain, as report.curves_words words them.
STOPS_PAYING = re.compile(r"pretraining pays up to [\d,]+ training images and stops paying from [\d,]+ "
                          r"\(from there the interval of its gain includes zero or lies below it\)")


def _curves_rewords(page: str, record: dict) -> dict[str, str]:
    """{an old pretraining sentence of the page: the same rows of the record worded now}, for a curves
    summary whose page holds one (one dataset a record)."""
    rows = [r for part in (record.get("metrics") or {}).get("pretraining") or [] for r in part
            if r.get("metric") == "macro F1"]
    old = STOPS_PAYING.search(page)
    if not rows or old is None:
        return {}
    import pandas as pd
    from .curves_words import _pretraining_sentence
    return {old.group(0): _pretraining_sentence(pd.DataFrame(rows).sort_values("training images"))}


def _reword(page: str, record: dict) -> tuple[str, bool]:
    import html
    changed = False
    for old, new in {**reworded_cuts(record), **REWORDED, **_curves_rewords(page, record)}.items():
        for a, b in ((old, new), (html.escape(old, quote=False), html.escape(new, quote=False))):
            if a in page:
                page, changed = page.replace(a, b), True
    return page, changed


def _head_commit() -> str:
    done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=paths.ROOT, capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else "unknown"


def rebuild_page(page: Path, commit: str = "") -> bool:
    """One page rebuilt in place (written atomically); False when it has no record, is no notebook's page
    (the index), or is already answer-first."""
    out = page.parent
    record = answer.record_of(out / "results", page.stem)
    if record is None or not record.get("notebook"):
        return False
    text = page.read_text(encoding="utf-8")
    from bs4 import BeautifulSoup
    main = BeautifulSoup(text, "html.parser").find("main")
    if main is None or main.find(id=answer.ANSWER_ID) is not None:
        return False
    n_cells = len(main.find_all("div", class_="jp-Cell", recursive=False))
    roles = notebook_roles(record["notebook"], n_cells)
    if "header" not in roles:
        return False
    text, redrawn = redraw_figures(text, record["notebook"], record)
    text, reworded = _reword(text, record)
    again = (f" except the figure of {', '.join(redrawn)}, drawn again here from the record's own table"
             if redrawn else "") + ("; what this run changes, and the pointer to the method, worded as this "
                                    "commit's profile and code word them" if reworded else "")
    stamp = (f"This page was rebuilt answer-first at commit {(commit or _head_commit())[:12]} "
             f"(python -m studylib.report.rebuild) from the record of commit {str(record.get('git_commit'))[:12]}, "
             f"whose render drew every figure and number on it{again}; nothing was trained or judged again.")
    pages, dirs = publish.hidden_links(out, page.name)
    rebuilt = answer.answer_first(text, roles, answer.page_answer(out, record), stamp)
    write_text(page, lighten.lighten_html(rebuilt, pages, dirs))
    return True


def _judged(record: dict) -> list[tuple]:
    return sorted(tuple(json.dumps(r.get(k), sort_keys=True) for k in JUDGED)
                  for r in record["metrics"]["claims"])


def redraw_scorecard(out, log=print) -> bool:
    """The render's scorecard page drawn again by this commit's notebook 06 from the render's records (in a
    temporary folder: the render's scorecard record stays its own), refused unless it judges every claim row
    as the committed record did (`JUDGED`); False when the folder has no scorecard."""
    import shutil
    import tempfile

    import nbformat
    import papermill as pm
    from .kernel import papermill_kwargs
    from .render import reader_notebook
    from .template import export_html
    out, name = Path(out).resolve(), answer.SCORECARD.removesuffix(".html")
    committed = answer.record_of(out / "results", name)
    if committed is None:
        return False
    # a folder beside the render's, at its depth, so that the page's relative links (docs/METHOD.md) hold
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".redraw-{out.name}-") as tmp:
        tmp = Path(tmp)
        shutil.copytree(out / "results", tmp / "results", ignore=shutil.ignore_patterns(f"{name}.*"))
        executed = tmp / f"{name}.ipynb"
        pm.execute_notebook(str(paths.NOTEBOOKS / f"{name}.ipynb"), str(executed), kernel_name="python3",
                            parameters={"profile": committed["profile"], "out_dir": "."}, cwd=str(tmp),
                            progress_bar=False, **papermill_kwargs())
        again = json.loads((tmp / "results" / f"{name}.json").read_text())
        if _judged(again) != _judged(committed):
            raise ValueError(f"{out}/results/{name}.json: this commit's scorecard judges its records otherwise; "
                             "render the profile again instead of redrawing its page")
        page = export_html(reader_notebook(nbformat.read(executed, as_version=4)))
    stamp = (f"<p class='studylib-stamp'>This page was drawn at commit {_head_commit()[:12]} (python -m "
             f"studylib.report.rebuild) from the records of commit {str(committed.get('git_commit'))[:12]}; every "
             "verdict, interval and flag equals its render's scorecard record, results/06_scorecard.json.</p>")
    page = page.replace("</main>", stamp + "</main>", 1)
    pages, dirs = publish.hidden_links(out, answer.SCORECARD)
    write_text(out / answer.SCORECARD, lighten.lighten_html(page, pages, dirs))
    log(f"redrew {out.name}/{answer.SCORECARD}: every claim row judged as its record says")
    return True


def rebuild_folder(out, log=print) -> list[str]:
    """Every run page of a reports folder rebuilt answer-first (`rebuild_page`); the names rebuilt."""
    out, commit, done = Path(out), _head_commit(), []
    for page in sorted(out.glob("*.html")):
        if page.name != "index.html" and rebuild_page(page, commit):
            done.append(page.name)
            log(f"rebuilt {out.name}/{page.name}")
    return done


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m studylib.report.rebuild", description=__doc__.split("\n\n")[0])
    ap.add_argument("folders", nargs="+", help="reports folders (e.g. reports/cpu)")
    args = ap.parse_args(argv)
    for folder in args.folders:
        if not (Path(folder) / "results").is_dir():
            print(f"{folder}: no results/ folder: not a render", file=sys.stderr)
            return 2
        rebuild_folder(folder)
        redraw_scorecard(folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
