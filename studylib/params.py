"""Parameter profiles: placeholder until the runner lands."""


class ParamsError(ValueError):
    """A bad parameter file: the message names the profile, run and key."""
