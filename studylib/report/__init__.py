"""Reports: the `Run` a notebook makes, run records, the header and claim tables, plots, widgets, scorecard."""
from . import display, plots, records, scorecard, sweep, tables, widgets
from .run import Run

__all__ = ["Run", "display", "plots", "records", "scorecard", "sweep", "tables", "widgets"]
