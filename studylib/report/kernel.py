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
    """Extra keyword arguments for ``papermill.execute_notebook``.

    papermill hands unknown keywords to its engine, which builds nbclient's NotebookClient with them;
    the client passes its ``config`` on to the kernel manager it creates.

    Example:
        papermill.execute_notebook(src, dst, parameters=p, kernel_name="python3", cwd=out,
                                   **kernel.papermill_kwargs())
    """
    return {"config": kernel_config()}
