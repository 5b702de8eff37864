"""What the study runs and how it judges: each notebook's parameters, profiles, the claim registry,
today's verdict rules, and the arms an experiment trains."""
from . import arms, claims, experiments, profile, schema, search, sweep, verdicts
from .schema import ParamsError

__all__ = ["ParamsError", "arms", "claims", "experiments", "profile", "schema", "search", "sweep", "verdicts"]
