"""Today's verdict rules (one seed; the paired, replicated rules of VERDICTS.md replace them next)."""
from __future__ import annotations

__all__ = ["VERDICTS", "claim_row", "verdict_order", "verdict_value"]

VERDICTS = ("reproduced", "not reproduced", "not testable here")


def verdict_value(paper_value: float, ours: float, ci=None, tolerance: float = 0.02, profile: str = "cpu",
                  substitute: str = "", untestable: str = "") -> tuple[str, str]:
    """Does our figure reproduce a numeric claim? The paper's value inside our CI, or within `tolerance`
    of ours, counts as reproduced.

    untestable: a reason the setting cannot test the claim (e.g. random init instead of ImageNet weights).
    """
    if profile == "demo":
        return "not testable here", "DEMO run on generated data"
    if untestable:
        return "not testable here", f"{untestable}; ours {ours:.4f}"
    inside = ci is not None and ci[0] <= paper_value <= ci[1]
    near = abs(paper_value - ours) <= tolerance
    note = f"paper {paper_value:.4f} vs ours {ours:.4f}" + (f"; {substitute}" if substitute else "")
    return ("reproduced" if inside or near else "not reproduced"), note


def verdict_order(claim_holds: bool, margin: float, profile: str = "cpu", substitute: str = "",
                  overlap: bool | None = None, untestable: str = "") -> tuple[str, str]:
    """Does a comparative claim (X beats Y) hold in our run? margin = our X minus our Y."""
    if profile == "demo":
        return "not testable here", "DEMO run on generated data"
    if untestable:
        return "not testable here", f"{untestable}; our difference {margin:+.4f}"
    note = f"difference {margin:+.4f}"
    if overlap:
        note += " (the 95% CIs overlap: the order is within test-set noise)"
    if substitute:
        note += f"; {substitute}"
    return ("reproduced" if claim_holds else "not reproduced"), note


def claim_row(claim, paper_value, our_value, verdict: tuple[str, str], ci=None) -> dict:
    """One claim row for the record and the tables (`claim` is a registry entry)."""
    return {"id": claim.id, "claim": claim.text, "paper_value": paper_value, "our_value": our_value,
            "ci": list(ci) if ci is not None else None, "verdict": verdict[0], "note": verdict[1]}
