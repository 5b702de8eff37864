"""A stylesheet pruned to what a report can use: the rules of nbconvert's lab template (and of a table's own
<style>) whose selectors can match a class or id some report carries, the custom properties and keyframes
those rules use; the cascade's order kept. `lighten` writes the folder's `report.css` with it and prunes
each page's body styles with it."""
from __future__ import annotations

import functools

__all__ = ["CLASS_PREFIXES", "ID_PREFIXES", "TEMPLATE_CLASSES", "prune_css", "pygments_classes"]

# The classes nbconvert's lab template writes (templates/lab/base.html.j2 and index.html.j2; a test checks
# the installed template against this list), and the prefixes of the classes its filters and we write.
TEMPLATE_CLASSES = frozenset("""
cm-editor cm-s-jupyter jp-Cell jp-Cell-inputArea jp-Cell-inputCollapser jp-Cell-inputWrapper jp-Cell-outputArea
jp-Cell-outputCollapser jp-Cell-outputWrapper jp-CodeCell jp-CodeMirrorEditor jp-Collapser jp-Editor jp-InputArea
jp-InputArea-editor jp-InputArea-prompt jp-InputCollapser jp-InputPrompt jp-MarkdownCell jp-MarkdownOutput
jp-Mermaid jp-Notebook jp-Notebook-cell jp-OutputArea jp-OutputArea-child jp-OutputArea-executeResult
jp-OutputArea-output jp-OutputArea-prompt jp-OutputCollapser jp-OutputPrompt jp-RenderedHTML
jp-RenderedHTMLCommon jp-RenderedImage jp-RenderedJavaScript jp-RenderedLatex jp-RenderedMarkdown
jp-RenderedSVG jp-RenderedText jp-mod-noInput jp-mod-noOutputs jp-needs-dark-background
jp-needs-light-background jupyter-widgets mermaid unconfined output anchor-link highlight dataframe
""".split())
CLASS_PREFIXES = ("ansi-", "celltag_", "studylib-")  # nbconvert's ANSI colours, cell tags, our own
ID_PREFIXES = ("studylib-",)


@functools.lru_cache(maxsize=1)
def pygments_classes() -> frozenset:
    from pygments.token import STANDARD_TYPES
    return frozenset(c for c in STANDARD_TYPES.values() if c)


def _class_ok(name: str) -> bool:
    return name in TEMPLATE_CLASSES or name.startswith(CLASS_PREFIXES) or name in pygments_classes()


def _split_selectors(prelude: list) -> list[list]:
    """A rule's prelude as its comma-separated selectors (token lists)."""
    out, cur = [], []
    for tok in prelude:
        if tok.type == "literal" and tok.value == ",":
            out.append(cur)
            cur = []
        else:
            cur.append(tok)
    out.append(cur)
    return out


def _id_ok(name: str) -> bool:
    return name.startswith(ID_PREFIXES)


def _may_match(selector: list, class_ok=_class_ok, id_ok=_id_ok) -> bool:
    """Whether a selector can match a report: every class and id it requires is one a report can carry.
    What sits inside a pseudo-class function (`:not(.x)`, `:is(...)`) is not required: kept."""
    for prev, tok in zip([None] + selector[:-1], selector):
        if tok.type == "ident" and prev is not None and prev.type == "literal" and prev.value == "." \
                and not class_ok(tok.value):
            return False
        if tok.type == "hash" and not id_ok(tok.value):
            return False
    return True


def _squeeze(tokens: list) -> list:
    """Tokens with every run of whitespace one space (recursively, strings untouched), in place."""
    for tok in tokens:
        if tok.type == "whitespace":
            tok.value = " "
        for attr in ("arguments", "content"):
            inner = getattr(tok, attr, None)
            if isinstance(inner, list):
                _squeeze(inner)
    return tokens


def _text(tokens: list) -> str:
    import tinycss2
    return tinycss2.serialize(_squeeze(tokens)).strip()


def _var_refs(tokens: list, into: set) -> set:
    """The custom properties `var(--x)` in a declaration's value (nested functions included)."""
    for tok in tokens:
        if tok.type == "function":
            if tok.lower_name == "var":
                name = next((t.value for t in tok.arguments if t.type == "ident"), None)
                if name:
                    into.add(name)
            _var_refs(tok.arguments, into)
        elif isinstance(getattr(tok, "content", None), list):
            _var_refs(tok.content, into)
    return into


def _declarations(rule) -> list:
    import tinycss2
    return [d for d in tinycss2.parse_blocks_contents(rule.content, skip_whitespace=True, skip_comments=True)
            if d.type == "declaration"]


def _kept_rules(rules: list, class_ok=_class_ok, id_ok=_id_ok) -> list:
    """The rules that can apply to a report, as (kind, prelude text, declarations or nested list): qualified
    rules with their matching selectors, @media/@supports with what they keep, other at-rules as they are."""
    kept = []
    for rule in rules:
        if rule.type == "qualified-rule":
            selectors = [s for s in _split_selectors(rule.prelude) if _may_match(s, class_ok, id_ok)]
            if selectors:
                kept.append(("rule", ",".join(_text(s) for s in selectors), _declarations(rule)))
        elif rule.type == "at-rule" and rule.lower_at_keyword in ("media", "supports") and rule.content is not None:
            import tinycss2
            inner = _kept_rules(tinycss2.parse_rule_list(rule.content, skip_whitespace=True, skip_comments=True),
                                class_ok, id_ok)
            if inner:
                kept.append(("group", f"@{rule.at_keyword} {_text(rule.prelude)}", inner))
        elif rule.type == "at-rule":
            kept.append(("at", rule, None))
    return kept


def _walk(kept: list):
    for kind, prelude, body in kept:
        if kind == "rule":
            yield body
        elif kind == "group":
            yield from _walk(body)


def _used(kept: list) -> tuple[set, set]:
    """The custom properties the kept rules use (through the definitions they use, transitively), and the
    animation names they run."""
    defs: dict[str, list] = {}
    used, names = set(), set()
    for decls in _walk(kept):
        for d in decls:
            if d.name.startswith("--"):
                defs.setdefault(d.name, []).append(d.value)
            else:
                _var_refs(d.value, used)
                if d.lower_name in ("animation", "animation-name"):
                    names |= {t.value for t in d.value if t.type == "ident"}
    todo = list(used)
    while todo:
        for value in defs.get(todo.pop(), []):
            for name in _var_refs(value, set()) - used:
                used.add(name)
                todo.append(name)
    return used, names


def _serialise(kept: list, used: set, animations: set, indent: str = "") -> list[str]:
    out = []
    for kind, prelude, body in kept:
        if kind == "rule":
            decls = [f"{d.name}:{_text(d.value)}{' !important' if d.important else ''}" for d in body
                     if not d.name.startswith("--") or d.name in used]
            if decls:
                out.append(f"{indent}{prelude}{{{';'.join(decls)}}}")
        elif kind == "group":
            inner = _serialise(body, used, animations, indent + "  ")
            if inner:
                out.append(f"{prelude}{{\n" + "\n".join(inner) + "\n}")
        else:
            rule = prelude
            if rule.lower_at_keyword.endswith("keyframes") and _text(rule.prelude) not in animations:
                continue
            import tinycss2
            out.append(indent + tinycss2.serialize([rule]).strip())
    return out


def prune_css(css: str, class_ok=_class_ok, id_ok=_id_ok) -> str:
    """`css` less what no report can use: rules whose selectors need a class or id no report carries
    (`class_ok`, `id_ok`: those a report can carry), custom properties no kept rule uses, keyframes no kept
    rule runs; comments and spacing squeezed. The cascade's order is kept."""
    import tinycss2
    kept = _kept_rules(tinycss2.parse_stylesheet(css, skip_whitespace=True, skip_comments=True), class_ok, id_ok)
    used, animations = _used(kept)
    return "\n".join(_serialise(kept, used, animations)) + "\n"
