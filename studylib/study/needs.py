"""What a profile needs before it runs: the pretrained backbones its runs load."""
from __future__ import annotations

from .build import architecture_info
from .experiments import resolve
from .profile import Profile


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


def checkpoint_bytes(task) -> int:
    """Disk a training task holds at most in checkpoints while it runs: its arm's last and best epoch,
    each the weights and Adam's two moments in float32 (an lr-search trial keeps the same beside its
    memo). 0 for a task that trains nothing."""
    p = resolve(task.notebook, task.params)
    if not getattr(p, "arms", None):
        return 0
    backbone = getattr(p, "backbone", "small_cnn")
    return 2 * 3 * 4 * architecture_info(backbone)["total_params"]


def projection(tasks: list, last_wall_s: dict, workers: int, estimate=None) -> str:
    """The render's projection, printed before it starts: task-hours from each task's last wall time
    (where it ran before), and for those never timed what `estimate(task)` projects ((expected, upper)
    seconds, or None: `study.projection.Estimator`), the wall time with `workers` tasks at once, and the
    temporary disk its checkpoints need at once (the largest `workers` tasks' checkpoints; each is removed
    when its task ends)."""
    workers = max(1, workers)
    timed = [last_wall_s[t.name] for t in tasks if last_wall_s.get(t.name)]
    fresh = [t for t in tasks if not last_wall_s.get(t.name)]
    projected = [e for e in map(estimate, fresh) if e is not None] if estimate else []
    untimed = len(fresh) - len(projected)
    need = sorted((checkpoint_bytes(t) for t in tasks), reverse=True)[:workers]
    hours = sum(timed) / 3600
    text = f"projection: {len(tasks)} task(s) to run; {len(timed)} ran before, {hours:.1f} task-hours at their last wall times"
    if projected:
        exp, up = (sum(e[i] for e in projected) / 3600 for i in (0, 1))
        text += (f"; {len(projected)} projected from measured speeds, {exp:.1f} task-hours expected ({up:.1f} if "
                 f"every arm ran to its cap); in all about {(hours + exp) / workers:.1f} h of wall time with "
                 f"{workers} at once")
    if untimed:
        text += f"; {untimed} never timed and nothing measured near them (see README: bench figures)"
    return text + (f"; temporary space for checkpoints at most {sum(need) / 1e6:,.0f} MB "
                   f"({workers} at once, removed as each task ends)")
