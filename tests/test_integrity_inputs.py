"""Issue 27, the study's inputs: demo data byte-identical everywhere; every parameter range checked before
anything runs (defaults included); a profile's data_dir independent of the current folder; a data check
that lists every broken image at once; no recorded split left behind by a failed load."""
import hashlib
from pathlib import Path

import pandas as pd
import pytest
import yaml
from PIL import Image

from studylib import paths
from studylib.cli import main
from studylib.data import check, imagefolder, synthetic
from studylib.data.base import DataError
from studylib.study.profile import ParamsError, load_profile
from studylib.train import TrainConfig


def _tree_hash(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


# --- 1. the demo generator depends on nothing outside the repository ------------------------------------

@pytest.fixture(scope="module")
def fake_real(tmp_path_factory) -> Path:
    """A "real" data folder whose DeepWeeds labels.csv names files the generator must not borrow."""
    root = tmp_path_factory.mktemp("shared") / "data"
    labels = root / "deepweeds" / "labels"
    labels.mkdir(parents=True)
    pd.DataFrame({"Filename": [f"19990101-1200{i:02d}-{k}.jpg" for i in range(30) for k in range(9)],
                  "Label": list(range(9)) * 30, "Species": "x"}).to_csv(labels / "labels.csv", index=False)
    (root / "PROVENANCE.md").write_text("fake\n")
    return root


@pytest.fixture(scope="module")
def plain_demo(tmp_path_factory) -> dict[str, str]:
    return _tree_hash(synthetic.make_demo_data(tmp_path_factory.mktemp("plain"), seed=0))


def test_demo_data_ignore_a_real_data_folder(tmp_path, fake_real, plain_demo, monkeypatch):
    monkeypatch.setattr(paths, "SHARED_DATA", fake_real)  # a real data folder beside the checkout
    monkeypatch.setenv("STUDYLIB_DATA_DIR", str(fake_real))
    assert _tree_hash(synthetic.make_demo_data(tmp_path / "demo", seed=0)) == plain_demo
    assert main(["data", "make-demo", str(tmp_path / "cli")]) == 0
    assert _tree_hash(tmp_path / "cli") == plain_demo


def test_the_runners_demo_data_ignore_the_shared_folder(tmp_path, fake_real, plain_demo, monkeypatch):
    from studylib.runner import execute
    monkeypatch.setattr(paths, "SHARED_DATA", fake_real)  # what the runner looks beside the checkout for
    assert _tree_hash(execute.prepare_data("generated", tmp_path)) == plain_demo


# --- 2. ranges and choices, checked before anything runs --------------------------------------------------

def _profile(tmp_path, run_params=None, text=None, **top) -> str:
    path = tmp_path / "ranges.yaml"
    if text is None:
        text = yaml.safe_dump({"profile": "ranges", "data_dir": "generated", **top, "runs": [
            {"name": "cnn", "notebook": "03_cnn_from_scratch", "params": run_params or {}},
            {"name": "partial", "notebook": "05_partial_vs_full"}]}, sort_keys=False)
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("top, run_params, key", [
    ({"seeds": [-1]}, {}, "seeds[0]"),
    ({"seeds": [0, 2**32]}, {}, "seeds[1]"),
    ({}, {"seed": -1}, "seed"),
    ({}, {"train": {"epochs": 0}}, "train.epochs"),
    ({}, {"train": {"epochs": -1}}, "train.epochs"),
    ({}, {"train": {"batch_size": 0}}, "train.batch_size"),
    ({}, {"train": {"lr": -0.01}}, "train.lr"),
    ({}, {"max_train": 0}, "max_train"),
    ({}, {"arms": [{"name": "x", "lr_grid": [0.01, -0.1]}]}, "arms[0].lr_grid[1]"),
    ({"defaults": {"trian": {"epochs": 1}}}, {}, "defaults.trian"),
    ({"defaults": {"max_trian": 10}}, {}, "defaults.max_trian"),
    ({"defaults": {"train": {"epochz": 1}}}, {}, "defaults.train.epochz"),
    ({"defaults": {"train": {"lr": 0}}}, {}, "defaults.train.lr"),
    ({"defaults": {"dataset": "fer2031"}}, {}, "defaults.dataset"),
])
def test_an_out_of_range_value_is_one_error_naming_the_file_and_key(tmp_path, top, run_params, key):
    path = _profile(tmp_path, run_params, **top)
    with pytest.raises(ParamsError) as err:
        load_profile(path)
    message = str(err.value)
    assert path in message and f"'{key}'" in message and "valid: " in message and "\n" not in message
    if not key.startswith("defaults"):
        assert "run cnn" in message


def test_an_unknown_dataset_names_the_run_and_the_known_ones(tmp_path):
    path = _profile(tmp_path, text=f"""profile: ranges
data_dir: generated
runs:
  - {{name: weeds, notebook: 05_partial_vs_full, params: {{dataset: fer2031}}}}
""")
    with pytest.raises(ParamsError, match=r"ranges.yaml\), run weeds: key 'dataset' is 'fer2031'; valid: fer2013, "
                                          r"ferplus, deepweeds, faces, plants$"):
        load_profile(path)


def test_exponent_numbers_are_floats(tmp_path):
    path = _profile(tmp_path, text="""profile: ranges
data_dir: generated
defaults: {train: {weight_decay: 1E-5}}
runs:
  - name: cnn
    notebook: 03_cnn_from_scratch
    params: {train: {lr: 1e-3}}
    grid: {momentum: [5e-1, 9.0e-1]}
  - name: partial
    notebook: 05_partial_vs_full
    params: {arms: [{name: A, lr_grid: [3e-4, 1e-3]}]}
""")
    runs = load_profile(path).tasks
    train = runs[0].params["train"]
    assert train["lr"] == 0.001 and isinstance(train["lr"], float) and train["weight_decay"] == 1e-5
    assert [r.name for r in runs[:2]] == ["cnn--momentum=0.5", "cnn--momentum=0.9"]
    assert runs[2].params["arms"][0]["lr_grid"] == [0.0003, 0.001]


def test_the_dataclass_refuses_what_the_profile_refuses():
    """A notebook's Run.start resolves through the same checks; TrainConfig itself refuses too."""
    from studylib.study.experiments import resolve
    for bad in [{"epochs": 0}, {"batch_size": 0}, {"lr": -0.01}, {"lr": float("nan")}, {"seed": -1},
                {"seed": 2**32}]:
        (key, value), = bad.items()
        with pytest.raises(ValueError, match=rf"TrainConfig.{key}={value!r}; valid: "):
            TrainConfig(**bad)
    with pytest.raises(ParamsError, match="notebook 05_partial_vs_full: key 'dataset' is 'fer2031'"):
        resolve("05_partial_vs_full", {"dataset": "fer2031"})
    assert TrainConfig(lr=1e-6, epochs=1, batch_size=1, seed=2**32 - 1).lr == 1e-6


def test_the_shipped_profiles_still_load():
    for name in ("demo", "cpu", "gpu", "sweep-003"):
        assert load_profile(name, data_dir="generated").tasks


# --- 3. a relative data_dir is read from the repository root ----------------------------------------------

def test_a_relative_data_dir_does_not_depend_on_the_current_folder(tmp_path, monkeypatch):
    repo, data = tmp_path / "repo", tmp_path / "shared" / "data"
    (repo / "params").mkdir(parents=True)
    data.mkdir(parents=True)
    (repo / "params" / "rel.yaml").write_text(
        "profile: rel\ndata_dir: ../shared/data\nruns:\n  - {name: audit, notebook: 01_data_audit}\n")
    monkeypatch.setattr(paths, "ROOT", repo)
    elsewhere = tmp_path / "a" / "b"
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(elsewhere)  # from here ../shared/data is tmp/a/shared/data, which does not exist
    prof = load_profile("rel", params_dir=repo / "params")
    assert Path(prof.data_dir) == data and Path(prof.data_dir).is_absolute()
    # --data-dir is typed in the current folder: relative to it, made absolute
    (elsewhere / "mine").mkdir()
    assert load_profile("rel", params_dir=repo / "params", data_dir="mine").data_dir == str(elsewhere / "mine")


# --- 4. the data check decodes every image and lists every broken one -------------------------------------

def _broken_faces(tmp_path) -> tuple[Path, list[Path]]:
    data = tmp_path / "data"
    root = synthetic.make_imagefolder(data / "faces" / "lfw-8x30", ["Ada", "Alan"], n_per_class=6, size=32)
    empty, truncated = root / "Ada" / "Ada_0001.jpg", root / "Alan" / "Alan_0002.jpg"
    text = root / "Ada" / "Ada_0003.jpg"  # a text file named like an image
    empty.write_bytes(b"")
    truncated.write_bytes(truncated.read_bytes()[:300])
    text.write_text("not an image\n")
    stray = root / "Alan" / "notes.txt"
    stray.write_text("a stray file\n")
    return data, [empty, truncated, text, stray]


def test_data_check_lists_every_broken_image_at_once(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("STUDYLIB_CACHE", str(tmp_path / "cache"))
    data, broken = _broken_faces(tmp_path)
    row = check.check(data).set_index("dataset").loc["LFW faces 8x30"]
    assert row["status"] == "invalid"
    assert all(str(p) in row["error"] for p in broken), row["error"]
    assert main(["data", "check", "--data-dir", str(data)]) == 1
    out = capsys.readouterr().out
    assert "- LFW faces 8x30: invalid: 4 of 13 files" in out and all(str(p) in out for p in broken)
    # the other datasets are absent: missing, with where to put them; this folder is there: never missing
    assert f"put it at {data / 'faces' / 'lfw-8x30'}" not in out


def test_data_check_decodes_deepweeds_images(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDYLIB_CACHE", str(tmp_path / "cache"))
    root = synthetic.make_deepweeds(tmp_path, n_per_class=2, size=32)
    first, second = sorted((root / "images").iterdir())[:2]
    first.write_bytes(b"")
    second.write_bytes(second.read_bytes()[:200])
    row = check.check(tmp_path).set_index("dataset").loc["DeepWeeds images"]
    assert row["status"] == "invalid" and str(first) in row["error"] and str(second) in row["error"]
    for f in (root / "images").iterdir():
        f.unlink()  # the folder is there, its images are not: partial, not missing
    assert check.check(tmp_path).set_index("dataset").loc["DeepWeeds images", "status"] == "partial"


# --- 5. no recorded split is left behind by a load that fails ---------------------------------------------

@pytest.mark.parametrize("broken_split", ["train", "test"])
def test_a_failed_load_records_no_split(tmp_path, monkeypatch, broken_split):
    monkeypatch.setenv("STUDYLIB_CACHE", str(tmp_path / "cache"))
    root = synthetic.make_imagefolder(tmp_path / "ids", ["a", "b", "c"], n_per_class=10, size=16)
    splits_dir = tmp_path / "splits"
    table = imagefolder.make_split(imagefolder.scan(root))
    image = table.loc[table["split"] == broken_split, "path"].iloc[0]
    (root / image).write_bytes(b"")  # loading train must fail, and leave no split recorded
    with pytest.raises(DataError, match="empty image file"):
        imagefolder.load(root, "train", splits_dir=splits_dir)
    assert not splits_dir.exists() or not list(splits_dir.iterdir())
    Image.new("RGB", (16, 16)).save(root / image)
    imagefolder.load(root, "train", splits_dir=splits_dir)
    (recorded,) = splits_dir.glob("ids-*-seed0.csv")
    assert pd.read_csv(recorded).equals(table)
