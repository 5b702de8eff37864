"""Reports: the `Run` a notebook makes, run records, the header and claim tables, plots, widgets, scorecard."""
from . import audit, display, plots, records, scorecard, scorecard_page, sweep, tables, widgets
from .run import Run

__all__ = ["Run", "audit", "display", "plots", "records", "scorecard", "scorecard_page", "sweep", "tables", "widgets"]
