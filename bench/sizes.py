"""The largest modules, longest functions and longest signatures of studylib/ (issue 48: none over 300 lines,
none over 60, none over 8 parameters that are not a config object). Usage: python bench/sizes.py"""
import ast
from pathlib import Path
mods, funcs, params = [], [], []
ROOT = Path(__file__).resolve().parent.parent
for f in sorted(ROOT.joinpath('studylib').rglob('*.py')):
    src = f.read_text()
    f = f.relative_to(ROOT); n = len(src.splitlines()); mods.append((n, str(f)))
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            a = node.args
            k = len(a.args) + len(a.kwonlyargs) + len(a.posonlyargs) - (1 if a.args and a.args[0].arg in ('self', 'cls') else 0)
            funcs.append((node.end_lineno - node.lineno + 1, f"{f}:{node.name}")); params.append((k, f"{f}:{node.name}"))
for title, rows in (("largest modules (lines)", mods), ("longest functions (lines)", funcs), ("most parameters", params)):
    print(title + ":", ", ".join(f"{n} {w}" for n, w in sorted(rows, reverse=True)[:3]))
