"""Dead links in the committed pages: a local link whose file, or whose #anchor, a reader of a clone lacks.

A render writes links to its own pages and records; `publish` decides which of those are committed. A link
to a page that stays where the run ran (or that was renamed, or whose anchor moved) is found by nobody
until a reader clicks it, so `tests/test_links.py` walks every committed page with `dead_links`.
"""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlsplit

from bs4 import BeautifulSoup

__all__ = ["anchors_of", "committed_pages", "dead_links", "md_slug", "page_links", "tracked_files"]

LINK_ATTRS = {"a": "href", "link": "href", "img": "src", "script": "src", "iframe": "src", "source": "src"}
PAGE_GLOBS = ("reports/**/*.html", "README.md", "docs/**/*.md")
FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.M | re.S)       # fenced code: its '#' lines are not headings
CODE_SPAN = re.compile(r"`[^`\n]*`")
MD_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")   # [text](target "title")
MD_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.*?)[ \t#]*$", re.M)


def _local(ref: str) -> bool:
    # Any scheme (http, mailto, data, javascript, about, ...) or a //host is not a file of this repository.
    parts = urlsplit(ref.strip())
    return bool(ref.strip()) and not parts.scheme and not parts.netloc


def _soup_links(soup) -> list[tuple[str, str]]:
    # (attribute, reference) pairs, so that a problem names the attribute the page wrote
    found = ((LINK_ATTRS[tag.name], tag.get(LINK_ATTRS[tag.name])) for tag in soup.find_all(list(LINK_ATTRS)))
    return [(attr, ref) for attr, ref in found if isinstance(ref, str) and _local(ref)]


def _soup_anchors(soup) -> set[str]:
    return ({tag["id"] for tag in soup.find_all(id=True)}
            | {tag["name"] for tag in soup.find_all("a", attrs={"name": True})})


def page_links(html_text: str) -> list[str]:
    """Every local href/src of a, link, img, script, iframe and source, in page order ('#x' included)."""
    return [ref for _, ref in _soup_links(BeautifulSoup(html_text, "html.parser"))]


def _md_links(md_text: str) -> list[tuple[str, str]]:
    # [text](target), ![alt](target) and inline HTML, none of it inside code (a README shows example HTML)
    text = CODE_SPAN.sub("", FENCE.sub("", md_text))
    inline = [("href", ref) for ref in MD_LINK.findall(text) if _local(ref)]
    return inline + _soup_links(BeautifulSoup(text, "html.parser"))


def md_slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text lowercased, punctuation but '-' and ' ' dropped, ' ' -> '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)     # a link shows only its text
    text = re.sub(r"<[^>]+>", "", text).replace("`", "").replace("*", "")
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def _md_anchors(md_text: str) -> set[str]:
    anchors, seen = set(), {}
    for heading in MD_HEADING.findall(FENCE.sub("", md_text)):
        slug = md_slug(heading)
        # GitHub numbers a repeated slug: the second 'setup' is 'setup-1', the third 'setup-2'.
        anchors.add(f"{slug}-{seen[slug]}" if slug in seen else slug)
        seen[slug] = seen.get(slug, 0) + 1
    return anchors | _soup_anchors(BeautifulSoup(md_text, "html.parser"))


def anchors_of(path) -> set[str]:
    """The #fragments a link into `path` may name: ids and <a name> of HTML; heading slugs of markdown."""
    path = Path(path)
    text = path.read_text(encoding="utf-8", errors="replace")
    return _md_anchors(text) if path.suffix == ".md" else _soup_anchors(BeautifulSoup(text, "html.parser"))


def _git_files(root: Path, *specs: str) -> list[Path] | None:
    try:
        out = subprocess.run(["git", "-C", str(root), "ls-files", "-z", "--", *specs],
                             capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None          # not a git checkout (an sdist, a copied tree): the caller falls back
    return [root / name for name in out.split("\0") if name]


def tracked_files(root) -> set[Path] | None:
    """Every file git tracks under `root` (resolved), or None when `root` is not a git checkout."""
    files = _git_files(Path(root).resolve())
    return None if files is None else {path.resolve() for path in files}


def committed_pages(root) -> list[Path]:
    """The pages a reader opens: reports/**/*.html, README.md and docs/**/*.md as git tracks them."""
    root = Path(root).resolve()
    pages = _git_files(root, *(f":(glob){glob}" for glob in PAGE_GLOBS))
    if pages is None:
        pages = [path for glob in PAGE_GLOBS for path in root.glob(glob)]
    return sorted(path for path in pages if path.is_file())


def dead_links(pages, root, tracked: set[Path] | None = None) -> list[str]:
    """Each local link of `pages` whose target is missing, outside `root`, untracked (when `tracked` is given)
    or lacks the link's #anchor (.html and .md targets), as 'page: href 'ref' -> why' relative to root."""
    root = Path(root).resolve()
    tracked = None if tracked is None else {Path(path).resolve() for path in tracked}
    anchors: dict[Path, set[str]] = {}
    problems = []

    def shown(path: Path) -> str:
        return path.relative_to(root).as_posix()

    for page in (Path(p).resolve() for p in pages):
        text = page.read_text(encoding="utf-8", errors="replace")
        if page.suffix == ".md":
            links, anchors[page] = _md_links(text), _md_anchors(text)
        else:           # one parse gives both the page's links and its anchors (the pages are megabytes)
            soup = BeautifulSoup(text, "html.parser")
            links, anchors[page] = _soup_links(soup), _soup_anchors(soup)
        for attr, ref in links:
            parts = urlsplit(ref.strip())
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            why = None
            if not target.is_relative_to(root):
                # a clone has only what is under root; shown relative, never as this machine's absolute path
                why = f"outside the repository: {Path(os.path.relpath(target, root)).as_posix()}"
            elif not target.exists():
                why = f"no file {shown(target)}"
            elif tracked is not None and target != root and not (
                    target in tracked if target.is_file() else any(t.is_relative_to(target) for t in tracked)):
                why = f"{shown(target)} is not committed"
            elif parts.fragment and target.suffix in (".html", ".md") and target.is_file():
                if target not in anchors:
                    anchors[target] = anchors_of(target)
                # A browser tries the fragment as written, then percent-decoded (HTML's "indicated part"):
                # nbconvert writes its heading ids percent-encoded (id="01-%C2%B7-Data"), others write them plain.
                if not {parts.fragment, unquote(parts.fragment)} & anchors[target]:
                    why = f"no anchor '{unquote(parts.fragment)}' in {shown(target)}"
            if why:
                problems.append(f"{shown(page)}: {attr} '{ref}' -> {why}")
    return problems
