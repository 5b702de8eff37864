"""The four pages a newcomer opens first, as they see them: a 1366 x 900 screenshot of each into
docs/screenshots/, and, printed, each page's height and the y of its answer (`#answer`, the claim boxes, the
plain sentence, the curves' pictures). Needs chromium (Debian's; never a downloaded one) and playwright.

    python bench/screenshots.py                 # the committed renders, into docs/screenshots/
    python bench/screenshots.py --out /tmp/shots --reports /tmp/before/reports
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = {  # screenshot name: page under the reports folder
    "landing.webp": "cpu/index.html",
    "experiment.webp": "cpu/05_partial_vs_full-fer2013--seed0.html",
    "scorecard.webp": "cpu/06_scorecard.html",
    "curves.webp": "curves/index.html",
}
WIDTH, FOLD = 1366, 900
WHERE = """() => { const a = document.getElementById('answer');
  return [document.documentElement.scrollHeight, a ? Math.round(a.getBoundingClientRect().top + scrollY) : -1]; }"""


def _write_image(path: Path, png: bytes) -> None:
    """A screenshot to a 256-colour palette (text and flat colours: no visible change), stored as lossless
    WebP (a fifth smaller again than the palette PNG), so that four of them weigh little in the repository
    whose tree travels to the GPU machine (bench/gpu_kit.py)."""
    import io

    from PIL import Image
    im = Image.open(io.BytesIO(png)).convert("RGB")
    pal = im.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).convert("RGB")
    pal.save(path, format="WEBP", lossless=True, quality=100, method=6)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reports", default=str(ROOT / "reports"))
    ap.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = ap.parse_args(argv)
    chromium = os.environ.get("STUDYLIB_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("no chromium: apt-get install chromium (Debian's), then run again", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"{'page':46} {'height px':>10} {'answer y px':>12}  (viewport {WIDTH} x {FOLD})")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium)
        for shot, name in PAGES.items():
            ctx = browser.new_context(viewport={"width": WIDTH, "height": FOLD}, offline=True)
            page = ctx.new_page()
            page.goto((Path(args.reports) / name).resolve().as_uri(), wait_until="load")
            height, y = page.evaluate(WHERE)
            _write_image(out / shot, page.screenshot())
            print(f"{name:46} {height:>10,} {y:>12,}" + ("" if 0 <= y < FOLD else "  (not above the fold)"))
            ctx.close()
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
