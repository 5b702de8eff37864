"""Loaders on generated files, and every documented bad-input error."""
import gzip
import shutil

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from studylib.cli import main
from studylib.data import DataError, audit, check, deepweeds, fer2013, ferplus, imagefolder, synthetic


@pytest.fixture()
def fer_dir(tmp_path):
    synthetic.make_fer(tmp_path, n_per_class=(5, 2, 2), seed=1)
    return tmp_path


def _corrupt(path, line, column, value):
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df.loc[line - 2, column] = value
    df.to_csv(path, index=False)


def test_generated_fer_roundtrip_plain_and_gz(fer_dir, cache):
    plain = fer2013.load(fer_dir, "Training", cache_dir=cache)
    gz = fer_dir / "fer2013" / "fer2013.csv.gz"
    with open(fer_dir / "fer2013" / "fer2013.csv", "rb") as f, gzip.open(gz, "wb") as g:
        shutil.copyfileobj(f, g)
    from_gz = fer2013.load(fer_dir, "train", cache_dir=cache, csv_path=gz)
    assert np.array_equal(plain.images, from_gz.images) and plain.class_counts().tolist() == [5] * 7


def test_second_load_comes_from_cache(fer_dir, cache):
    fer2013.load(fer_dir, "Training", cache_dir=cache)
    files = list(cache.glob("fer2013-*.npz"))
    assert len(files) == 1
    (fer_dir / "fer2013" / "fer2013.csv").write_text("garbage")  # the cache is keyed by content: reparsed
    with pytest.raises(DataError):
        fer2013.load(fer_dir, "Training", cache_dir=cache)


@pytest.mark.parametrize("column,value,message", [
    ("pixels", "1 2 3", r"line 5: 3 pixel values, expected 2304"),
    ("pixels", " ".join(["7"] * 2303 + ["x"]), r"line 5: pixels must be integers 0..255"),
    ("pixels", " ".join(["7"] * 2303 + ["300"]), r"line 5: pixels must be integers 0..255"),
    ("Usage", "Validation", r"line 5: unknown Usage 'Validation'"),
    ("emotion", "7", r"line 5: emotion '7' is not a label in 0..6"),
])
def test_malformed_fer_row_names_file_and_line(fer_dir, cache, column, value, message):
    path = fer_dir / "fer2013" / "fer2013.csv"
    _corrupt(path, 5, column, value)
    with pytest.raises(DataError, match=message) as e:
        fer2013.load(fer_dir, cache_dir=cache)
    assert str(path) in str(e.value)
    assert not list(cache.iterdir()), "nothing may be cached from a failed parse"


def test_ferplus_labels_and_unnamed_rows(fer_dir, cache):
    ds = ferplus.load(fer_dir, "Training", cache_dir=cache)
    assert ds.dropped["empty_image_name"] + len(ds) == 35
    soft = ferplus.load(fer_dir, "Training", mode="probability", cache_dir=cache)
    assert soft.is_soft and np.allclose(soft.targets.sum(1), 1)


def test_ferplus_row_count_mismatch(fer_dir, cache):
    path = fer_dir / "ferplus" / "fer2013new.csv"
    pd.read_csv(path).iloc[:-1].to_csv(path, index=False)
    with pytest.raises(DataError, match=r"fer2013new.csv: 62 rows but FER2013 has 63"):
        ferplus.load(fer_dir, cache_dir=cache)


def test_ferplus_usage_mismatch(fer_dir, cache):
    path = fer_dir / "ferplus" / "fer2013new.csv"
    df = pd.read_csv(path, keep_default_na=False)
    df.loc[40, "Usage"] = "Training" if df.loc[40, "Usage"] != "Training" else "PublicTest"
    df.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"line 42: Usage .* do not align row by row"):
        ferplus.load(fer_dir, cache_dir=cache)


def test_deepweeds_generated_folds(tmp_path, cache, shared_data_or_none):
    real = shared_data_or_none / "deepweeds" / "labels" / "labels.csv" if shared_data_or_none else None
    synthetic.make_deepweeds(tmp_path, n_per_class=5, size=32, real_labels=real)
    parts = [deepweeds.load(tmp_path, s, fold=2, image_size=32, cache_dir=cache) for s in deepweeds.SPLITS]
    assert sum(len(p) for p in parts) == 45 and parts[0].images.shape[1:] == (32, 32, 3)
    if real:  # named from the real labels.csv
        names = set(pd.read_csv(real)["Filename"])
        assert set(parts[0].ids) <= names


def test_missing_and_broken_images(tmp_path, cache):
    root = synthetic.make_deepweeds(tmp_path, n_per_class=5, size=32)
    train = pd.read_csv(root / "labels" / "train_subset0.csv")["Filename"].tolist()  # 27 files
    files = [root / "images" / f for f in train]
    for f in files[:3]:
        f.unlink()
    with pytest.raises(DataError, match=rf"3 of 27 image files are missing \(first: .*{files[0].name}"):
        deepweeds.load(tmp_path, "train", image_size=32, cache_dir=cache)
    synthetic.make_deepweeds(tmp_path, n_per_class=5, size=32)
    files[5].write_bytes(b"")
    with pytest.raises(DataError, match=rf"{files[5].name}: empty image file"):
        deepweeds.load(tmp_path, "train", image_size=32, cache_dir=cache)
    files[5].write_bytes(b"not a jpeg")
    with pytest.raises(DataError, match=rf"{files[5].name}: unreadable image"):
        deepweeds.load(tmp_path, "train", image_size=32, cache_dir=cache)
    assert not list(cache.iterdir()), "nothing may be cached from a failed decode"


def test_imagefolder_split_is_stratified_recorded_and_reused(tmp_path, cache):
    root = synthetic.make_imagefolder(tmp_path / "ids", ["a", "b", "c"], n_per_class=10, size=16)
    first = imagefolder.load(root, "train", splits_dir=tmp_path / "splits", cache_dir=cache)
    (split_file,) = (tmp_path / "splits").glob("ids-*-seed0.csv")
    table = pd.read_csv(split_file)
    assert table.groupby(["split", "class"]).size().unstack().loc["train"].tolist() == [6, 6, 6]
    again = imagefolder.load(root, "train", splits_dir=tmp_path / "splits", cache_dir=cache)
    assert list(first.ids) == list(again.ids)
    recorded = split_file.read_bytes()
    # new contents: a split of their own, recorded beside; the first one is never touched
    Image.new("RGB", (16, 16)).save(root / "a" / "new.jpg")
    imagefolder.load(root, "train", splits_dir=tmp_path / "splits", cache_dir=cache)
    (new_file,) = set((tmp_path / "splits").glob("ids-*-seed0.csv")) - {split_file}
    assert "a/new.jpg" in pd.read_csv(new_file)["path"].values and split_file.read_bytes() == recorded
    # another folder of the same name (a new user's faces) gets its own split, not an error
    other = synthetic.make_imagefolder(tmp_path / "elsewhere" / "ids", ["x", "y"], n_per_class=10, size=16, seed=1)
    assert imagefolder.load(other, "train", splits_dir=tmp_path / "splits", cache_dir=cache).classes == ["x", "y"]
    # an explicit split file of other contents: one clear error, and never "delete" a (committed) file
    with pytest.raises(DataError, match="records other contents. Leave split_file unset") as err:
        imagefolder.load(root, "train", split_file=split_file, cache_dir=cache)
    assert "delete" not in str(err.value)
    split_file.write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match="not a split file.*git checkout") as err:
        imagefolder.load(root, "train", split_file=split_file, cache_dir=cache)
    assert "delete" not in str(err.value)


def test_no_data_message_suggests_deleting_a_file():
    import studylib.data as data_pkg
    sources = [f.read_text() for f in Path(data_pkg.__file__).parent.glob("*.py")]
    assert not any("delete the split" in s or "delete it" in s for s in sources)


def test_audit_on_generated(demo_data):
    splits = [fer2013.load(demo_data, s) for s in fer2013.USAGES]
    s = audit.summary(splits)
    assert s["images"].sum() == 630 and len(sum([list(audit.blank_images(x)) for x in splits], [])) == 2
    assert audit.majority_baseline(splits[0], splits[2])["accuracy"] < 0.3
    agree = audit.ferplus_agreement(demo_data)
    assert agree["agreement"] > 0.95  # generated votes follow the generated label


def test_data_check_missing_dir_guides_and_exits_nonzero(tmp_path, capsys):
    assert main(["data", "check", "--data-dir", str(tmp_path / "nowhere")]) == 1
    out = capsys.readouterr().out
    assert "does not exist" in out and "fer2013.csv" in out and "microsoft/FERPlus" in out


def test_data_check_on_generated(demo_data, capsys):
    assert main(["data", "check", "--data-dir", str(demo_data)]) == 0
    df = check.check(demo_data)
    assert (df["status"] == "ok").all()


def test_the_fer2013_ferplus_crosstab_labels_each_axis_with_its_own_classes(demo_data):
    """Each axis in its own dataset's classes, FERPlus's shared emotions in the order of the FER2013 rows
    they match: on the demo data, where the labels agree everywhere, the heatmap is the identity."""
    from studylib.data import fer2013
    table = audit.crosstab_votes(demo_data)
    assert list(table.index) == fer2013.CLASSES
    assert list(table.columns[:7]) == ["anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral"]
    shares = table.to_numpy() / table.to_numpy().sum(1, keepdims=True)
    np.testing.assert_allclose(shares[:, :7], np.eye(7))
    odd = audit.oddities_table([3, 9], {"groups": 2, "images": 5, "cross_split_groups": 1, "label_conflict_groups": 0})
    assert odd.set_index("finding")["count"].to_dict()["groups across splits"] == 1
