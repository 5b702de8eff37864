"""`Run`: what one notebook execution holds (parameters, clock, data sources, weights, claims) and writes.

The notebook's header cell makes it; `run.save()` writes the record. Every notebook starts alike:

    run = report.Run.start("04_frozen_vs_full", profile, run, seed, grid, data_dir, out_dir, overrides)

(the notebook's named papermill parameters, `study.parameters`)
"""
from __future__ import annotations

import dataclasses
import shutil
import time
from pathlib import Path

import pandas as pd
from IPython.display import Markdown, display

from .. import paths
from ..data.splits import data_sources
from ..study import claims as registry
from ..study import verdicts
from ..study.experiments import as_dict, resolve
from ..study.parameters import task_from_parameters
from ..models.weights import allow_random_fallback
from ..study.task import SMOKE_SUFFIX, Task
from ..train import resolve_device, seed_everything
from . import display as show
from . import records
from . import run_files as files
from . import run_header as heading

__all__ = ["Run"]


@dataclasses.dataclass
class Run:
    """One execution of a notebook: its parameters (`run.p`), where it reads and writes, and what it found."""

    notebook: str
    p: object                         # the notebook's parameters dataclass (study.experiments)
    task: Task                        # what the runner handed the notebook (interactive: the demo profile's run)
    started: float = dataclasses.field(default_factory=time.perf_counter)
    sources: dict = dataclasses.field(default_factory=dict)
    weights: dict = dataclasses.field(default_factory=dict)
    claims: list = dataclasses.field(default_factory=list)

    @classmethod
    def start(cls, notebook: str, profile: str = "demo", run="", seed: int = 0, grid: dict | None = None,
              data_dir: str = "", out_dir: str = "", overrides: dict | None = None) -> "Run":
        """Resolve the notebook's named parameters (its papermill parameters cell, the same names the runner
        passes) into its Task (`study.parameters.task_from_parameters`: the profile's run at that grid point
        and seed, with the overrides checked), once, and start the run of it (`from_task`). Every parameter
        at its default (a notebook opened as cloned): the demo profile's run of the notebook on the demo
        data, writing no record. A Task already made (a test's, `Task.from_dict`) starts with `from_task`.

        Example (every notebook's third cell):
            run = report.Run.start("05_partial_vs_full", profile, run, seed, grid, data_dir, out_dir, overrides)
        """
        if isinstance(run, Run):  # the cell executed again in one kernel: `run` is the Run it made
            run = run.task.run
        return cls.from_task(notebook, task_from_parameters(notebook, profile, run, seed, grid, data_dir, out_dir,
                                                            overrides))

    @classmethod
    def from_task(cls, notebook: str, task: Task) -> "Run":
        """The run of `task`: its parameters (the notebook's defaults, then the task's); every RNG seeded
        with the task's seed before anything random is built (Run All twice in one kernel gives the same
        record), and the clock started."""
        if task.notebook != notebook:
            raise ValueError(f"task {task.name} is of notebook {task.notebook}, not {notebook}")
        where = f"notebook {notebook}" + (f", run {task.run} of profile {task.profile}" if task.run else "")
        # a smoke run builds absent pretrained weights from random init (and says so); nothing else does
        allow_random_fallback(task.profile.endswith(SMOKE_SUFFIX))
        p = resolve(notebook, task.params, where)
        seed_everything(p.seed)
        # a report's tables show each cell whole: pandas cuts text past 50 characters ("last two blocks <
        # everything" became "everything > everything...", a data fix's URL "github.com/Al..."), every report
        pd.set_option("display.max_colwidth", None)
        return cls(notebook, p, task)

    profile = property(lambda self: self.task.profile, doc="the profile the task belongs to")
    run_name = property(lambda self: self.task.run or self.notebook, doc="the profile's run name")
    siblings = property(lambda self: heading.siblings(self.task), doc="the run's tasks, one per seed")

    @property
    def seeds(self) -> int:
        """How many seeds the run has (its tasks at this grid point)."""
        return max(1, len(self.siblings))

    results_dir = property(lambda self: self.task.results_dir, doc="where the record goes ('': none)")
    data_dir = property(lambda self: files.data_dir(self.task), doc="the data folder (interactive: the demo's)")

    @property
    def device(self) -> str:
        """Where this run trains ('cpu' for runs that train nothing)."""
        train = getattr(self.p, "train", None)
        return str(resolve_device(train.get("device", "auto"))) if train is not None else "cpu"

    def memo_dir(self, name: str) -> Path:
        """A folder for this code's memoised intermediate results (`run_files.memo_dir`)."""
        return files.memo_dir(self.task, name)

    def checkpoints(self) -> Path | None:
        """This task's folder for its arms' checkpoints, keyed by code, parameters and the data read (call
        it after `header`; `run_files.checkpoints`)."""
        return files.checkpoints(self.task, as_dict(self.p), self.sources)

    def wall_time(self) -> float:
        return time.perf_counter() - self.started

    def add_sources(self, sources: dict) -> None:
        """Record data files read ({path: sha256}), keyed as reports show them (relative to the data folder)."""
        self.sources.update({paths.shown(p, self.data_dir): h for p, h in sources.items()})

    def header(self, text: str, *datasets, model=None) -> None:
        """Record the data read (and the model's weights) and display the report's header block, with the
        datasets' sizes."""
        self.add_sources(data_sources(*datasets))
        if model is not None:
            self.weights.update(show.weights_of(model))
        self.show_header(text, {ds.split: len(ds) for ds in datasets})

    def show_header(self, text: str, sizes: dict | None = None) -> None:
        """Display the header block with what is recorded so far. `text`: what this run is, one line under
        the notebook's title (its markdown H1, the report's one title); a text that repeats that title
        ("01 · Data audit") is not shown again."""
        text = "" if text.startswith(f"{self.notebook[:2]} ·") else text
        display(Markdown(show.header_markdown(show.Header(
            text, self.profile, as_dict(self.p), self.sources, self.weights, self.device,
            heading.cuts(self.task, self.p), heading.settings(self.p), heading.nav(self.task), sizes))))

    def judge(self, predictions: dict) -> list[dict]:
        """The registry's claims this run tests, judged on its test predictions ({protocol: {arm: (y_true,
        y_pred)}}, `study.arms.predictions_of`) under each claim's test protocol, the other protocol shown
        beside, by the scorecard's rules with this one seed (its p-values unadjusted: the scorecard adjusts
        across the profile's order claims and judges over every seed)."""
        def seeds(protocol):  # {arm id: [(y_true, y_pred)]}: claims cite arms by id (study.claims.ARMS)
            per_arm = registry.by_id(self.notebook, self.p, predictions[protocol])  # the notebook's: by label
            return {aid: [tuple(pred[:2])] for aid, pred in per_arm.items()}
        self.claims = [verdicts.judge(c, seeds(c.test_protocol), self.p, self.profile, self.task.name,
                                      other=seeds(verdicts.other_protocol(c)))
                       for c in registry.for_run(self.notebook, self.p)
                       if c.kind != "check" and c.split == "test" and all(arm in seeds(c.test_protocol) for arm in c.arms)]
        for row in self.claims:  # one seed's view: the pooled verdict is the scorecard's
            row["this_seed"] = self.p.seed
        return self.claims

    def check(self, claim_id: str, ours) -> dict:
        """Judge a data check of the registry (shown in the audit, never counted as a paper claim)."""
        row = verdicts.check_row(claim_id, ours, self.profile)
        self.claims.append(row)
        return row

    def save(self, metrics: dict, headline: str, paper: str, predictions: dict | None = None) -> None:
        """Write the run's JSON record (atomically) to results_dir/<task>.json and say where (it returns
        nothing: as a notebook's last line it would print the record's path a second time).

        predictions: {protocol: {arm: (y_true, y_pred[, probabilities])}} on the test images, stored beside
        the record as `<task>.npz` (its sha256 in the record; probabilities as float16), so that verdicts
        pair arms and seeds on the same images. The record keys metrics and predictions by arm id and keeps
        each arm's display label in `arms` (`records.by_arm_id`).
        """
        if not self.results_dir:
            print("results_dir is empty: no record written (interactive session)")
            return
        where = files.task_paths(self.task)
        metrics, predictions, arms = records.by_arm_id(self.notebook, self.p, metrics, predictions)
        preds = records.write_predictions(where.predictions, predictions) if predictions else None
        # the record's experiment is the run's name: one notebook may render several runs (05 on each dataset)
        ran = records.Provenance(self.sources, self.weights, self.wall_time(), self.device)
        rec = dataclasses.asdict(records.make_record(self.run_name or self.notebook, paper, as_dict(self.p),
                                                     metrics, ran, self.claims, arms))
        rec.update(headline=headline, run_name=self.run_name, task=self.task.name, seed=self.p.seed,
                   notebook=self.notebook, profile=self.profile, predictions=preds)
        path = records.write_record(rec, where.record)
        shutil.rmtree(where.checkpoints, ignore_errors=True)  # done: nothing left to resume
        print(f"record: {path.name} · wall time {self.wall_time():.0f}s · {headline}")

