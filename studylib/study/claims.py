"""The claim registry: every paper figure the study tests, read from one file per paper (docs/METHOD.md,
Claims are data, and Checks and evidence; `papers/<id>.yaml`, or $STUDYLIB_PAPERS;
docs/ADDING_A_PAPER.md).

A paper is data: no paper figure is typed in Python. Notebooks and the scorecard read the figures from
here. Claims name the arms that test them by a stable id (`ARMS`: the arms each notebook defines, id ->
display label, from the paper files), never by a display label, and the registry is checked when it
loads (`paper_files`: `load_papers`, `load`, re-exported here): an unknown key, a claim citing an arm no
notebook defines, a duplicated id or a missing margin fails here, naming the file, the claim and the key,
not silently on the scorecard. `EVIDENCE` holds the computed checks of a paper's own numbers (Checks and evidence), shown
beside its claims and never counted as verdicts. `study.verdicts` judges the claims (Crossed bootstrap to
Budget flags).
"""
from __future__ import annotations

from .arm_spec import arm_slug
from .paper_files import KINDS, Claim, Evidence, RegistryError, load_papers, papers_folder
from .paper_files import load as _load

__all__ = ["ARMS", "CLAIMS", "EVIDENCE", "KINDS", "PAPERS", "Claim", "Evidence", "RegistryError", "arm_label", "arm_labels",
           "by_id", "for_run", "ladder_claims", "load", "load_papers", "papers_folder", "record_arms", "run_arms", "scorecard_claims", "stand_in",
           "tests"]


CLAIMS, EVIDENCE, ARMS, PAPERS = load_papers(papers_folder())


def load(claims, evidence=(), arms=None, where: str = "papers", known: dict | None = None) -> tuple[dict, dict]:
    """`paper_files.load` against the registry's arms (`ARMS`) unless `arms` names others."""
    return _load(claims, evidence, ARMS if arms is None else arms, where, known)


def run_arms(params) -> dict:
    """{arm id: arm} of a run's own arms (`params.arms`: Arm objects, or the dicts a record keeps). Every Arm
    has an id (`Arm`: given, or the slug of its name); a record written before arms had ids lists an arm
    without one, and gets the id that arm would get now."""
    out = {}
    for arm in (_get(params, "arms") or []) if params is not None else []:
        aid, name = (arm.get("id"), arm.get("name", "")) if isinstance(arm, dict) else (arm.id, arm.name)
        out[aid or arm_slug(name)] = arm
    return out


def arm_labels(notebook: str, params=None) -> dict[str, str]:
    """{arm id: display label} of a run of `notebook`: the registry's arms of the notebook (the paper files'
    `arms:`, which also name what no Arm trains, e.g. features + SVM), the run's own arms (`params`: their
    id and name) over them. The one place a display label is found for an id, for showing."""
    labels = dict(ARMS.get(notebook, {}))
    for aid, arm in run_arms(params).items():
        labels[aid] = arm.get("name", aid) if isinstance(arm, dict) else arm.name
    return labels


def arm_label(notebook: str, arm: str, params=None) -> str:
    """The display label of an arm id (`arm_labels`; the id itself when no arm of the run has it)."""
    return arm_labels(notebook, params).get(arm, arm)


def by_id(notebook: str, params, per_label: dict) -> dict:
    """{arm id: value} of {display label: value}: the one reader of label keys, for what a notebook keys by
    its arms' labels (`study.arms.train_arms`' outcomes, features + SVM beside them) and for records written
    before ids (`record_arms`). A key that is no arm's label (a curves point, the scorecard's `claims`) is
    kept as it is."""
    ids = {label: aid for aid, label in arm_labels(notebook, params).items()}
    return {ids.get(key, key): value for key, value in per_label.items()}


def record_arms(record: dict, per_arm: dict) -> dict:
    """{arm id: entry} of a record's per-arm mapping (its `metrics`, or one protocol of its predictions),
    entries that are no arm's left out. A record keys them by arm id and lists its arms (`arms`: {id:
    display label}); one written before ids has no `arms` and keys them by display label, read through
    `by_id` with the record's own parameters."""
    arms = record.get("arms")
    if arms is None:
        notebook, params = record.get("notebook") or "", record.get("params") or {}
        per_arm, arms = by_id(notebook, params, per_arm), arm_labels(notebook, params)
    return {aid: entry for aid, entry in per_arm.items() if aid in arms}


def _get(params, key):
    return params.get(key) if isinstance(params, dict) else getattr(params, key, None)


def tests(claim: Claim, params) -> bool:
    """Whether a run with these params (a dataclass or a record's dict) tests the claim: its `when` holds
    (our stand-in dataset counts) and, for a claim about pretrained weights, the run is pretrained."""
    if claim.backbone and _get(params, "pretrained") is False:
        return False
    for key, want in claim.when.items():
        have = _get(params, key)
        if have != want and not (key == "dataset" and have in claim.data_note):
            return False
    return True


def for_run(notebook: str, params, kind: str | None = None) -> list[Claim]:
    """The registry's claims a run of `notebook` with `params` tests, in registry order. A claim over a ladder
    of sizes (`Claim.at`) is no run's: `studylib judge` judges it from a render's records (`scorecard_claims`)."""
    return [c for c in CLAIMS.values() if c.notebook == notebook and not c.at and tests(c, params)
            and (kind is None or c.kind == kind)]


def scorecard_claims() -> list[Claim]:
    """The claims a profile's scorecard judges from its runs' records, in registry order: every claim but
    those over a ladder of sizes (`Claim.at`), which `studylib judge` judges on a curves render."""
    return [c for c in CLAIMS.values() if not c.at]


def ladder_claims() -> list[Claim]:
    """The claims over a ladder of sizes (`Claim.at`; docs/METHOD.md, Claims over a ladder), in registry order."""
    return [c for c in CLAIMS.values() if c.at]


def stand_in(claim: Claim, params) -> str:
    """What in this run stands in for the paper's setting ('' when nothing does)."""
    backbone = _get(params, "backbone") or ""
    notes = [f"{backbone} stands in for {claim.backbone}" if claim.backbone and backbone != claim.backbone else "",
             claim.data_note.get(_get(params, "dataset") or "", "")]
    return "; ".join(n for n in notes if n)
