"""Reports and widgets in a real browser: Playwright driving Debian's chromium (never a downloaded one).

Reports are opened offline from disk as a reader would; JupyterLab is started on a free port and driven
through its UI. Every test skips, saying why, only when no chromium (or no playwright) can be had;
`.ci/run` installs Debian's `chromium` package when it is missing.
"""
from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import numpy as np
import pytest
from PIL import Image

from studylib import paths
from studylib.report.render import render_html

CHROMIUM = os.environ.get("STUDYLIB_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
# Absolute paths of some machine: the usual roots, and this machine's own (a clone may live anywhere).
MACHINE_ROOTS = ("/work/", "/tmp/", "/root/", "/home/", "/Users/", "/var/folders/", "/private/", "/builds/")
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"  # the notebook on show in JupyterLab
ABSOLUTE = re.compile(r"(?<![\w.~-])(?:%s)[^\s'\"<>()]*" % "|".join(
    re.escape(p) for p in {*MACHINE_ROOTS, str(paths.ROOT) + "/", str(Path.home()) + "/"} if p != "//"))


# ---- the browser ---------------------------------------------------------------------------------------

# `browser` (headless Debian chromium under Playwright) is a fixture of conftest.py: one Playwright for the
# whole session, shared by every module that drives the browser (two at once fail inside asyncio).


def _open_offline(browser, path: Path):
    """A page with `path` loaded in an offline context, and the list its problems are collected into."""
    ctx = browser.new_context(offline=True)
    page = ctx.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("request", lambda r: None if r.url.split(":")[0] in ("file", "data", "blob", "about")
            else problems.append(f"network request: {r.url}"))
    page.goto(path.resolve().as_uri(), wait_until="load")
    return page, problems


def page_problems(browser, path: Path) -> list[str]:
    """What a reader would meet opening this page offline: console errors, network fetches, figures that
    do not load, absolute paths of the machine that made it (in the text, code included, or a link), more
    than one title."""
    page, problems = _open_offline(browser, path)
    broken = page.evaluate("""() => Array.from(document.images)
        .filter(i => !i.complete || i.naturalWidth === 0).map(i => i.getAttribute('src').slice(0, 60))""")
    problems += [f"image does not load: {src}" for src in broken]
    text = page.evaluate("() => document.body.textContent")
    links = page.evaluate("""() => Array.from(document.querySelectorAll('[src],[href]'))
        .map(e => e.getAttribute('src') || e.getAttribute('href')).filter(u => !u.startsWith('data:'))""")
    problems += [f"absolute path: {m}" for m in sorted(set(ABSOLUTE.findall(text + "\n" + "\n".join(links))))]
    problems += [f"link to a file outside the report: {u}" for u in links if u.startswith("file:")]
    titles = page.locator("h1").count()
    problems += [f"{titles} h1 titles (a report has one)"] if titles > 1 else []
    page.context.close()
    return problems


def toggle_problems(browser, path: Path) -> list[str]:
    """The "show code" button: code hidden at first, shown by one click, hidden again by the next."""
    page, _ = _open_offline(browser, path)
    button, code = page.locator("#studylib-code-toggle"), page.locator(".jp-CodeCell .jp-Cell-inputWrapper")
    try:
        if button.count() != 1 or code.count() == 0:
            return [f"{button.count()} code toggles, {code.count()} code cells"]
        seen = [code.first.is_visible(), button.inner_text()]
        button.click()
        seen += [code.first.is_visible() and code.last.is_visible(), button.inner_text()]
        button.click()
        seen += [code.first.is_visible(), button.inner_text()]
        expected = [False, "show code", True, "hide code", False, "show code"]
        return [] if seen == expected else [f"code visible / button text: {seen}, expected {expected}"]
    finally:
        page.context.close()


# ---- a small report, rendered here (fast), and a broken copy of it --------------------------------------

@pytest.fixture(scope="module")
def small_report(tmp_path_factory) -> Path:
    """A report rendered by `render_html` from a small executed-looking notebook: a title, a code cell
    with a figure, a widget output with its static fallback, and a finished text progress bar."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from studylib.report.widgets import figure_png
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [1, 0])
    png = base64.b64encode(figure_png(fig)).decode()
    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell("plt.show(fig)\nwidgets.sample_browser(sets)", execution_count=1)
    code.outputs = [nbformat.v4.new_output("stream", name="stderr", text="\rx:  50%|#  | 1/2\rx: 100%|##| 2/2"),
                    nbformat.v4.new_output("stream", name="stderr", text="\r             \r"),
                    nbformat.v4.new_output("display_data", {"image/png": png, "text/plain": "<Figure>"}),
                    nbformat.v4.new_output("display_data", {
                        "application/vnd.jupyter.widget-view+json": {"model_id": "x", "version_major": 2,
                                                                     "version_minor": 0},
                        "image/png": png, "text/plain": "sample browser"})]
    nb.cells = [nbformat.v4.new_markdown_cell("# A report"), code]
    d = tmp_path_factory.mktemp("small-report")
    nbformat.write(nb, d / "small.ipynb")
    render_html(d / "small.ipynb", d / "small.html", "A report")
    return d / "small.html"


def break_report(report: Path, out: Path) -> Path:
    """A copy of a report with a figure that does not load and an absolute path in its text."""
    html = report.read_text()
    i = html.index("</main>")
    out.write_text(html[:i] + '<img src="missing.png"><p>read from /root/x/fer2013.csv</p>' + html[i:])
    return out


def test_a_rendered_report_passes_the_checks(browser, small_report):
    assert page_problems(browser, small_report) == []
    assert toggle_problems(browser, small_report) == []
    html = small_report.read_text()
    assert html.count("<img") == 2 and "sample browser" not in html  # the widget shows its figure
    assert "|##| 2/2" not in html  # the finished progress bar is gone


def test_the_checks_fail_on_a_broken_image_an_absolute_path_and_cdn_scripts(browser, small_report, tmp_path):
    problems = page_problems(browser, break_report(small_report, tmp_path / "broken.html"))
    assert [p for p in problems if p.startswith("image does not load: missing.png")], problems
    assert "absolute path: /root/x/fer2013.csv" in problems, problems
    # nbconvert's own lab template (what reports were before) loads require.js and MathJax from CDNs
    from nbconvert import HTMLExporter
    body, _ = HTMLExporter().from_filename(str(small_report.with_suffix(".ipynb")))
    (tmp_path / "plain.html").write_text(body)
    problems = page_problems(browser, tmp_path / "plain.html")
    assert [p for p in problems if p.startswith("network request: https://")], problems
    assert toggle_problems(browser, tmp_path / "plain.html") != []


# ---- the demo profile's reports --------------------------------------------------------------------------

@pytest.mark.slow
def test_demo_index_and_every_report_in_chromium(browser, demo_reports):
    out, _ = demo_reports
    assert page_problems(browser, out / "index.html") == []
    page, _ = _open_offline(browser, out / "index.html")
    linked = page.evaluate("() => Array.from(document.querySelectorAll('a[href$=\".html\"]')).map(a => a.getAttribute('href'))")
    page.context.close()
    reports = sorted(out.glob("*.html"))
    assert {out / h for h in linked} >= {r for r in reports if r.name != "index.html"}, "the index links every report"
    for report in reports:
        if report.name == "index.html":
            continue
        assert page_problems(browser, report) == [], report.name
        assert toggle_problems(browser, report) == [], report.name
    # the same checks fail on a broken copy of a real report
    broken = page_problems(browser, break_report(reports[0], out / "broken-copy.html"))
    (out / "broken-copy.html").unlink()
    assert any("missing.png" in p for p in broken) and any("/root/x" in p for p in broken), broken


@pytest.mark.slow
def test_the_gpu_smoke_reports_render_like_the_others(browser, gpu_smoke_reports):
    out, _ = gpu_smoke_reports
    reports = sorted(out.glob("*.html"))
    assert len(reports) == 9  # the index and the gpu profile's eight tasks
    for report in reports:
        assert page_problems(browser, report) == [], report.name
        if report.name != "index.html":
            assert toggle_problems(browser, report) == [], report.name


# ---- JupyterLab ----------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(browser, demo_data, tmp_path_factory):
    """JupyterLab on a free port with a token, serving copies of notebooks 01 and 03 with demo parameters
    injected by papermill (not executed). Yields a function opening a notebook in a new page."""
    import papermill as pm
    root = tmp_path_factory.mktemp("lab")
    demo = {"01_data_audit": {}, "03_cnn_from_scratch": {"train": {"epochs": 2, "device": "cpu"}, "max_train": 300}}
    for name, overrides in demo.items():  # the notebook's named parameters, as a person types them
        pm.execute_notebook(str(paths.NOTEBOOKS / f"{name}.ipynb"), str(root / f"{name}.ipynb"), prepare_only=True,
                            kernel_name="python3", parameters={"profile": "demo", "data_dir": str(demo_data),
                                                               "overrides": overrides})
    settings = root / ".settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    # every cell in the DOM (no windowing), so the test sees the outputs it scrolls to
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    port, token = _free_port(), "studylib-test-token"
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(root / ".settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(root / ".workspaces"), "JUPYTER_RUNTIME_DIR": str(root / ".runtime")}
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         "--allow-root",  # CI containers run as root
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        env=env, stdout=subprocess.DEVNULL, stderr=open(root / "server.log", "w"), start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                assert server.poll() is None, (root / "server.log").read_text()[-3000:]
                time.sleep(0.5)

        def open_notebook(name: str):
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{base}/lab/tree/{name}.ipynb?reset&token={token}")  # reset: no tabs restored from before
            page.locator(PANEL).wait_for(timeout=60_000)
            return page
        yield open_notebook
    finally:
        server.terminate()  # the server shuts its kernels down
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)


def _run_all(page, timeout_s: int = 300) -> None:
    """Run > Run All Cells through the menu (once the kernel is up), then wait until every code cell has run."""
    page.locator(".jp-StatusBar-Widget", has_text="| Idle").wait_for(timeout=120_000)
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile("^Run All Cells$")).click()
    prompts = f"() => Array.from(document.querySelectorAll('{PANEL} .jp-CodeCell .jp-InputPrompt'))" \
              ".map(e => e.textContent.trim())"
    try:
        page.wait_for_function(f"() => ({prompts})().every(t => /^\\[\\d+\\]:$/.test(t))", timeout=timeout_s * 1000)
    except Exception as e:  # say where it stopped
        raise AssertionError(f"Run All did not finish in {timeout_s} s: prompts {page.evaluate(prompts)}") from e
    errors = page.locator(f"{PANEL} .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']",
                          has_text="Traceback")
    assert errors.count() == 0, errors.first.inner_text()[-2000:]


def _image_bytes(img) -> bytes:
    """The bytes behind an <img> (a widget's blob: URL), read by the page itself."""
    b64 = img.evaluate("""async i => {
        const a = new Uint8Array(await (await fetch(i.src)).arrayBuffer());
        let s = ''; for (let k = 0; k < a.length; k += 8192) s += String.fromCharCode(...a.subarray(k, k + 8192));
        return btoa(s); }""")
    return base64.b64decode(b64)


def _changed(img, before: bytes, timeout_s: float = 30) -> bytes:
    """Wait for an image to show different bytes; returns them."""
    for _ in range(int(timeout_s * 4)):
        now = _image_bytes(img)
        if now != before:
            return now
        time.sleep(0.25)
    raise AssertionError("the image did not change")


def _dropdown(box, label: str):
    return box.locator(".widget-dropdown").filter(has=box.page.locator("label", has_text=re.compile(f"^{label}$"))) \
        .locator("select")


@pytest.mark.slow
def test_lab_sample_browser_redraws_on_class_and_dataset(lab):
    page = lab("01_data_audit")
    _run_all(page)
    box = page.locator(PANEL).locator(".widget-vbox").filter(has=page.locator(".widget-image")).last
    img = box.locator("img.widget-image")
    cls, ds = _dropdown(box, "class"), _dropdown(box, "dataset")
    first = _image_bytes(img)
    assert Image.open(io.BytesIO(first)).size[0] > 200  # a drawn grid, in the widget itself
    # one output area: the cell shows the widget and no stale figure beside it
    assert box.locator("xpath=ancestor::div[contains(concat(' ', @class, ' '), ' jp-CodeCell ')]//img").count() == 1
    options = cls.locator("option").evaluate_all("os => os.map(o => o.value)")
    cls.select_option(options[1] if cls.input_value() == options[0] else options[0])
    second = _changed(img, first)
    datasets = ds.locator("option").evaluate_all("os => os.map(o => o.value)")
    same_classes = [d for d in datasets if d.startswith("fer2013") and d != ds.input_value()]
    kept = cls.input_value()
    ds.select_option(same_classes[0])  # the class keeps its value: the grid must still be redrawn
    _changed(img, second)
    assert cls.input_value() == kept
    page.close()


@pytest.mark.slow
def test_lab_try_your_own_image_finds_the_face_and_predicts(lab, tmp_path):
    from skimage import data as skdata
    photo = tmp_path / "astronaut.png"
    Image.fromarray(skdata.astronaut()).save(photo)
    page = lab("03_cnn_from_scratch")
    _run_all(page)
    box = page.locator(PANEL).locator(".widget-vbox").filter(has=page.locator(".widget-upload")).last
    with page.expect_file_chooser() as chooser:  # the upload button opens the file dialog, as for a user
        box.locator(".widget-upload").click()
    chooser.value.set_files(str(photo))
    result = box.locator(".widget-html")
    result.filter(has_text="predicted:").wait_for(timeout=60_000)
    text = result.inner_text()
    assert re.search(r"face found at x=\d+, y=\d+ \(\d+×\d+ px\); predicted: \w+ \(\d\.\d\d\)", text), text
    drawn = np.asarray(Image.open(io.BytesIO(_changed(box.locator("img.widget-image"), b""))).convert("RGB"))
    assert (drawn == [0, 255, 0]).all(-1).sum() > 100, "the face box is drawn on the photo"
    page.close()
