"""What the study runs and how it judges: each notebook's parameters, profiles, the claim registry,
today's verdict rules, and the arms an experiment trains."""
from .. import lazy

# imported on first use (`studylib.lazy`): reading a profile or a Task needs no torch
__getattr__, __dir__, __all__ = lazy.attach(
    __name__, ["arms", "claims", "experiments", "profile", "schema", "search", "sweep", "verdicts"],
    {"ParamsError": "schema"})
