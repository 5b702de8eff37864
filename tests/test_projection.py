"""A render's projection of the tasks it never timed (`study.projection`), on records with known epoch times:
the figures follow from the rules in the module's docstring, by hand."""
import json

from studylib.study.experiments import resolve, train_config as resolve_cfg
from studylib.study.profile import load_profile
from studylib.study.projection import PX_COST, TASK_OVERHEAD_S, Estimator, summary


def _record(folder, task, s_per_epoch, best, cap, stopped_early=True):
    """A finished record of `task`: every arm trained `cap` epochs of `s_per_epoch` seconds, peaking at `best`."""
    p = resolve(task.notebook, task.params)
    curve = [0.5 + 0.01 * min(e, best) - 0.001 * max(e - best, 0) for e in range(1, cap + 1)]
    metrics = {a.name: {"history": [{"seconds": s_per_epoch, "val_acc": v} for v in curve], "best_epoch": best,
                        "config": {"epochs": cap, "monitor": "val_acc"}, "stopped_early": stopped_early,
                        "frozen_params": 0 if a.scope == "all" else 1} for a in p.arms}
    rec = {"notebook": task.notebook, "run_name": task.run, "task": task.name, "seed": task.seed,
           "params": task.params, "wall_time_s": 999.0, "metrics": metrics}
    (folder / f"{task.name}.json").write_text(json.dumps(rec))


def test_a_task_never_timed_is_projected_from_the_epoch_times_of_finished_records(tmp_path):
    tasks = load_profile("cpu", data_dir="generated").tasks
    plants = [t for t in tasks if t.run == "05_partial_vs_full-plants"]
    fer, fer96 = (next(t for t in tasks if t.run == r and t.seed == 0)
                  for r in ("05_partial_vs_full-fer2013", "05_partial_vs_full-fer2013-96px"))
    _record(tmp_path, plants[0], s_per_epoch=10.0, best=2, cap=4)
    _record(tmp_path, fer, s_per_epoch=20.0, best=5, cap=6)
    estimate = Estimator([tmp_path, tmp_path / "absent"])
    p = resolve(plants[1].notebook, plants[1].params)
    # seed 1 searches nothing: each arm stops at the measured peak (2) plus the patience, within its cap
    exp, up = estimate(plants[1])
    assert exp == TASK_OVERHEAD_S + sum(10.0 * min(a_cfg.epochs, 2 + a_cfg.early_stopping_patience)
                                        for a_cfg in (resolve_cfg(p, a) for a in p.arms))
    assert up == TASK_OVERHEAD_S + sum(10.0 * resolve_cfg(p, a).epochs for a in p.arms)
    # seed 0 also trains each grid's other rates once
    exp0, _ = estimate(plants[0])
    assert exp0 - TASK_OVERHEAD_S == sum(len(a.lr_grid) * 10.0 * min(resolve_cfg(p, a).epochs,
                                                                     2 + resolve_cfg(p, a).early_stopping_patience)
                                         for a in p.arms)
    # the 96 px rung has no record of its own: its arms are the 48 px run's, each epoch PX_COST times dearer
    p96 = resolve(fer96.notebook, fer96.params)
    exp96, _ = estimate(fer96)
    assert abs(exp96 - TASK_OVERHEAD_S - sum(len(a.lr_grid) * 20.0 * PX_COST * min(resolve_cfg(p96, a).epochs, 5 + 3)
                                             for a in p96.arms)) < 1e-6
    # nothing measured near paper 003's ResNet18 arms: not projected, said so
    frozen = next(t for t in tasks if t.notebook == "04_frozen_vs_full")
    assert estimate(frozen) is None
    text = summary([plants[1], frozen], {}, 2, estimate)
    assert f"1 projected from measured speeds, {exp / 3600:.1f} task-hours expected ({up / 3600:.1f} if" in text
    assert "1 never timed and nothing measured near them" in text


def test_a_cap_that_cut_the_measured_arm_projects_past_it(tmp_path):
    """An arm whose cap stopped it while validation still rose peaks later than it could show: the projection
    takes 1.5x that cap (then the patience, within the new cap), not the epoch the cap allowed."""
    tasks = load_profile("cpu", data_dir="generated").tasks
    plants = [t for t in tasks if t.run == "05_partial_vs_full-plants"]
    _record(tmp_path, plants[0], s_per_epoch=10.0, best=4, cap=4, stopped_early=False)
    p = resolve(plants[1].notebook, plants[1].params)
    exp, _ = Estimator([tmp_path])(plants[1])
    assert exp == TASK_OVERHEAD_S + sum(10.0 * min(resolve_cfg(p, a).epochs, 6 + resolve_cfg(p, a).early_stopping_patience)
                                        for a in p.arms)
