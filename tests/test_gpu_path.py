"""The GPU path of train.fit, checked on the CPU (issue 28): determinism settings, device-resident data and
the bf16 autocast path. No test here needs a GPU: the CUDA settings are set and read back without one, the
meta device stands in for a GPU where the question is only where tensors live, and bf16 autocast runs on
the CPU."""
import os

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

import studylib.train.loop as loop
from studylib.data.base import ImageDataset
from studylib.train import TrainConfig, fit
from studylib.train.augment import make_augment
from studylib.train.batches import BatchConfig, BatchSource, use_resident
from studylib.train.numerics import Numerics
from studylib.train.speed import CUBLAS_WORKSPACE, apply_determinism

CLASSES = ["top-left", "top-right", "bottom-left", "bottom-right"]
HISTORY = ["epoch", "lr", "train_loss", "train_acc", "val_loss", "val_acc", "val_macro_f1"]


def quadrant_data(n, seed, size=16, split="train"):
    """Noisy grey images whose class is the one bright quadrant."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    img = rng.normal(60, 25, (n, size, size, 1))
    h = size // 2
    for i, c in enumerate(y):
        r, col = divmod(int(c), 2)
        img[i, r * h:(r + 1) * h, col * h:(col + 1) * h] += 120
    return ImageDataset(np.clip(img, 0, 255).astype(np.uint8), y.astype(np.int64), CLASSES, split, "quadrants")


class TinyNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, padding=1)
        self.body = nn.Sequential(nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten())
        self.head = nn.Linear(32, 4)

    def forward(self, x):
        return self.head(self.body(self.conv(x)))


def make_model(seed=0):
    torch.manual_seed(seed)
    return TinyNet()


@pytest.fixture(scope="module")
def data():
    return quadrant_data(96, 0), quadrant_data(48, 1, split="val")


def cfg(**kw):
    base = dict(epochs=2, batch_size=16, lr=1e-2, seed=0, device="cpu", max_steps_per_epoch=4)
    return TrainConfig(**{**base, **kw})


def same_history(a, b):
    pd.testing.assert_frame_equal(a.history[HISTORY], b.history[HISTORY], check_exact=True)
    for (k, x), y in zip(a.model.state_dict().items(), b.model.state_dict().values()):
        assert torch.equal(x, y), k


# --- 1. determinism ----------------------------------------------------------------

def _global_numerics():
    return (torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic,
            torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled(),
            os.environ.get("CUBLAS_WORKSPACE_CONFIG"))


@pytest.fixture()
def restore_numerics():
    """Put back every process-wide setting apply_determinism may change (the rest of the suite runs after)."""
    bench, cudnn_det, algos, warn_only, cublas = _global_numerics()
    os.environ.pop("CUBLAS_WORKSPACE_CONFIG", None)
    yield
    torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = bench, cudnn_det
    torch.use_deterministic_algorithms(algos, warn_only=warn_only)
    os.environ.pop("CUBLAS_WORKSPACE_CONFIG", None)
    if cublas is not None:
        os.environ["CUBLAS_WORKSPACE_CONFIG"] = cublas


def test_determinism_on_cpu_changes_nothing_global(restore_numerics):
    before = _global_numerics()
    for deterministic in (True, False):
        # a CPU run is deterministic for its fixed thread count, whatever the switch says
        assert apply_determinism(torch.device("cpu"), deterministic) == {"deterministic": True}
        assert _global_numerics() == before
    assert apply_determinism(torch.device("mps"), True) == {"deterministic": None}  # MPS promises nothing
    assert _global_numerics() == before


def test_determinism_on_cuda_sets_the_flags_and_the_cublas_workspace(restore_numerics):
    # the flags are plain process settings: setting them needs no GPU, and nothing here runs on one
    cuda = torch.device("cuda")
    got = apply_determinism(cuda, True)
    assert got == {"deterministic": True, "cudnn_benchmark": False, "cublas_workspace_config": CUBLAS_WORKSPACE}
    assert _global_numerics() == (False, True, True, True, CUBLAS_WORKSPACE)
    assert CUBLAS_WORKSPACE == ":4096:8"

    # the speed trade: cuDNN benchmarks, nondeterministic kernels allowed; the workspace stays as it was
    got = apply_determinism(cuda, False)
    assert got == {"deterministic": False, "cudnn_benchmark": True, "cublas_workspace_config": CUBLAS_WORKSPACE}
    assert _global_numerics()[:3] == (True, False, False)

    # a workspace the user set is theirs (":16:8" is the other deterministic setting) and is recorded
    os.environ["CUBLAS_WORKSPACE_CONFIG"] = ":16:8"
    assert apply_determinism(cuda, True)["cublas_workspace_config"] == ":16:8"
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":16:8"


def test_fit_records_the_numerics_it_ran_with(data, monkeypatch, restore_numerics):
    train, val = data
    res = fit(make_model(), train, val, cfg(epochs=1))
    assert res.speed["deterministic"] is True and res.speed["amp_dtype"] is None
    assert res.speed["resident"] is False  # on the CPU by default the data needs no moving
    assert "cudnn_benchmark" not in res.speed

    # the switch reaches apply_determinism before training, and what it returns is what fit records
    calls = []
    cuda_like = {"deterministic": False, "cudnn_benchmark": True, "cublas_workspace_config": None}

    def fake(device, deterministic):
        calls.append((device.type, deterministic))
        return dict(cuda_like)

    monkeypatch.setattr(loop, "apply_determinism", fake)
    res = fit(make_model(), train, val, cfg(epochs=1, deterministic=False))
    assert calls == [("cpu", False)]
    assert {k: res.speed[k] for k in cuda_like} == cuda_like


def test_deterministic_and_resident_may_change_on_resume():
    from studylib.train.config import resume_may_change
    assert {"deterministic", "resident"} <= resume_may_change()  # float rounding and speed, never what it learns


# --- 2. device-resident data ----------------------------------------------------------

@pytest.mark.parametrize("augment", ["seed003", "mild"])
def test_resident_batches_are_the_host_batches(data, augment):
    train, _ = data
    images, targets = torch.from_numpy(train.images), torch.from_numpy(train.targets)

    def epochs(resident):
        torch.manual_seed(5)  # augmentation draws from the global RNG, as fit seeds it
        src = BatchSource(images, targets, BatchConfig(16, resident=resident), torch.Generator().manual_seed(3),
                          Numerics(torch.device("cpu"), 20), augment=make_augment(augment, 20, 1))
        return [[(x.clone(), y.clone()) for x, y in src] for _ in range(2)]  # two passes: two orders

    host, resident = epochs(False), epochs(True)
    assert len(host[0]) == len(resident[0]) == 6
    for h_epoch, r_epoch in zip(host, resident):
        for (hx, hy), (rx, ry) in zip(h_epoch, r_epoch):
            assert torch.equal(hx, rx) and torch.equal(hy, ry)
    assert not torch.equal(host[0][0][1], host[1][0][1])  # each pass drew a new order


class _HostCopies(TorchDispatchMode):
    """Ops that bring host data onto the meta device: a copy from a CPU tensor (a scalar is a kernel argument,
    not a copy), or a tensor built on the device from Python data (`torch.tensor([w, h], device=...)`: a copy
    on a GPU, which the dispatcher does not show, hence the wrapped constructors)."""

    def __init__(self):
        super().__init__()
        self.ops, self._constructors = [], (torch.tensor, torch.as_tensor)

    def _built(self, make):
        def wrapped(data, *args, **kwargs):
            out = make(data, *args, **kwargs)
            if not isinstance(data, torch.Tensor) and out.device.type != "cpu":
                self.ops.append(f"{make.__name__}(Python data)")
            return out
        return wrapped

    def __enter__(self):
        torch.tensor, torch.as_tensor = map(self._built, self._constructors)
        return super().__enter__()

    def __exit__(self, *exc):
        torch.tensor, torch.as_tensor = self._constructors
        return super().__exit__(*exc)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        ins = [t for t in tree_flatten((args, kwargs))[0] if isinstance(t, torch.Tensor)]
        outs = [t for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)]
        if any(t.device.type == "cpu" and t.dim() > 0 for t in ins) and any(t.device.type == "meta" for t in outs):
            self.ops.append(str(func))
        return out


def test_a_resident_step_copies_nothing_from_the_host(data):
    # meta stands in for a GPU: where each tensor lives is tracked, nothing is computed. One pass over resident
    # data copies the shuffle order once; the host path copies every batch (the check's own control)
    train, _ = data
    meta = torch.device("meta")
    images, targets = torch.from_numpy(train.images), torch.from_numpy(train.targets)
    augment = make_augment("seed003", 20, 1).to(meta)  # RandomAffineChain: its parameters drawn on the device
    counts = {}
    for resident in (True, False):
        src = BatchSource(images, targets, BatchConfig(16, resident=resident), torch.Generator().manual_seed(0),
                          Numerics(meta, 20), augment=augment)
        with _HostCopies() as seen:
            steps = [(x.device, y.device) for x, y in src]
        assert len(steps) == 6 and set(steps) == {(meta, meta)}
        counts[resident] = seen.ops
    assert counts[True] == ["aten._to_copy.default"]  # the pass's order, once
    assert len(counts[False]) >= 2 * 6                 # images and targets of every batch


def test_resident_is_chosen_on_cuda_and_can_be_overridden(monkeypatch):
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert use_resident(None, cpu, 10) is False and use_resident(True, cpu, 10) is True
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (1000, 4000))
    assert use_resident(None, cuda, 250) is True
    assert use_resident(None, cuda, 251) is False  # more than a quarter of the free memory stays on the host
    assert use_resident(False, cuda, 1) is False


def test_fit_resident_or_not_learns_the_same(data):
    train, val = data
    on = fit(make_model(), train, val, cfg(augment="seed003", resident=True))
    off = fit(make_model(), train, val, cfg(augment="seed003", resident=False))
    assert on.speed["resident"] is True and off.speed["resident"] is False
    same_history(on, off)


# --- 3. autocast in bf16 ---------------------------------------------------------------

def test_bf16_autocast_trains_and_the_forward_runs_in_bf16(data, monkeypatch):
    # on a GPU with bf16 (pick_amp_dtype), fit trains and evaluates under autocast; forced here on the CPU
    train, val = data
    monkeypatch.setattr(loop, "pick_amp_dtype", lambda device: torch.bfloat16)
    seen = []

    def watch(model):
        for layer in (model.conv, model.head):
            layer.register_forward_hook(lambda m, i, o, name=type(layer).__name__: seen.append((name, m.training,
                                                                                              o.dtype)))
        return model

    res = fit(watch(make_model()), train, val, cfg(amp=True))
    assert res.speed["amp_dtype"] == "bfloat16"
    assert np.isfinite(res.history[["train_loss", "val_loss"]].to_numpy()).all()
    for name in ("Conv2d", "Linear"):
        for training in (True, False):  # the training steps and the validation scoring
            dtypes = {d for n, t, d in seen if n == name and t == training}
            assert dtypes == {torch.bfloat16}, (name, training, dtypes)

    seen.clear()
    plain = fit(watch(make_model()), train, val, cfg(amp=False))  # amp off: float32 throughout
    assert plain.speed["amp_dtype"] is None and {d for _, _, d in seen} == {torch.float32}
