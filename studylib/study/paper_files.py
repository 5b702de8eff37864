"""The paper files read and checked (docs/METHOD.md, Claims are data, and Checks and evidence;
`papers/<id>.yaml`, or $STUDYLIB_PAPERS; docs/ADDING_A_PAPER.md): the `Claim` and `Evidence` entries,
`load` (every entry checked: an unknown key, a claim citing an arm no notebook defines, a duplicated id or
a missing margin fails here, naming the file, the claim and the key) and `load_papers` (one file per
paper). `study.claims` holds the registry loaded from them, and the lookups by arm id."""
from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from .. import paths
from ..train.experiment import PROTOCOLS

__all__ = ["KINDS", "LADDER_AT", "MEASURES", "Claim", "Evidence", "RegistryError", "load", "load_papers", "papers_folder"]


class RegistryError(ValueError):
    """A claim or evidence entry the registry refuses (the message names the entry and the key)."""


@dataclass(frozen=True)
class Claim:
    """One claim of a paper (or, kind 'check', a documented fact about the data)."""

    id: str
    paper: str
    text: str                        # the claim, as the paper puts it
    kind: str                        # "value": the paper reports `value`; "order": arms[0] beats arms[1]; "check"
    metric: str                      # scikit-learn name of what is compared
    notebook: str                    # the notebook that tests it
    arms: tuple[str, ...]            # arm ids (ARMS) of that notebook: the arm (value) or arms A, B (order)
    value: float | None = None       # the paper's figure (value claims and checks)
    margin: float | None = None      # value: the band [value - margin, value + margin]; order: smallest d that matters
    when: dict = field(default_factory=dict)       # the run's params this claim needs (e.g. dataset)
    backbone: str = ""               # what the paper used; another backbone is a stand-in
    data_note: dict = field(default_factory=dict)  # dataset param -> note when our data stands in for theirs
    also: dict = field(default_factory=dict)       # the paper's other figures, shown beside (metric -> value)
    untestable: str = ""             # why this study cannot test it ("" when it can)
    protocol: str = ""               # the paper's protocol where ours differs
    test_protocol: str = "best"      # which model the paper tests (train.PROTOCOLS): "best" on validation, or "final" epoch
    protocol_reason: str = ""        # why we read the paper's test protocol so
    paper_epochs: int | None = None  # the epochs the paper trained (None: it names none, so any cap is ours)
    split: str = "test"              # "test", or "val": judged on validation (records keep per-seed scores only)
    at: str = ""                     # a claim over a ladder of training-set sizes (notebook 08's curves), judged
                                     # from a render's records by `studylib judge` (docs/METHOD.md, Claims over a
                                     # ladder): "every" rung, the "largest" or "smallest" rung, or "ends" (trend)
    fraction: float | None = None    # kind "epochs", measure "to_fraction": the share of its own best to reach
    measure: str = ""                # kind "epochs": "chosen" (the epoch chosen on validation) or "to_fraction"


@dataclass(frozen=True)
class Evidence:
    """A computed check of a paper's own reported figures (docs/METHOD.md, Checks and evidence): shown
    beside `about`."""

    id: str
    paper: str
    text: str                        # what is checked, in words
    figures: dict                    # the paper's figures (name -> value), as printed
    rule: str                        # "near": every figure within `tolerance` of `reference`; "ratio": each
                                     # figure / reference; "spread": max - min; "statement": the paper's words
    reference: float | None = None
    reference_name: str = ""
    tolerance: float | None = None
    quote: str = ""                  # the paper's words the check rests on
    about: tuple[str, ...] = ()      # the claim ids it bears on


_RULES = ("near", "ratio", "spread", "statement")
KINDS = ("value", "order", "check", "equivalence", "trend", "epochs")
# which rungs each kind over a ladder may be judged at (`Claim.at`; docs/METHOD.md, Claims over a ladder)
LADDER_AT = {"order": ("every", "largest", "smallest"), "equivalence": ("every", "largest", "smallest"),
             "epochs": ("every", "largest", "smallest"), "trend": ("ends",)}
MEASURES = ("chosen", "to_fraction")


def _ladder_problem(c: Claim) -> tuple[str, str] | None:
    """(key, why) when a claim's ladder keys do not fit its kind; None when they do."""
    if c.kind in ("equivalence", "trend", "epochs") and not c.at:
        return "at", f"a {c.kind} claim is judged over a ladder of sizes: say at which rungs ({', '.join(LADDER_AT[c.kind])})"
    if c.at and c.at not in LADDER_AT.get(c.kind, ()):
        return "at", f"{c.at!r} is not one of {', '.join(LADDER_AT.get(c.kind, ())) or 'nothing: a ' + c.kind + ' claim has no ladder'}"
    if c.kind == "epochs" and c.measure not in MEASURES:
        return "measure", f"{c.measure!r} is not one of {', '.join(MEASURES)}"
    if c.measure == "to_fraction" and not (c.fraction is not None and 0 < c.fraction <= 1):
        return "fraction", "the measure to_fraction needs a fraction in (0, 1], stated before judging"
    if c.kind == "equivalence" and not (c.margin and c.margin > 0):
        return "margin", "an equivalence claim needs a margin above 0, stated before judging"
    return None


def load(claims, evidence=(), arms=None, where: str = "papers", known: dict | None = None) -> tuple[dict, dict]:
    """({id: Claim}, {id: Evidence}) after checking every entry; RegistryError naming `where`, the entry and
    the key otherwise: a duplicated id, an unknown kind, metric or test protocol, a claim without a margin, a
    value claim without a value, or an arm id the claim's notebook does not define (`arms`: {notebook: {arm
    id: label}}, the registry's ARMS; None: no notebook defines any; `claims.load` passes ARMS)."""
    from .stats import METRICS
    arms = {} if arms is None else arms
    out: dict[str, Claim] = {}
    for c in claims:
        bad = lambda key, why: RegistryError(f"{where}: claim {c.id!r}, key {key!r}: {why}")  # noqa: E731
        if c.id in out:
            raise bad("id", "duplicated; every claim id must be unique")
        if c.kind not in KINDS:
            raise bad("kind", f"{c.kind!r} is not one of {', '.join(KINDS)}")
        if c.margin is None:
            raise bad("margin", "missing; declare the band (value) or the smallest difference that matters (order)")
        if c.test_protocol not in PROTOCOLS:
            raise bad("test_protocol", f"unknown {c.test_protocol!r}; valid: {', '.join(PROTOCOLS)}")
        problem = _ladder_problem(c)
        if problem:
            raise bad(*problem)
        if c.kind != "check":
            if c.metric not in METRICS:
                raise bad("metric", f"unknown {c.metric!r}; valid: {', '.join(METRICS)}")
            if c.kind == "value" and c.value is None:
                raise bad("value", "a value claim needs the paper's figure")
            if len(c.arms) != (1 if c.kind == "value" else 2):
                raise bad("arms", f"a {c.kind} claim names {1 if c.kind == 'value' else 2} arm id(s), got {c.arms}")
            defined = arms.get(c.notebook)
            if defined is None:
                raise bad("notebook", f"{c.notebook!r} defines no arms; notebooks: {', '.join(arms)}")
            unknown = [a for a in c.arms if a not in defined]
            if unknown:
                raise bad("arms", f"arm id(s) {', '.join(map(repr, unknown))} are not defined by {c.notebook} "
                                  f"(its arms: {', '.join(defined)})")
        out[c.id] = c
    ev: dict[str, Evidence] = {}
    for e in evidence:
        if e.id in ev or e.id in out:
            raise RegistryError(f"{where}: evidence {e.id!r}, key 'id': duplicated")
        if e.rule not in _RULES:
            raise RegistryError(f"{where}: evidence {e.id!r}, key 'rule': {e.rule!r} is not one of {', '.join(_RULES)}")
        missing = [a for a in e.about if a not in out and a not in (known or {})]
        if missing:
            raise RegistryError(f"{where}: evidence {e.id!r}, key 'about': no claim {', '.join(missing)}")
        ev[e.id] = e
    return out, ev


_TOP_KEYS = ("paper", "reference", "arms", "shared", "claims", "evidence")
_REFERENCE_KEYS = ("authors", "title", "year", "seed", "link")


def _reference_value(value, where: str) -> float:
    """A reference figure as a paper file writes it: a number, a fraction [a, b], or "ln N"."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value) and value[1]:
        return value[0] / value[1]
    if isinstance(value, str) and value.startswith("ln ") and value[3:].strip().replace(".", "", 1).isdigit():
        return math.log(float(value[3:]))
    raise RegistryError(f"{where}: a number, a fraction [a, b] or \"ln N\", got {value!r}")


def _entries(doc: dict, key: str, cls, where: str, paper: str) -> list:
    fields = {f.name for f in dataclasses.fields(cls)} - {"paper"}
    out = []
    for i, entry in enumerate(doc.get(key) or []):
        if not isinstance(entry, dict):
            raise RegistryError(f"{where}: {key}[{i}] must be a mapping, got {type(entry).__name__}")
        name = f"{key}[{i}] ({entry.get('id', '?')})"
        unknown = sorted(set(entry) - fields)
        if unknown:
            raise RegistryError(f"{where}: {name}: unknown key {unknown[0]!r}; valid: {', '.join(sorted(fields))}")
        missing = [k for k in ("id", "text") if k not in entry]
        if missing:
            raise RegistryError(f"{where}: {name}: missing key {missing[0]!r}")
        entry = dict(entry, paper=str(paper))
        if cls is Claim:
            entry.setdefault("metric", "")
            if "kind" not in entry or "notebook" not in entry:
                raise RegistryError(f"{where}: {name}: missing key {'kind' if 'kind' not in entry else 'notebook'!r}")
            entry["arms"] = tuple(entry.get("arms") or ())
        else:
            ref = entry.pop("reference", None)
            if ref is not None:
                if not isinstance(ref, dict) or set(ref) - {"name", "value"}:
                    raise RegistryError(f"{where}: {name}, key 'reference': a mapping with name and value")
                entry["reference"] = _reference_value(ref.get("value"), f"{where}: {name}, key 'reference'")
                entry["reference_name"] = str(ref.get("name", ""))
            entry["about"] = tuple(entry.get("about") or ())
        out.append(cls(**entry))
    return out


def _read(path: Path, where: str) -> dict:
    import yaml
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise RegistryError(f"{where}: not valid YAML ({e})") from e
    if not isinstance(doc, dict) or "paper" not in doc:
        raise RegistryError(f"{where}: a paper file is a mapping with a 'paper' key (its id)")
    unknown = sorted(set(doc) - set(_TOP_KEYS))
    if unknown:
        raise RegistryError(f"{where}: unknown key {unknown[0]!r}; valid: {', '.join(_TOP_KEYS)}")
    bad = sorted(set(doc.get("reference") or {}) - set(_REFERENCE_KEYS))
    if bad:
        raise RegistryError(f"{where}: reference: unknown key {bad[0]!r}; valid: {', '.join(_REFERENCE_KEYS)}")
    return doc


def load_papers(folder) -> tuple[dict, dict, dict, dict]:
    """(CLAIMS, EVIDENCE, ARMS, PAPERS) from the paper files `folder/*.yaml`, one per paper (a paper is
    data: its reference, the arms its claims cite by id, its claims and its evidence checks). Every file
    and entry is checked (`load`); a bad one raises RegistryError naming the file and the key."""
    folder = Path(folder)
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise RegistryError(f"{folder}: no paper files (*.yaml); see docs/ADDING_A_PAPER.md")
    docs = {}
    for path in files:
        where = f"papers/{path.name}" if path.parent == paths.ROOT / "papers" else str(path)
        docs[where] = _read(path, where)
    arms, papers = {}, {}
    for where, doc in docs.items():  # first every file's arms, so a claim may cite an arm of another file
        paper = str(doc["paper"])
        if paper in papers:
            raise RegistryError(f"{where}: paper {paper!r} is also defined in {papers[paper]['file']}")
        papers[paper] = {**(doc.get("reference") or {}), "file": where}
        for notebook, defined in (doc.get("arms") or {}).items():
            for aid, label in (defined or {}).items():
                have = arms.setdefault(notebook, {})
                if aid in have and have[aid] != str(label):
                    raise RegistryError(f"{where}: arms.{notebook}.{aid}: labelled {label!r} here and "
                                        f"{have[aid]!r} in another paper file")
                have[aid] = str(label)
    claims: dict[str, Claim] = {}
    evidence: dict[str, Evidence] = {}
    for where, doc in docs.items():
        file_claims = _entries(doc, "claims", Claim, where, doc["paper"])
        dup = next((c.id for c in file_claims if c.id in claims), None)
        if dup:
            raise RegistryError(f"{where}: claim {dup!r}, key 'id': duplicated (also in another paper file)")
        claims.update(load(file_claims, arms=arms, where=where)[0])
    for where, doc in docs.items():  # evidence last: it names the claims it bears on
        for e in _entries(doc, "evidence", Evidence, where, doc["paper"]):
            if e.id in evidence or e.id in claims:
                raise RegistryError(f"{where}: evidence {e.id!r}, key 'id': duplicated")
            evidence.update(load([], [e], arms, where, known=claims)[1])
    return claims, evidence, arms, papers


def papers_folder() -> Path:
    """Where the paper files are: $STUDYLIB_PAPERS, else papers/ in the repository."""
    return Path(os.environ.get("STUDYLIB_PAPERS") or paths.ROOT / "papers")
