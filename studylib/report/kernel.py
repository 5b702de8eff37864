"""How the runner's notebooks talk to their kernel: over IPC (Unix sockets), not plaintext TCP.

A local kernel started over TCP listens on 127.0.0.1 ports, unencrypted; ipykernel (>= 7.4) warns
"Kernel is running over TCP without encryption" on every start, so every papermill run logged it. A
local kernel needs no network at all: jupyter_client's documented setting ``KernelManager.transport =
"ipc"`` puts the channels on Unix sockets beside the kernel's connection file (in Jupyter's runtime
folder, removed at shutdown), which ipykernel accepts without the warning. The warning is removed at
its cause, not filtered from the log.
"""
from __future__ import annotations

from traitlets.config import Config

TRANSPORT = "ipc"


def kernel_config() -> Config:
    """The traitlets config that starts local kernels over IPC (any KernelManager, async included)."""
    return Config({"KernelManager": {"transport": TRANSPORT}})


def papermill_kwargs() -> dict:
    """Extra keyword arguments for ``papermill.execute_notebook``.

    papermill hands unknown keywords to its engine, which builds nbclient's NotebookClient with them;
    the client passes its ``config`` on to the kernel manager it creates.

    Example:
        papermill.execute_notebook(src, dst, parameters=p, kernel_name="python3", cwd=out,
                                   **kernel.papermill_kwargs())
    """
    return {"config": kernel_config()}
