"""Weights are found where torchvision puts them, verified by hash, and never downloaded."""
import hashlib

import pytest
import torch

from studylib.models import build_model
from studylib.models import weights as W


def _fake_resnet18_file(folder, monkeypatch):
    """Save a random resnet18 state dict under a name whose hash prefix is true; register it."""
    net = build_model("resnet18", 1000, pretrained=False).body
    state = {k: v for k, v in net.state_dict().items()}
    tmp = folder / "tmp.pth"
    torch.save({**state, "fc.weight": torch.zeros(1000, 512), "fc.bias": torch.zeros(1000)}, tmp)
    digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
    path = tmp.rename(folder / f"resnet18-{digest[:8]}.pth")
    spec = W.WeightsSpec("resnet18", path.name, digest[:8], "IMAGENET1K_V1")
    monkeypatch.setitem(W.WEIGHTS, "resnet18", (spec,))
    return path, digest, state


def test_missing_weights_name_file_folder_and_how_to_get_them(tmp_path):
    with pytest.raises(W.WeightsError) as err:
        W.find_weights("resnet50", weights_dir=tmp_path)
    msg = str(err.value)
    assert isinstance(err.value, FileNotFoundError)
    assert "resnet50-0676ba61.pth" in msg and "resnet50-11ad3fa6.pth" in msg  # V1 and the accepted V2
    assert str(tmp_path) in msg
    assert "torchvision.models.resnet50(weights='IMAGENET1K_V1')" in msg and "connected machine" in msg


def test_pretrained_true_with_missing_weights_raises_not_random_init(tmp_path):
    with pytest.raises(W.WeightsError, match="efficientnet_b0_rwightman-7f5810bc.pth"):
        build_model("efficientnet_b0", 9, pretrained=True, weights_dir=tmp_path)


def test_wrong_hash_is_a_separate_error_naming_both_hashes(tmp_path):
    bad = tmp_path / "resnet18-f37072fd.pth"
    bad.write_bytes(b"not the weights")
    actual = hashlib.sha256(b"not the weights").hexdigest()
    with pytest.raises(W.WeightsHashError) as err:
        W.find_weights("resnet18", weights_dir=tmp_path)
    msg = str(err.value)
    assert not isinstance(err.value, FileNotFoundError)
    assert str(bad) in msg and actual in msg and "f37072fd" in msg


def test_search_order_env_then_torch_home(tmp_path, monkeypatch):
    monkeypatch.delenv("STUDYLIB_WEIGHTS", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    assert W.search_dirs() == [tmp_path / "th" / "hub" / "checkpoints"]
    monkeypatch.setenv("STUDYLIB_WEIGHTS", str(tmp_path / "mine"))
    assert W.search_dirs() == [tmp_path / "mine"]
    assert W.search_dirs(tmp_path / "given") == [tmp_path / "given"]


def test_found_in_torch_home_checkpoints_and_loaded_into_model(tmp_path, monkeypatch):
    ckpt = tmp_path / "th" / "hub" / "checkpoints"
    ckpt.mkdir(parents=True)
    path, digest, state = _fake_resnet18_file(ckpt, monkeypatch)
    monkeypatch.delenv("STUDYLIB_WEIGHTS", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    assert W.find_weights("resnet18")[1:] == (path, digest)
    model = build_model("resnet18", 5, pretrained=True, in_channels=1, gray_mode="sum")
    assert model.info["weights_file"] == path.name and model.info["weights_sha256"] == digest
    assert torch.equal(model.body.layer4[1].conv2.weight, state["layer4.1.conv2.weight"])
    # 'sum': the 1-channel stem is the pretrained RGB filters summed over colour
    assert torch.allclose(model.body.conv1.weight, state["conv1.weight"].sum(1, keepdim=True))
    assert model.head.out_features == 5


def test_lite0_ships_in_package_with_full_hash():
    spec, path, digest = W.find_weights("efficientnet_lite0", weights_dir="/nonexistent")
    assert path.name == "efficientnet-lite0-57934424.pth"
    assert digest == spec.sha256 == W.get_spec("efficientnet_lite0").sha256 and len(digest) == 64


def test_unknown_arch_lists_known():
    with pytest.raises(ValueError, match="resnet18, resnet50"):
        W.get_spec("vgg16")


def test_building_any_backbone_never_downloads(monkeypatch, tmp_path):
    def no_network(*args, **kwargs):
        raise AssertionError(f"attempted download: {args}")
    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_network)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    for arch in ("resnet18", "resnet50", "efficientnet_b0", "efficientnet_lite0"):
        build_model(arch, 2, pretrained=False)
    build_model("efficientnet_lite0", 2, pretrained=True)  # from the installed package only
    assert list(tmp_path.iterdir()) == []
