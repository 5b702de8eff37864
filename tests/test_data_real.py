"""The loaders reproduce every count in ../shared/data/PROVENANCE.md (skipped when the folder is absent)."""
from pathlib import Path

import numpy as np
import pytest

from studylib.data import DataError, audit, check, deepweeds, fer2013, ferplus, imagefolder

FER_COUNTS = {"Training": [3995, 436, 4097, 7215, 4830, 3171, 4965],
              "PublicTest": [467, 56, 496, 895, 653, 415, 607],
              "PrivateTest": [491, 55, 528, 879, 594, 416, 626]}
PLANTS = {"Black-grass": 263, "Charlock": 390, "Cleavers": 287, "Common_Chickweed": 611, "Common_wheat": 219,
          "Fat_Hen": 475, "Loose_Silky-bent": 654, "Maize": 221, "Scentless_Mayweed": 516,
          "Shepherds_Purse": 231, "Small-flowered_Cranesbill": 496, "Sugar_beet": 384}
WEEDS = [1125, 1064, 1031, 1022, 1062, 1009, 1074, 1016, 9106]


@pytest.fixture(scope="module")
def fer_splits(shared_data):
    return {s: fer2013.load(shared_data, s) for s in fer2013.USAGES}


def test_fer2013_counts_per_split_and_class(fer_splits):
    for usage, expected in FER_COUNTS.items():
        ds = fer_splits[usage]
        assert ds.class_counts().tolist() == expected
        assert ds.images.shape[1:] == (48, 48, 1)
    assert fer_splits["PublicTest"].ids[0] == 28709 and fer_splits["PrivateTest"].ids[-1] == 35886


def test_fer2013_has_12_blank_images_all_marked_not_a_face(fer_splits, shared_data):
    blank_rows = np.concatenate([s.ids[audit.blank_images(s)] for s in fer_splits.values()])
    assert len(blank_rows) == 12
    votes = ferplus.votes_table(shared_data)
    assert (~votes.loc[blank_rows, "named"]).all()


def test_ferplus_aligns_and_drops_173_unnamed_rows(shared_data):
    dropped = 0
    for usage in fer2013.USAGES:
        ds = ferplus.load(shared_data, usage, mode="plurality", num_classes=10)
        dropped += ds.dropped["empty_image_name"]
        assert len(ds) + ds.dropped["empty_image_name"] == sum(FER_COUNTS[usage])
    assert dropped == 173


def test_ferplus_plurality_counts_are_close_to_seed_003_table(shared_data):
    # Seed 003 prints its own plurality counts (training: neutral 10294, happiness 7526, ...). Their copy
    # drops a few more images and breaks ties differently, so the counts agree to within 1%.
    ds = ferplus.load(shared_data, "Training", mode="plurality", num_classes=10)
    c = ds.class_counts()
    for cls, seed_n in {"neutral": 10294, "happiness": 7526, "sadness": 3530, "anger": 2463}.items():
        assert abs(c[cls] - seed_n) / seed_n < 0.01


def test_ferplus_modes(shared_data):
    maj = ferplus.load(shared_data, "PublicTest", mode="majority", num_classes=8)
    plu = ferplus.load(shared_data, "PublicTest", mode="plurality", num_classes=8)
    prob = ferplus.load(shared_data, "PublicTest", mode="probability", num_classes=10)
    assert len(maj) < len(plu) < 3589
    assert maj.labels.max() < 8 and prob.is_soft and np.allclose(prob.targets.sum(1), 1)
    votes = ferplus.load(shared_data, "PublicTest", mode="votes", num_classes=10)
    assert np.allclose(votes.targets.sum(1), 10) and (votes.labels == plu_10(shared_data)).all()


def plu_10(shared_data):
    return ferplus.load(shared_data, "PublicTest", mode="plurality", num_classes=10).labels


def test_ferplus_agrees_with_fer2013_on_62_9_percent(shared_data):
    a = audit.ferplus_agreement(shared_data)
    assert a["empty_name_rows"] == 173
    assert round(a["agreement"] * 100, 1) == 62.9


def test_deepweeds_labels_and_folds(shared_data):
    df = deepweeds.read_labels(shared_data / "deepweeds" / "labels" / "labels.csv", "labels")
    assert len(df) == 17509
    assert np.bincount(df["Label"]).tolist() == WEEDS
    sizes = [len(deepweeds.read_labels(shared_data / "deepweeds" / "labels" / f"{s}_subset0.csv", s))
             for s in deepweeds.SPLITS]
    assert sizes == [10501, 3501, 3507]


def test_deepweeds_without_images_says_how_many_are_missing(shared_data):
    if (shared_data / "deepweeds" / "images").is_dir():
        pytest.skip("DeepWeeds images are present")
    with pytest.raises(DataError, match=r"10501 of 10501 image files are missing .*AlexOlsen/DeepWeeds"):
        deepweeds.load(shared_data, "train", fold=0)


def test_faces_8x30(shared_data, tmp_path):
    splits = [imagefolder.load(shared_data / "faces" / "lfw-8x30", s, splits_dir=tmp_path) for s in
              imagefolder.SPLITS]
    assert sum(len(s) for s in splits) == 240
    assert all(c == 30 for c in np.sum([s.class_counts() for s in splits], axis=0))
    assert splits[0].images.shape[1:] == (250, 250, 3) and len(splits[0].classes) == 8


def test_plant_seedlings_counts(shared_data, tmp_path):
    table, _ = imagefolder.split_table(shared_data / "plant-seedlings", "plants", splits_dir=tmp_path)
    assert table["class"].value_counts().to_dict() == PLANTS


def test_data_check_on_real_data(shared_data):
    df = check.check(shared_data)
    rows = df.set_index("dataset")
    assert rows.loc["FER2013", "checksum"] == "verified" and rows.loc["FER2013", "rows"] == 35887
    assert rows.loc["FERPlus votes", "checksum"] == "verified"
    assert rows.loc["DeepWeeds labels", "checksum"] == "verified"
    assert rows.loc["Plant Seedlings", "checksum"] == "verified" and rows.loc["Plant Seedlings", "rows"] == 4747
    assert rows.loc["LFW faces 8x30", "rows"] == 240
    pinned = check.sources(df)  # the audit's record: each file's own sha256, the published one where known
    assert pinned[rows.loc["FER2013", "where"]] == check.KNOWN_SHA256[Path(rows.loc["FER2013", "where"]).name]
    assert pinned[rows.loc["FERPlus votes", "where"]] == check.KNOWN_SHA256["fer2013new.csv"]
    assert len(pinned[rows.loc["Plant Seedlings", "where"]]) == 64 and len(pinned[rows.loc["LFW faces 8x30", "where"]]) == 64
    text, ok = check.report(shared_data)
    if not (shared_data / "deepweeds" / "images").is_dir():
        assert rows.loc["DeepWeeds images", "status"] == "missing" and "images.zip" in text
    assert ok
