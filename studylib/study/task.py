"""One task, typed: a run of a profile at one grid point and seed, made once by `load_profile` and handed
on as itself: the runner's spec holds it, Ray pickles it to its worker, the local executor writes it to its
worker as JSON (`as_dict`, read back with `from_dict`: the one pair of conversions, at that process
boundary). Papermill gives the notebook only its named parameters (`study.parameters`), from which the
notebook's `Run` resolves the same Task once, as a hand-typed papermill command would.

`TaskPaths` owns where a task's files go in its profile's reports folder: its record and predictions under
`results/`, its state under `tasks/`, its log under `logs/`, its checkpoints under `checkpoints/`, its
report and the hidden name papermill writes the notebook under. Nothing else builds these paths.

A task declares what it reads (`upstream`, as ploomber's tasks do): the scorecard reads every task that
does not itself read records, a sweep's table the tasks of its points' notebook. The runner starts a task
once its upstream tasks have ended, and its inputs include their records.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["RESOURCES", "SMOKE_SUFFIX", "Task", "TaskPaths", "proves_only_the_pipeline"]

SMOKE_SUFFIX = "-smoke"  # `studylib run --profile gpu --smoke` renders profile gpu-smoke


def proves_only_the_pipeline(profile: str) -> bool:
    """The demo and smoke runs: generated data, tiny settings; their numbers judge no claim."""
    return profile == "demo" or profile.endswith(SMOKE_SUFFIX)

RESOURCES = {"cpus": 1, "gpus": 0}  # per task; the runner gives a task at least its share of the CPUs


class _File:
    """One of a task's files, read as an attribute of its `TaskPaths`: `out/<folder>/<name><suffix>` (a leading
    dot when `hidden`)."""

    def __init__(self, folder: str, suffix: str, doc: str = "", hidden: bool = False):
        self.folder, self.suffix, self.hidden, self.__doc__ = folder, suffix, hidden, doc or None

    def __get__(self, paths, owner=None):
        if paths is None:
            return self
        return paths.out / self.folder / f"{'.' if self.hidden else ''}{paths.name}{self.suffix}"


@dataclass(frozen=True)
class TaskPaths:
    """Where one task's files are, in its profile's reports folder `out`."""

    out: Path
    name: str
    results_dir: Path | None = None  # where the record goes when not `out/results` (a notebook run by hand)

    @property
    def results(self) -> Path:
        return Path(self.results_dir) if self.results_dir is not None else self.out / "results"

    @property
    def record(self) -> Path:
        return self.results / f"{self.name}.json"

    @property
    def predictions(self) -> Path:
        return self.results / f"{self.name}.npz"

    # the task's other files, each a folder of `out` ('' for `out` itself), the task's name, a suffix
    state = _File("tasks", ".json")
    running = _File("tasks", ".running", "Written while the task runs: which process on which node runs it.")
    log = _File("logs", ".log")
    checkpoints = _File("checkpoints", "")
    html = _File("", ".html")
    notebook = _File("", ".ipynb")
    partial_notebook = _File("", ".ipynb.part", "Where papermill writes the notebook while it runs (hidden; "
                             "renamed when the task ends).", hidden=True)


@dataclass(frozen=True)
class Task:
    """A run of a profile at one grid point and seed."""

    name: str                       # `<run>[--<key>=<value>...][--seed<k>]`: names its record and report
    notebook: str
    run: str = ""                   # the profile's run name ("" in an interactive session)
    seed: int = 0
    grid: dict = field(default_factory=dict)       # this task's grid point ({} when the run has no grid)
    params: dict = field(default_factory=dict)     # the notebook's parameter overrides, checked; seed set
    cuts: list = field(default_factory=list)       # what its report lists: the profile's cuts, then the run's own
    upstream: list = field(default_factory=list)   # the tasks whose records it reads (it starts once they ended)
    resources: dict = field(default_factory=lambda: dict(RESOURCES))
    profile: str = "demo"
    data_dir: str = ""              # as the notebook sees it (relative to the reports folder when run)
    results_dir: str = ""           # "" in an interactive session: no record is written
    run_cuts: list = field(default_factory=list)   # the run's own cuts (the tail of `cuts`): its report shows these
    siblings: list = field(default_factory=list)   # its run's tasks at its grid point, one per seed, itself
                                                   # included ([] with one seed): its report links them

    def __post_init__(self):
        object.__setattr__(self, "params", {**self.params, "seed": self.seed})  # the seed, set once, here

    def paths(self, out) -> TaskPaths:
        return TaskPaths(Path(out), self.name)

    def as_dict(self) -> dict:
        """Plain data (JSON): what the local executor writes for its worker process, read back by `from_dict`."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict | None, notebook: str = "") -> "Task":
        """The task `as_dict` wrote (a worker process reads its spec), or, for code that builds a task by
        hand (tests) from an empty dict, one of `notebook` with its defaults."""
        d = dict(d or {})
        if not d:
            return cls(name=notebook, notebook=notebook)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"task {d.get('name', '?')}: unknown key {unknown[0]!r}; a task has {', '.join(sorted(known))}")
        return cls(**d)

    def with_paths(self, data_dir: str, results_dir: str) -> "Task":
        return dataclasses.replace(self, data_dir=str(data_dir), results_dir=str(results_dir))
