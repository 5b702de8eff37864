"""What a profile needs before it runs: the pretrained backbones its runs load."""
from __future__ import annotations

from .experiments import resolve
from .profile import Profile
# The render's projection and the checkpoint disk it prints live in `study.projection`; these names stay
# importable from here for callers that still import them here (tests/test_integrity_runner.py).
from .projection import checkpoint_bytes, summary as projection  # noqa: F401


def pretrained_backbones(profile: Profile) -> list[tuple[str, str]]:
    """(backbone, weights_dir) of every run that loads pretrained weights, once each, in run order.

    weights_dir is the run's own `weights_dir` parameter ("" for the default folder). A run trained
    from scratch (03's small CNN, `pretrained: false`) needs none.
    """
    seen: dict[tuple[str, str], None] = {}
    for run in profile.tasks:
        p = resolve(run.notebook, run.params)
        if getattr(p, "pretrained", False) and getattr(p, "backbone", None):
            seen.setdefault((p.backbone, getattr(p, "weights_dir", "") or ""), None)
    return list(seen)
