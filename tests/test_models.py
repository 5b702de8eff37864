"""Model building: shapes of the papers' architectures, training scopes, gray modes, preprocessing, Lite0 port."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from studylib.models import (BACKBONES, SCOPES, EfficientNetLite0, build_model, get_arch, param_groups,
                             resolve_preprocessing)
from studylib.models import weights as W


def trainable(model):
    """Names of the parameters that will learn."""
    return {n for n, p in model.named_parameters() if p.requires_grad}


def prefixes(names, prefixes):
    """True when every name starts with one of the prefixes."""
    return all(n.startswith(tuple(prefixes)) for n in names)


@pytest.mark.parametrize("scope, kwargs, learn", [
    ("head", {}, ["head."]),
    ("freeze_to", {}, ["body.layer4.", "head."]),                       # default -1: the last stage
    ("freeze_to", {"freeze_to": -2}, ["body.layer3.", "body.layer4.", "head."]),
    ("freeze_to", {"freeze_to": 3}, ["body.layer3.", "body.layer4.", "head."]),  # stem, layer1, layer2 frozen
    ("last_block", {}, ["body.layer4.", "head."]),                      # the older names, still accepted
    ("last_n", {"last_n": 2}, ["body.layer3.", "body.layer4.", "head."]),
    ("new_layers", {"in_channels": 1, "gray_mode": "new"}, ["body.conv1.", "head."]),
])
def test_resnet18_scope_trains_exactly_the_documented_parameters(scope, kwargs, learn):
    model = build_model("resnet18", 10, pretrained=False, scope=scope, **kwargs)
    names = trainable(model)
    assert prefixes(names, learn)
    for p in learn:  # and every documented part does learn, entirely
        part = {n for n, _ in model.named_parameters() if n.startswith(p)}
        assert part and part <= names
    assert model.info["trainable_params"] == sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert model.info["trainable_params"] < model.info["total_params"]


def test_new_layers_is_seed_003_freeze():
    model = build_model("resnet18", 10, in_channels=1, pretrained=False, gray_mode="new", scope="new_layers")
    assert trainable(model) == {"body.conv1.weight", "head.weight", "head.bias"}
    conv = model.body.conv1
    assert (conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, conv.bias) == \
        (1, 64, (7, 7), (2, 2), (3, 3), None)
    assert model.groups["new_layers"] == [conv]
    assert model.info["input_mean"] == (0.485,) and model.info["input_std"] == (0.229,)


def test_all_trains_everything_and_bn_of_frozen_parts_stays_in_eval():
    model = build_model("resnet18", 3, pretrained=False, scope="all")
    assert all(p.requires_grad for p in model.parameters())
    model.set_scope("last_block").train()
    assert not model.body.bn1.training and not model.body.layer3[1].bn2.training
    assert model.body.layer4[0].bn1.training and model.body.layer4[0].downsample[1].training
    frozen_mean = model.body.bn1.running_mean.clone()
    model(torch.rand(4, 3, 32, 32))
    assert torch.equal(model.body.bn1.running_mean, frozen_mean)  # pretrained statistics kept
    model.eval()
    assert not model.body.layer4[0].bn1.training
    model.set_scope("all").train()
    assert model.body.bn1.training


@pytest.mark.parametrize("backbone, learn", [
    ("efficientnet_b0", ["body.features.7.", "body.features.8.", "head."]),
    ("efficientnet_lite0", ["body._blocks.15.", "body._conv_head.", "body._bn1.", "head."]),
])
def test_efficientnet_last_block_is_last_stage_and_head_conv(backbone, learn):
    model = build_model(backbone, 9, pretrained=False, scope="last_block")
    assert prefixes(trainable(model), learn)
    assert any(n.startswith(learn[0]) for n in trainable(model))
    model.train()
    bns = {n: m.training for n, m in model.named_modules() if isinstance(m, nn.BatchNorm2d)}
    assert {n for n, t in bns.items() if t} == {n for n in bns if (n + ".").startswith(tuple(learn))}


def test_mlp_head_resnet50_48px_is_seed_001():
    model = build_model("resnet50", 7, pretrained=False, head="mlp", scope="last_block", image_size=48)
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
    ({"scope": "none"}, "all, head, new_layers, freeze_to, last_block, last_n"),
    ({"gray_mode": "avg", "in_channels": 1}, "repeat, sum, new"),
])
def test_unknown_names_list_the_valid_ones(kwargs, valid):
    args = {"backbone": "resnet18", "num_classes": 3, "pretrained": False, **kwargs}
    with pytest.raises(ValueError) as err:
        build_model(**args)
    assert valid in str(err.value)


def test_pretrained_must_be_a_bool_and_freeze_to_in_range():
    with pytest.raises(TypeError):
        build_model("resnet18", 3, pretrained="yes")
    with pytest.raises(ValueError, match=r"-5\.\.4"):
        build_model("resnet18", 3, pretrained=False, scope="last_n", last_n=6)
    with pytest.raises(ValueError, match=r"freeze_to must be in -5\.\.4 for resnet18 \(5 stages\), got 5"):
        build_model("resnet18", 3, pretrained=False, scope="freeze_to", freeze_to=5)


def test_param_groups_head_factor_and_only_trainable():
    model = build_model("resnet18", 8, pretrained=False, scope="last_block")
    groups = param_groups(model, 1e-4, head_lr_factor=20)
    assert [g["name"] for g in groups] == ["body", "head"]
    assert groups[1]["lr"] == pytest.approx(2e-3) and groups[0]["lr"] == 1e-4
    assert {id(p) for p in groups[1]["params"]} == {id(p) for p in model.head.parameters()}
    assert {id(p) for p in groups[0]["params"]} == {id(p) for p in model.body.layer4.parameters()}
    assert all(set(g) == {"name", "params", "lr"} for g in groups)  # plain lrs: no lr_factor to divide out
    probe = param_groups(build_model("resnet18", 8, pretrained=False, scope="head"), 1e-3)
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
    """The real package weights on our port, classifier included: a cat is a cat, coffee is coffee."""
    skdata = pytest.importorskip("skimage.data")
    from torchvision.models._meta import _IMAGENET_CATEGORIES as names
    model = build_model("efficientnet_lite0", 1000, pretrained=True).eval()  # 1000 classes keep the classifier
    assert model.info["pretrained_head"]
    x = torch.cat([_center(skdata.chelsea()), _center(skdata.coffee())])
    with torch.no_grad():
        prob = model(x).softmax(1)
    top5 = prob.topk(5)
    for name, p, i in zip(["chelsea", "coffee"], top5.values, top5.indices):
        print(name, [(int(k), names[k], round(float(q), 3)) for q, k in zip(p, i)])
    assert int(top5.indices[0, 0]) in range(281, 286)  # tabby, tiger cat, Persian, Siamese, Egyptian cat
    assert int(top5.indices[1, 0]) in (967, 968, 504)  # espresso, cup, coffee mug
    assert prob[1, 967] > 0.5


def test_pretrained_classifier_kept_for_its_own_classes_else_a_new_head_as_before():
    state = W.load_state_dict(W.find_weights("efficientnet_lite0")[1])
    torch.manual_seed(0)
    EfficientNetLite0()
    rng_after_net = torch.get_rng_state()
    new = nn.Linear(1280, 10)
    torch.manual_seed(0)
    kept = build_model("efficientnet_lite0", 1000, pretrained=True)
    assert torch.equal(torch.get_rng_state(), rng_after_net)  # no new head drawn from the RNG
    assert kept.info["pretrained_head"] and isinstance(kept.body._fc, nn.Identity)
    assert torch.equal(kept.head.weight, state["_fc.weight"]) and torch.equal(kept.head.bias, state["_fc.bias"])
    torch.manual_seed(0)
    ten = build_model("efficientnet_lite0", 10, pretrained=True)  # a new head, from the RNG exactly as before
    assert not ten.info["pretrained_head"] and torch.equal(ten.head.weight, new.weight)
    for kwargs in ({"in_channels": 1, "gray_mode": "repeat"}, {"head": "mlp"}):
        other = build_model("efficientnet_lite0", 1000, pretrained=True, **kwargs)
        assert not other.info["pretrained_head"]
        assert not torch.equal(other.head.weight if kwargs.get("head") != "mlp" else other.head[-1].weight,
                               state["_fc.weight"])
    assert not build_model("efficientnet_lite0", 1000, pretrained=False).info["pretrained_head"]


def test_resolve_preprocessing_argument_beats_spec_beats_default():
    b0 = f"weights spec {get_arch('efficientnet_b0').weights[0].file}"
    pre = resolve_preprocessing("efficientnet_b0")
    assert (pre["input_size"], pre["interpolation"], pre["mean"], pre["std"]) == \
        (224, "bicubic", W.IMAGENET_MEAN, W.IMAGENET_STD)
    assert pre["source"] == dict.fromkeys(["input_size", "interpolation", "mean", "std"], b0)
    pre = resolve_preprocessing("efficientnet_b0", image_size=64, interpolation="bilinear", mean=[0.5] * 3)
    assert (pre["input_size"], pre["interpolation"], pre["mean"], pre["std"]) == \
        (64, "bilinear", (0.5,) * 3, W.IMAGENET_STD)
    assert pre["source"] == {"input_size": "argument", "interpolation": "argument", "mean": "argument", "std": b0}
    assert resolve_preprocessing("efficientnet_lite0")["mean"] == W.LITE_MEAN
    small = resolve_preprocessing("small_cnn")  # no weights: the defaults
    assert small == dict(input_size=48, interpolation="bilinear", mean=W.IMAGENET_MEAN, std=W.IMAGENET_STD,
                         source=dict.fromkeys(["input_size", "interpolation", "mean", "std"], "default"))
    assert resolve_preprocessing("small_cnn", image_size=32, std=(0.2,) * 3)["input_size"] == 32
    with pytest.raises(ValueError, match="nearest, bilinear, bicubic"):
        resolve_preprocessing("resnet18", interpolation="lanczos")


def test_model_info_records_the_preprocessing(capsys):
    model = build_model("efficientnet_b0", 3, image_size=64)
    info = model.info
    assert (info["input_size"], info["interpolation"], info["input_mean"], info["input_std"]) == \
        (64, "bicubic", W.IMAGENET_MEAN, W.IMAGENET_STD)
    assert info["preprocessing_source"]["input_size"] == "argument"
    assert info["preprocessing_source"]["interpolation"] == "weights spec efficientnet_b0_rwightman-7f5810bc.pth"
    assert "efficientnet_b0 input 64 px (argument), bicubic (weights spec efficientnet_b0" in capsys.readouterr().out
    lite = build_model("efficientnet_lite0", 3, in_channels=1, gray_mode="sum", interpolation="bicubic")
    assert (lite.info["input_size"], lite.info["interpolation"]) == (224, "bicubic")
    assert lite.info["input_mean"] == pytest.approx((127 / 255,))  # 'sum' averages Lite's equal statistics
    assert lite.info["input_std"] == pytest.approx((128 / 255,))
    assert torch.equal(lite.mean.flatten(), torch.tensor(lite.info["input_mean"]))  # what the model applies
    small = build_model("small_cnn", 2, in_channels=1)
    assert (small.info["input_size"], small.info["input_mean"], small.info["input_std"]) == (48, (0.485,), (0.229,))
    assert "from default; 1-channel input 'new'" in capsys.readouterr().out


@pytest.mark.parametrize("backbone", BACKBONES)
def test_arch_table_describes_every_backbone(backbone):
    arch = get_arch(backbone)
    net = arch.build(1 if backbone == "small_cnn" else 3, 48, None).eval()
    assert isinstance(net, arch.net_class) and (arch.weights is None) == (backbone == "small_cnn")
    conv = net.get_submodule(arch.first_conv)
    assert isinstance(conv, nn.Conv2d)
    if arch.fc:
        assert isinstance(net.get_submodule(arch.fc), nn.Linear)
    if arch.dropout:
        assert isinstance(net.get_submodule(arch.dropout), nn.Dropout)
    stages = arch.stages(net)
    assert len(stages) >= 4 and any(m is conv for m in stages[0][0].modules())
    inside = {id(m) for m in net.modules()}
    assert all(id(m) in inside for stage in stages for m in stage)
    x = torch.rand(2, 1 if backbone == "small_cnn" else 3, 48, 48)
    y = x
    with torch.no_grad():
        for step in arch.steps(net):
            y = step(y)
        assert torch.equal(y, net(x))  # the steps are the forward


def test_unknown_backbone_lists_the_table():
    with pytest.raises(ValueError, match="valid: small_cnn, resnet18, resnet50, efficientnet_b0, efficientnet_lite0"):
        get_arch("vgg16")


@pytest.mark.parametrize("scope", SCOPES)
def test_scope_is_worked_out_once_by_the_model(scope):
    model = build_model("efficientnet_lite0", 4, in_channels=1, gray_mode="new", scope=scope, freeze_to=-2).train()
    assert model.info["scope"] == scope and model.info["freeze_to"] == (-2 if scope == "freeze_to" else None)
    for name, m in model.named_modules():
        if list(m.parameters(recurse=False)):
            assert model.is_frozen(m) == (not any(p.requires_grad for p in m.parameters())), name
        if isinstance(m, nn.BatchNorm2d):
            assert m.training == (not model.is_frozen(m)), name


def test_state_dict_from_before_the_input_module_loads():
    model = build_model("small_cnn", 2, in_channels=1)
    old = {{"input.mean": "mean", "input.std": "std"}.get(k, k): v for k, v in model.state_dict().items()}
    fresh = build_model("small_cnn", 2, in_channels=1)
    fresh.load_state_dict(old)  # strict
    assert torch.equal(fresh.body.fc1.weight, model.body.fc1.weight)


def test_mlp_width_and_dropout_are_parameters():
    model = build_model("resnet18", 3, head="mlp", image_size=32, mlp_width=16, dropout=0.3)
    assert [m.out_features for m in model.head if isinstance(m, nn.Linear)] == [16, 16, 16, 3]
    assert all(m.p == 0.3 for m in model.head if isinstance(m, nn.Dropout))
    assert build_model("small_cnn", 2, in_channels=1, dropout=0.2).body.dropout.p == 0.2


def test_the_older_scope_names_are_aliases_of_freeze_to_for_models_and_refused_for_arms():
    from studylib.study.experiments import Arm, ParamsError, resolve
    with pytest.raises(ValueError, match="unknown scope 'last_block'; valid: all, head, new_layers, freeze_to"):
        Arm("A", "last_block")  # an arm says freeze_to (tests/test_arm_ids.py: Arm.resolve)
    with pytest.raises(ParamsError, match="last_n"):
        resolve("05_partial_vs_full", {"last_n": 2})
    old = build_model("resnet18", 3, pretrained=False, scope="last_block")
    new = build_model("resnet18", 3, pretrained=False, scope="freeze_to", freeze_to=-1)
    assert trainable(old) == trainable(new) and old.info["scope"] == "freeze_to"


def test_a_model_spec_builds_what_the_keyword_form_builds():
    from studylib.models import ModelSpec
    spec = ModelSpec("resnet18", 3, in_channels=1, gray_mode="new", head="mlp", image_size=32, scope="freeze_to")
    torch.manual_seed(0)
    keywords = build_model("resnet18", 3, in_channels=1, gray_mode="new", head="mlp", image_size=32, scope="freeze_to")
    torch.manual_seed(0)
    built = build_model(spec)
    assert built.info == keywords.info and trainable(built) == trainable(keywords)
    assert all(torch.equal(v, keywords.state_dict()[k]) for k, v in built.state_dict().items())
    assert build_model(num_classes=2, backbone="small_cnn", in_channels=1).info["backbone"] == "small_cnn"
    with pytest.raises(TypeError, match="dataclasses.replace"):
        build_model(spec, pretrained=True)
    with pytest.raises(ValueError, match="unknown head 'deep'"):
        ModelSpec("resnet18", 3, head="deep")  # checked when the spec is made, before anything is built
