"""Dead links: every local href/src of a committed page (reports/**/*.html, README.md, docs/**/*.md) names a
committed file, and its #anchor (into an .html or .md file) exists there. Unit tests on small pages with
known answers first; then the walk over the repository's own pages."""
from __future__ import annotations

import subprocess
from collections import Counter

import pytest

from studylib import paths
from studylib.report.links import anchors_of, committed_pages, dead_links, md_slug, page_links, tracked_files


def _write(root, name, text):
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture()
def site(tmp_path):
    """reports/cpu/{a,b}.html and docs/guide.md: the targets the links below name."""
    _write(tmp_path, "reports/cpu/b.html", '<h2 id="results">R</h2><a name="old">o</a><p id="x%y">p</p>'
                                           '<h1 id="01-%C2%B7-Data">nbconvert keeps its ids percent-encoded</h1>')
    _write(tmp_path, "docs/guide.md", "# Guide\n\n## How a verdict is made\n\n## Setup\n\n## Setup\n\n"
                                      "```\n# not a heading\n```\n\n<a id=\"kept\"></a>\n")
    _write(tmp_path, "reports/cpu/fig.png", "png")
    return tmp_path


def _dead(site, body, tracked=None):
    page = _write(site, "reports/cpu/a.html", f"<html><body><p id='top'>t</p>{body}</body></html>")
    return dead_links([page], site, tracked)


def test_page_links_keeps_local_references_of_every_tag_and_drops_external_ones():
    html = ('<a href="b.html#r">b</a><link href="s.css"><img src="f.png"><script src="j.js"></script>'
            '<iframe src="i.html"></iframe><video><source src="v.mp4"></video><a href="#top">t</a>'
            '<a href="https://x.org/a.html">x</a><a href="http://x.org">x</a><a href="mailto:a@b.c">m</a>'
            '<img src="data:image/png;base64,AAAA"><a href="javascript:void(0)">j</a><a href="about:blank">a</a>'
            '<a href="//cdn.x.org/y.js">c</a><a>no href</a><div href="d.html">not a link tag</div>')
    assert page_links(html) == ["b.html#r", "s.css", "f.png", "j.js", "i.html", "v.mp4", "#top"]


def test_a_good_link_and_a_good_anchor_are_not_dead(site):
    assert _dead(site, '<a href="b.html">b</a><a href="b.html#results">r</a><a href="b.html#old">o</a>'
                       '<img src="fig.png"><a href="#top">t</a><a href="b.html?x=1#results">q</a>'
                       '<a href="b.html#x%25y">quoted</a><a href="b.html#01-%C2%B7-Data">as written</a>'
                       '<a href="../../docs/guide.md#setup-1">g</a>') == []


def test_a_missing_file_is_dead(site):
    assert _dead(site, '<a href="06_scorecard.html">s</a>') == [
        "reports/cpu/a.html: href '06_scorecard.html' -> no file reports/cpu/06_scorecard.html"]


def test_a_missing_anchor_is_dead_on_another_page_and_on_the_same_page(site):
    assert _dead(site, '<a href="b.html#z">z</a><a href="#nowhere">n</a>') == [
        "reports/cpu/a.html: href 'b.html#z' -> no anchor 'z' in reports/cpu/b.html",
        "reports/cpu/a.html: href '#nowhere' -> no anchor 'nowhere' in reports/cpu/a.html"]


def test_a_fragment_into_a_file_that_is_neither_html_nor_markdown_is_not_checked(site):
    assert _dead(site, '<img src="fig.png#anything">') == []


def test_markdown_anchors_follow_githubs_heading_slugs(site):
    assert md_slug("How a verdict is made") == "how-a-verdict-is-made"
    assert md_slug("Results so far (`cpu` profile, real data)") == "results-so-far-cpu-profile-real-data"
    assert md_slug("1. The paper's file: `papers/005.yaml`") == "1-the-papers-file-papers005yaml"
    assert md_slug("See [the index](x.html) & more") == "see-the-index--more"
    anchors = anchors_of(site / "docs/guide.md")
    assert anchors == {"guide", "how-a-verdict-is-made", "setup", "setup-1", "kept"}   # no fenced '# not a heading'
    assert _dead(site, '<a href="../../docs/guide.md#how-a-verdict-is-made">v</a>'
                       '<a href="../../docs/guide.md#setup-2">s</a>') == [
        "reports/cpu/a.html: href '../../docs/guide.md#setup-2' -> no anchor 'setup-2' in docs/guide.md"]


def test_markdown_pages_are_walked_too(site):
    readme = _write(site, "README.md", "# Top\n\nSee [b](reports/cpu/b.html#results), [gone](docs/gone.md), "
                                       "[web](https://x.org/gone.html), [here](#top) and `[code](nope.md)`.\n\n"
                                       "```\n[fenced](nope.md)\n```\n")
    assert dead_links([readme], site) == ["README.md: href 'docs/gone.md' -> no file docs/gone.md"]


def test_an_untracked_target_is_dead_when_the_tracked_set_is_given(site):
    tracked = {site / "reports/cpu/a.html", site / "docs/guide.md"}
    body = '<a href="b.html#results">b</a><a href="../../docs/guide.md">g</a>'
    assert _dead(site, body) == []                                   # without the set: the file exists
    assert _dead(site, body, tracked) == ["reports/cpu/a.html: href 'b.html#results' -> reports/cpu/b.html is not committed"]


def test_a_link_outside_the_root_is_dead(site):
    _write(site.parent, "outside.html", "<p>o</p>")                   # exists, but a clone would not have it
    assert _dead(site, f'<a href="../../../{site.name}/reports/cpu/b.html">back in</a>'
                       '<a href="../../../outside.html">o</a>') == [
        "reports/cpu/a.html: href '../../../outside.html' -> outside the repository: ../outside.html"]
    assert _dead(site, '<img src="/etc/hostname">')[0].startswith("reports/cpu/a.html: src '/etc/hostname' -> outside")


def test_committed_pages_are_the_tracked_reports_readme_and_docs(site):
    _write(site, "reports/cpu/kept.html", "<p>run-local</p>")         # on disk, never added
    _write(site, "notes/other.md", "# not a page")
    subprocess.run(["git", "init", "-q", str(site)], check=True)
    subprocess.run(["git", "-C", str(site), "add", "reports/cpu/b.html", "docs/guide.md", "notes/other.md"], check=True)
    assert [p.relative_to(site).as_posix() for p in committed_pages(site)] == ["docs/guide.md", "reports/cpu/b.html"]
    assert tracked_files(site) == {(site / n).resolve() for n in ("reports/cpu/b.html", "docs/guide.md", "notes/other.md")}


def test_outside_a_git_checkout_the_pages_are_globbed_and_nothing_is_known_tracked(site):
    _write(site, "notes/other.md", "# not a page")
    assert [p.relative_to(site).as_posix() for p in committed_pages(site)] == ["docs/guide.md", "reports/cpu/b.html"]
    assert tracked_files(site) is None


def test_every_committed_page_links_only_to_committed_files_and_anchors():
    pages = committed_pages(paths.ROOT)
    tracked = tracked_files(paths.ROOT)
    assert pages and tracked, "no committed pages found: is paths.ROOT a git checkout?"
    dead = dead_links(pages, paths.ROOT, tracked)
    # Grouped by where the link points and why, so one renamed page reads as one line with its count.
    why = Counter(problem.split(" -> ", 1)[1] for problem in dead)
    summary = "\n".join(f"{n:4d} x {reason}" for reason, n in why.most_common())
    assert not dead, f"{len(dead)} dead links in {len(pages)} committed pages:\n{summary}\n\n" + "\n".join(dead)
