"""Light reports (issue 46): one stylesheet per reports folder, figures compressed, one page per run
committed, every record and .npz committed unchanged; the limits checked on the committed tree."""
from __future__ import annotations

import base64
import io
import json
import re
import subprocess
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest
from PIL import Image

from studylib import paths
from studylib.io import sha256_file
from studylib.report import display, lighten, publish

PAGE_LIMIT = 400_000          # bytes: no committed page over 400 KB
# The issue asks the whole tracked tree (`git ls-files -z | xargs -0 du -cb`) under 25 MB. The records and
# .npz it keeps unchanged (23.3 MB) and the code, lock and splits (1.7 MB) come to 25.0 MB before any page,
# so that cannot be met without dropping records. Checked instead: what the reports add beside their records
# (pages, stylesheets, indexes, memos; 55 MB before, 2.1 MB after, 2.6 MB with answer-first pages, the
# per-paper summaries and the regimes page) under 3 MB, and the tree under 28.4 MB (with the GPU check's
# 35.3 MiB kit, under bench/gpu_kit.py's 63 MiB of the device's 64; tests/test_gpu_kit checks the two together).
EXTRA_LIMIT = 3_000_000
TREE_LIMIT = 28_400_000
HREF = re.compile(r"""\b(?:href|src)\s*=\s*(["'])(.*?)\1""", re.S | re.I)


def _tracked() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=paths.ROOT, capture_output=True, text=True)
    if listed.returncode != 0:
        pytest.skip("not a git work tree: the committed tree cannot be listed")
    return [paths.ROOT / n for n in listed.stdout.split("\0") if n]


def _pages() -> list[Path]:
    return [p for p in _tracked() if p.suffix == ".html" and p.parent.parent == paths.REPORTS]


# ---- the committed tree -------------------------------------------------------------------------------

def test_no_committed_page_is_over_400_kb_and_the_reports_weigh_little_beside_their_records():
    pages = _pages()
    assert len(pages) >= 10
    heavy = {p.relative_to(paths.ROOT).as_posix(): p.stat().st_size for p in pages if p.stat().st_size > PAGE_LIMIT}
    assert not heavy, heavy
    tracked = [p for p in _tracked() if p.is_file()]
    extra = sum(p.stat().st_size for p in tracked if p.is_relative_to(paths.REPORTS) and p.parent.name != "results")
    assert extra < EXTRA_LIMIT, f"reports beside their records: {extra:,} bytes"
    total = sum(p.stat().st_size for p in tracked)
    assert total < TREE_LIMIT, f"tracked tree {total:,} bytes"


def test_every_committed_page_links_its_folders_stylesheet_and_only_committed_files():
    tracked = set(_tracked())
    pages = _pages()
    for page in pages:
        text = page.read_text(encoding="utf-8")
        where = page.relative_to(paths.ROOT).as_posix()
        if page.name != "index.html":
            assert lighten.LINK in text and (page.parent / lighten.STYLESHEET) in tracked, where
            head = re.search(r"<head\b.*?</head>", text, re.S | re.I).group(0)
            assert "<style" not in head, f"{where}: an inline stylesheet in its head"
        for _, target in HREF.findall(text):
            target = unquote(target.split("#")[0])
            if not target or target.startswith(("data:", "http:", "https:", "mailto:", "javascript:")):
                continue
            file = (page.parent / target).resolve()
            if not file.is_relative_to(paths.ROOT):  # the papers' own text in ../shared/seeds, beside the clone
                continue
            assert file in tracked, f"{where} links {target}, which is not committed"


def test_each_folders_stylesheet_is_the_one_this_nbconvert_writes():
    css = [p for p in _tracked() if p.name == lighten.STYLESHEET]
    assert css and all(p.read_text(encoding="utf-8") == lighten.stylesheet() for p in css)
    assert len(lighten.stylesheet()) < 60_000  # nbconvert's is some 256 KB


def test_every_committed_record_and_its_npz_agree_and_the_memos_are_gone():
    tracked = _tracked()
    records = [p for p in tracked if p.parent.name == "results" and p.suffix == ".json"]
    assert len(records) >= 100
    for rec in records:
        pred = json.loads(rec.read_text()).get("predictions")
        if pred:
            assert sha256_file(rec.parent / pred["file"]) == pred["sha256"], rec
    assert not [p for p in tracked if "/points/" in p.as_posix() or p.parent.name in ("logs", "tasks")]


def test_one_page_per_run_is_committed_and_the_index_says_where_the_others_are():
    for folder in ("cpu", "curves", "sweep-003"):
        out = paths.REPORTS / folder
        index = json.loads((out / "index.json").read_text())
        tasks = index["runs"]
        shown = publish.published(tasks, index["profile"])
        assert {t["run"] for t in tasks} == {t["run"] for t in tasks if t["name"] in shown}  # every run
        assert len(shown) == len({t["run"] for t in tasks})  # one page each
        html = (out / "index.html").read_text(encoding="utf-8")
        assert publish.KEPT in html
        kept = [t["name"] for t in tasks if t["name"] not in shown]
        assert all(f"href='{t}.html'" not in html for t in kept)


# ---- the rules, on made-up pages and images ---------------------------------------------------------------

def test_the_first_grid_point_at_the_first_seed_is_each_runs_page():
    tasks = [{"name": f"r--lr={lr}--seed{s}", "run": "r"} for lr in (0.1, 0.01) for s in (0, 1)]
    tasks += [{"name": "card", "run": "card"}]
    assert publish.published(tasks, "cpu") == {"r--lr=0.1--seed0", "card"}
    assert publish.unpublished(tasks, "cpu") == ["r--lr=0.1--seed1", "r--lr=0.01--seed0", "r--lr=0.01--seed1"]
    assert publish.published(tasks, "demo") == {t["name"] for t in tasks}  # never committed: every page
    text = publish.ignore_text(tasks, "cpu", whole=True)
    assert "/r--lr=0.1--seed1.html" in text and "/r--lr=0.1--seed0.html" not in text
    assert "logs/" in text and "/curves/*/points/" in text
    assert "/curves/*/points/" not in publish.ignore_text(tasks, "cpu", whole=False)  # a render in progress


def test_the_first_seeds_page_names_the_others_without_linking_them():
    seeds = ["r--seed0", "r--seed1", "r--seed2"]
    kept = {"r--seed1", "r--seed2"}  # what the folder's .gitignore keeps out: seed 0's page is the one committed
    first, second = display.nav_markdown("r--seed0", seeds, kept), display.nav_markdown("r--seed1", seeds)
    assert "(r--seed1.html)" not in first and "**0** · 1 · 2" in first
    assert "[0](r--seed0.html)" in second and "[2](r--seed2.html)" in second


def test_prune_css_keeps_what_a_report_can_match_and_drops_the_rest():
    css = """:root{--jp-a:red;--jp-unused:blue}
    .jp-Cell{color:var(--jp-a)} .jp-FileBrowser{color:green} .jp-Toolbar, .jp-OutputArea{margin:0}
    @keyframes spin{to{transform:rotate(1turn)}} @keyframes used{to{opacity:0}}
    .jp-Spinner{animation:spin 1s} .jp-InputArea{animation:used 1s}
    @media print{.jp-Cell{display:block} .jp-Dialog{display:none}}"""
    out = lighten.prune_css(css)
    assert ".jp-Cell{" in out.replace(" ", "") and "--jp-a" in out and ".jp-OutputArea" in out
    assert "FileBrowser" not in out and "--jp-unused" not in out and "jp-Dialog" not in out
    assert "used" in out and "spin" not in out  # the keyframes a kept rule runs, only
    assert "@media print" in out


def _png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def _decode(mime_bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(mime_bytes[1])).convert("RGB"))


def test_a_plot_keeps_its_pixels_and_a_photograph_becomes_a_smaller_webp():
    rng = np.random.default_rng(0)
    plot = np.full((120, 200, 3), 255, np.uint8)
    plot[40:80, 20:180] = (31, 119, 180)  # a few flat colours, as a bar chart
    plot[::10, :, :] = 200
    got = lighten.compress_image(_png(plot))
    assert np.array_equal(_decode(got), plot)  # lossless: the same pixels
    yy, xx = np.mgrid[0:160, 0:160]
    face = (np.stack([xx, yy, (xx + yy) // 2], -1) + rng.normal(0, 12, (160, 160, 3))).clip(0, 255).astype(np.uint8)
    png = _png(face)
    mime, data = lighten.compress_image(png)
    assert mime == "image/webp" and len(data) < 0.5 * len(png)
    assert Image.open(io.BytesIO(data)).size == (160, 160)  # the pixels' size is kept
    tiny = _png(np.zeros((1, 1, 3), np.uint8))
    assert len(lighten.compress_image(tiny)[1]) <= len(tiny)  # never larger than given


def test_lighten_links_the_stylesheet_unlinks_what_is_not_committed_and_is_idempotent():
    png = base64.b64encode(_png(np.full((30, 30, 3), 128, np.uint8))).decode()
    state = '<script type="application/vnd.jupyter.widget-state+json">{"state": {}}</script>'
    page = (f"<html><head><style>.jp-Cell{{color:red}}</style></head><body><h1>A report</h1>{state}"
            f"<img src='data:image/png;base64,{png}'><a href='r--seed1.html'>seed 1</a>"
            f"<a href='logs/r.log'>log</a><a href='card.html'>scorecard</a></body></html>")
    once = lighten.lighten_html(page, {"r--seed1.html"}, ("logs/",))
    assert lighten.LINK in once and "<style>" not in once and "widget-state" not in once
    assert "href='r--seed1.html'" not in once and "seed 1" in once and "href='logs/" not in once
    assert "href='card.html'" in once
    assert lighten.lighten_html(once, {"r--seed1.html"}, ("logs/",)) == once


def test_committed_pages_open_offline_with_their_stylesheet(browser):
    from test_browser import page_problems, toggle_problems
    for name in ("cpu/06_scorecard.html", "cpu/05_partial_vs_full-fer2013--seed0.html", "curves/08_curves-fer2013.html"):
        path = paths.REPORTS / name
        assert page_problems(browser, path) == [], name
        assert toggle_problems(browser, path) == [], name  # the "show code" button, styled by report.css
        ctx = browser.new_context(offline=True)
        page = ctx.new_page()
        page.goto(path.resolve().as_uri(), wait_until="load")
        sheets = page.evaluate("() => Array.from(document.styleSheets).filter(s => s.href)"
                               ".map(s => s.href.split('/').pop())")
        # a custom property report.css defines: the stylesheet beside the page loaded and applies
        font = page.evaluate("() => getComputedStyle(document.body).getPropertyValue('--jp-content-font-family')")
        ctx.close()
        assert sheets == [lighten.STYLESHEET] and font.strip(), (name, sheets, font)
