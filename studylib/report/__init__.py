"""Reports: the `Run` a notebook makes, run records, the header and claim tables, plots, widgets, scorecard."""
from .. import lazy

# imported on first use (`studylib.lazy`): papermill loads this package's engine (`kernel`) on every import
__getattr__, __dir__, __all__ = lazy.attach(
    __name__, ["audit", "display", "plots", "records", "scorecard", "scorecard_page", "sweep", "tables", "widgets"],
    {"Run": "run"})
