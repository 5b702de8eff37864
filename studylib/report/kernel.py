"""How the runner's notebooks talk to their kernel: over IPC (Unix sockets), not plaintext TCP.

A local kernel started over TCP listens on 127.0.0.1 ports, unencrypted; ipykernel (>= 7.4) warns
"Kernel is running over TCP without encryption" on every start, so every papermill run logged it. A
local kernel needs no network at all: jupyter_client's documented setting ``KernelManager.transport =
"ipc"`` puts the channels on Unix sockets beside the kernel's connection file (in Jupyter's runtime
folder, removed at shutdown), which ipykernel accepts without the warning. The warning is removed at
its cause, not filtered from the log.
"""
from __future__ import annotations

import uuid
from pathlib import Path

from traitlets.config import Config

TRANSPORT = "ipc"


def kernel_config() -> Config:
    """The traitlets config that starts one local kernel over IPC (any KernelManager, async included).

    Each call names its own socket path: left to itself, jupyter_client may name it `kernel-ipc` in the
    kernel's working folder and number the sockets by the first free suffix, so two kernels started at
    once in one report folder (two tasks of a profile) can take the same sockets and read each other's
    messages ("Invalid Signature")."""
    from jupyter_core.paths import jupyter_runtime_dir
    runtime = Path(jupyter_runtime_dir())
    runtime.mkdir(parents=True, exist_ok=True)
    return Config({"KernelManager": {"transport": TRANSPORT, "ip": str(runtime / f"kernel-{uuid.uuid4().hex}-ipc")}})


def papermill_kwargs() -> dict:
    """Extra keyword arguments for ``papermill.execute_notebook``: the studylib engine (`IPCEngine`), which
    gives nbclient's client a ``config`` that the client passes on to the kernel manager it creates.

    Example:
        papermill.execute_notebook(src, dst, parameters=p, kernel_name="python3", cwd=out,
                                   **kernel.papermill_kwargs())
    """
    from papermill.engines import papermill_engines
    # registered here too: a checkout on PYTHONPATH (no installed entry point, e.g. a GPU machine's kit)
    papermill_engines.register(ENGINE, _engine_class())
    return {"engine_name": ENGINE}


ENGINE = "studylib"  # papermill's engine name for IPCEngine (pyproject.toml's `papermill.engine` entry point)


def _engine_class():
    from papermill.engines import NBClientEngine

    class IPCEngine(NBClientEngine):
        """papermill's nbclient engine with the kernel over IPC (`kernel_config`): what the runner uses, and
        what a hand-typed `papermill ... -e studylib` gets, so neither starts a kernel on unencrypted TCP.

        The kernel is stopped at once when the last cell has run (nbclient's `shutdown_kernel="immediate"`),
        not asked to exit: its outputs are in the notebook by then and every file a notebook writes is
        written whole before its cell ends (write, then rename), so all a graceful exit adds is the
        interpreter's teardown with torch loaded, 1-2 s per task, measured."""

        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, **kwargs):
            kwargs.setdefault("config", kernel_config())
            kwargs.setdefault("shutdown_kernel", "immediate")
            return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)

    return IPCEngine


def __getattr__(name: str):
    # papermill loads the entry point `studylib.report.kernel:IPCEngine`; built on first use so importing
    # this module (every notebook does, through `studylib.report`) does not import papermill
    if name == "IPCEngine":
        return _engine_class()
    raise AttributeError(name)
