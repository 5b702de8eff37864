"""A subpackage's public names, imported on first use (PEP 562's module ``__getattr__``).

Why: each task starts three Python processes (the runner, its worker, the notebook's kernel), and
``import papermill`` loads studylib's papermill engine (``studylib.report.kernel``) through its entry point.
With eager ``__init__`` files, any of these imported every layer below the one it asked for: torch,
torchvision, scikit-learn, matplotlib, ipywidgets, about 6 s before a task's first line ran. Now a
process imports what it uses: ``studylib.report.kernel`` is papermill and traitlets, the local
executor's worker is papermill and nbconvert, and a notebook's ``report.Run`` is what ``Run`` needs.

Usage, in a package's ``__init__.py`` (``from . import x`` and ``from .x import Y`` as before, written as)::

    __getattr__, __dir__, __all__ = lazy.attach(__name__, ["x"], {"Y": "x"})

``package.x`` and ``from package import x, Y`` work as with the eager imports; a name neither lists is the
``AttributeError`` Python gives.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable

__all__ = ["attach"]


def attach(package: str, submodules: Iterable[str] = (), attrs: dict[str, str] | None = None
           ) -> tuple[Callable[[str], object], Callable[[], list[str]], list[str]]:
    """``(__getattr__, __dir__, __all__)`` for `package`: each of `submodules` imported when first read, each
    name of `attrs` ({name: its submodule}) read from its submodule then."""
    submodules, attrs = frozenset(submodules), dict(attrs or {})
    names = sorted(submodules | attrs.keys())

    def __getattr__(name: str) -> object:
        if name in submodules:  # importing it also sets it on the package: this runs once per name
            return importlib.import_module(f"{package}.{name}")
        if name in attrs:
            return getattr(importlib.import_module(f"{package}.{attrs[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return names

    return __getattr__, __dir__, names
