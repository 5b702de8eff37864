"""The runner's kernels start over IPC, so the plaintext-TCP warning never reaches a run's log."""
import nbformat
import papermill as pm
import pytest

from studylib.report import kernel

WARNING = "Kernel is running over TCP without encryption"


def _run_tiny(tmp_path, **kwargs) -> str:
    """Execute a one-cell notebook that prints its kernel's transport; return that transport."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    nb.cells = [nbformat.v4.new_code_cell(
        "from ipykernel.connect import get_connection_info\nprint(get_connection_info(unpack=True)['transport'])")]
    nbformat.write(nb, tmp_path / "tiny.ipynb")
    (tmp_path / "run").mkdir(exist_ok=True)
    pm.execute_notebook(str(tmp_path / "tiny.ipynb"), str(tmp_path / "out.ipynb"), kernel_name="python3",
                        cwd=str(tmp_path / "run"), progress_bar=False, log_output=False, **kwargs)
    out = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    return out.cells[0].outputs[0]["text"].strip()


@pytest.mark.slow
def test_papermill_kwargs_start_the_kernel_over_ipc_without_the_warning(tmp_path, capfd, caplog):
    assert _run_tiny(tmp_path, **kernel.papermill_kwargs()) == "ipc"
    err = capfd.readouterr().err  # the kernel is a subprocess writing to this process's stderr
    assert WARNING not in err and WARNING not in caplog.text
    assert list((tmp_path / "run").iterdir()) == []  # no socket files left in the run's folder


@pytest.mark.slow
def test_without_them_the_kernel_uses_tcp_and_warns(tmp_path, capfd):
    """The control: the same run with papermill's defaults shows what the kwargs remove."""
    assert _run_tiny(tmp_path) == "tcp"
    assert WARNING in capfd.readouterr().err


def test_each_kernel_gets_its_own_sockets():
    """Two tasks start kernels at once in one report folder: shared socket paths would cross their messages."""
    a, b = (kernel.kernel_config().KernelManager.ip for _ in range(2))
    assert a != b and "/" in a  # distinct, and absolute (not `kernel-ipc` in the working folder)


@pytest.mark.slow
def test_a_hand_typed_papermill_command_gets_the_same_engine(tmp_path, capfd):
    """`papermill in.ipynb out.ipynb -e studylib`: the engine is found by its entry point (pyproject.toml)."""
    import subprocess
    import sys
    _run_tiny(tmp_path)  # writes tiny.ipynb
    capfd.readouterr()
    subprocess.run([sys.executable, "-m", "papermill", str(tmp_path / "tiny.ipynb"), str(tmp_path / "cli.ipynb"),
                    "--engine", "studylib", "-k", "python3", "--no-progress-bar"], check=True, cwd=tmp_path)
    out = nbformat.read(tmp_path / "cli.ipynb", as_version=4)
    assert out.cells[0].outputs[0]["text"].strip() == "ipc"
    assert WARNING not in capfd.readouterr().err
