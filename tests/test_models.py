"""Model building: shapes of the papers' architectures, freezing strategies, gray modes, Lite0 port."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from studylib import weights as W
from studylib.models import build_model, param_groups


def trainable(model):
    """Names of the parameters that will learn."""
    return {n for n, p in model.named_parameters() if p.requires_grad}


def prefixes(names, prefixes):
    """True when every name starts with one of the prefixes."""
    return all(n.startswith(tuple(prefixes)) for n in names)


@pytest.mark.parametrize("freeze, kwargs, learn", [
    ("head", {}, ["head."]),
    ("last_block", {}, ["body.layer4.", "head."]),
    ("last_n", {"last_n": 2}, ["body.layer3.", "body.layer4.", "head."]),
    ("new_layers_only", {"in_channels": 1, "gray_mode": "new"}, ["body.conv1.", "head."]),
])
def test_resnet18_freezing_trains_exactly_the_documented_parameters(freeze, kwargs, learn):
    model = build_model("resnet18", 10, pretrained=False, freeze=freeze, **kwargs)
    names = trainable(model)
    assert prefixes(names, learn)
    for p in learn:  # and every documented part does learn, entirely
        part = {n for n, _ in model.named_parameters() if n.startswith(p)}
        assert part and part <= names
    assert model.info["trainable_params"] == sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert model.info["trainable_params"] < model.info["total_params"]


def test_new_layers_only_is_seed_003_freeze():
    model = build_model("resnet18", 10, in_channels=1, pretrained=False, gray_mode="new", freeze="new_layers_only")
    assert trainable(model) == {"body.conv1.weight", "head.weight", "head.bias"}
    conv = model.body.conv1
    assert (conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, conv.bias) == \
        (1, 64, (7, 7), (2, 2), (3, 3), None)
    assert model.groups["new_layers"] == [conv]
    assert model.info["input_mean"] == (0.485,) and model.info["input_std"] == (0.229,)


def test_none_trains_everything_and_bn_of_frozen_parts_stays_in_eval():
    model = build_model("resnet18", 3, pretrained=False, freeze="none")
    assert all(p.requires_grad for p in model.parameters())
    model.set_freeze("last_block").train()
    assert not model.body.bn1.training and not model.body.layer3[1].bn2.training
    assert model.body.layer4[0].bn1.training and model.body.layer4[0].downsample[1].training
    frozen_mean = model.body.bn1.running_mean.clone()
    model(torch.rand(4, 3, 32, 32))
    assert torch.equal(model.body.bn1.running_mean, frozen_mean)  # pretrained statistics kept
    model.eval()
    assert not model.body.layer4[0].bn1.training
    model.set_freeze("none").train()
    assert model.body.bn1.training


@pytest.mark.parametrize("backbone, learn", [
    ("efficientnet_b0", ["body.features.7.", "body.features.8.", "head."]),
    ("efficientnet_lite0", ["body._blocks.15.", "body._conv_head.", "body._bn1.", "head."]),
])
def test_efficientnet_last_block_is_last_stage_and_head_conv(backbone, learn):
    model = build_model(backbone, 9, pretrained=False, freeze="last_block")
    assert prefixes(trainable(model), learn)
    assert any(n.startswith(learn[0]) for n in trainable(model))
    model.train()
    bns = {n: m.training for n, m in model.named_modules() if isinstance(m, nn.BatchNorm2d)}
    assert {n for n, t in bns.items() if t} == {n for n in bns if (n + ".").startswith(tuple(learn))}


def test_mlp_head_resnet50_48px_is_seed_001():
    model = build_model("resnet50", 7, pretrained=False, head="mlp", freeze="last_block", image_size=48)
    kinds = [type(m).__name__ for m in model.head]
    assert kinds == (["Dropout", "Flatten", "BatchNorm1d", "Linear"]
                     + ["BatchNorm1d", "ReLU", "Dropout", "Linear"] * 3)
    assert model.head[2].num_features == 2 * 2 * 2048  # the 2x2x2048 map, not pooled
    linears = [m for m in model.head if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(8192, 32), (32, 32), (32, 32), (32, 7)]
    assert all(m.p == 0.5 for m in model.head if isinstance(m, nn.Dropout))
    model.eval()
    assert model(torch.rand(3, 3, 48, 48)).shape == (3, 7)


def test_small_cnn_is_seed_003_net():
    model = build_model("small_cnn", 10, in_channels=1, pretrained=False)
    b = model.body
    assert (b.conv1.in_channels, b.conv1.out_channels, b.conv1.kernel_size) == (1, 6, (5, 5))
    assert (b.conv2.in_channels, b.conv2.out_channels, b.conv2.kernel_size) == (6, 16, (5, 5))
    assert (b.bn1.num_features, b.bn2.num_features) == (6, 16)
    assert (b.fc1.in_features, b.fc1.out_features, b.fc2.out_features) == (1296, 120, 84)
    assert (model.head.in_features, model.head.out_features) == (84, 10)
    assert b.dropout.p == 0.1
    assert model(torch.rand(5, 1, 48, 48)).shape == (5, 10)


def test_gray_modes():
    rep = build_model("resnet18", 4, in_channels=1, pretrained=False, gray_mode="repeat")
    assert rep.body.conv1.in_channels == 3 and rep.mean.shape == (1, 3, 1, 1)
    summed = build_model("efficientnet_lite0", 4, in_channels=1, pretrained=False, gray_mode="sum")
    assert summed.body._conv_stem.in_channels == 1 and summed.groups["new_layers"] == []
    for m in (rep, summed):
        assert m.eval()(torch.rand(2, 1, 40, 40)).shape == (2, 4)
    with pytest.raises(ValueError, match="expected 1-channel"):
        rep(torch.rand(2, 3, 40, 40))


def test_input_is_normalised_inside_the_model():
    model = build_model("small_cnn", 2, in_channels=1, pretrained=False).eval()
    seen = []
    model.body.conv1.register_forward_hook(lambda m, i, o: seen.append(i[0]))
    model(torch.full((1, 1, 48, 48), 0.485))
    assert torch.allclose(seen[0], torch.zeros(1))


@pytest.mark.parametrize("kwargs, valid", [
    ({"backbone": "vgg16"}, "small_cnn, resnet18, resnet50, efficientnet_b0, efficientnet_lite0"),
    ({"head": "deep"}, "linear, mlp"),
    ({"freeze": "all"}, "none, head, last_block, new_layers_only, last_n"),
    ({"gray_mode": "avg", "in_channels": 1}, "repeat, sum, new"),
])
def test_unknown_names_list_the_valid_ones(kwargs, valid):
    args = {"backbone": "resnet18", "num_classes": 3, "pretrained": False, **kwargs}
    with pytest.raises(ValueError) as err:
        build_model(**args)
    assert valid in str(err.value)


def test_pretrained_must_be_a_bool_and_last_n_in_range():
    with pytest.raises(TypeError):
        build_model("resnet18", 3, pretrained="yes")
    with pytest.raises(ValueError, match="1..5"):
        build_model("resnet18", 3, pretrained=False, freeze="last_n", last_n=6)


def test_param_groups_head_factor_and_only_trainable():
    model = build_model("resnet18", 8, pretrained=False, freeze="last_block")
    groups = param_groups(model, 1e-4, head_lr_factor=20)
    assert [g["name"] for g in groups] == ["body", "head"]
    assert groups[1]["lr"] == pytest.approx(2e-3) and groups[0]["lr"] == 1e-4
    assert {id(p) for p in groups[1]["params"]} == {id(p) for p in model.head.parameters()}
    assert {id(p) for p in groups[0]["params"]} == {id(p) for p in model.body.layer4.parameters()}
    probe = param_groups(build_model("resnet18", 8, pretrained=False, freeze="head"), 1e-3)
    assert [g["name"] for g in probe] == ["head"]


def _center(img, size=224):
    """Resize the short side to size/0.875 and centre-crop, the usual ImageNet evaluation."""
    x = torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255
    h, w = x.shape[-2:]
    s = round(size / 0.875) / min(h, w)
    x = F.interpolate(x, size=(round(h * s), round(w * s)), mode="bilinear", antialias=True, align_corners=False)
    top, left = (x.shape[-2] - size) // 2, (x.shape[-1] - size) // 2
    return x[..., top:top + size, left:left + size].clamp(0, 1)


def test_lite0_port_recognises_imagenet_images():
    """The real package weights on our port: a cat is a cat, coffee is coffee."""
    skdata = pytest.importorskip("skimage.data")
    from torchvision.models._meta import _IMAGENET_CATEGORIES as names
    model = build_model("efficientnet_lite0", 1000, pretrained=True)
    state = W.load_state_dict(W.resolve_weights("efficientnet_lite0")[0])
    model.head.load_state_dict({"weight": state["_fc.weight"], "bias": state["_fc.bias"]})
    model.eval()
    x = torch.cat([_center(skdata.chelsea()), _center(skdata.coffee())])
    with torch.no_grad():
        prob = model(x).softmax(1)
    top5 = prob.topk(5)
    for name, p, i in zip(["chelsea", "coffee"], top5.values, top5.indices):
        print(name, [(int(k), names[k], round(float(q), 3)) for q, k in zip(p, i)])
    assert int(top5.indices[0, 0]) in range(281, 286)  # tabby, tiger cat, Persian, Siamese, Egyptian cat
    assert int(top5.indices[1, 0]) in (967, 968, 504)  # espresso, cup, coffee mug
    assert prob[1, 967] > 0.5
