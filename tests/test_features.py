"""Feature extraction (seed 000's avg_pool features) and the SVM on top."""
import numpy as np
import torch
import pytest

from studylib.data.base import ImageDataset
from studylib.train.batches import to_batch
from studylib.train.features import extract_features, svm_classifier

GRID = {"C": [0.1, 1, 10], "kernel": ["linear", "rbf"]}
from studylib.models import build_model


def _dataset(n=5, side=32, channels=3, seed=0):
    """A tiny ImageDataset of random uint8 images."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, side, side, channels), dtype=np.uint8)
    return ImageDataset(images, np.arange(n) % 2, ["a", "b"], "train", "tiny")


def test_resnet50_avgpool_features_shape_and_batch_independence():
    torch.manual_seed(0)
    model = build_model("resnet50", 8, pretrained=False)
    data = _dataset()
    whole = extract_features(model, data, image_size=64, batch_size=5)
    assert whole.shape == (5, 2048) and whole.dtype == np.float32 and np.isfinite(whole).all()
    batched = extract_features(model, data, image_size=64, batch_size=2)
    # eval mode: batching must not matter (beyond float rounding of different conv paths per batch size)
    np.testing.assert_allclose(batched, whole, rtol=1e-3, atol=1e-4)
    assert model.training  # the caller's mode is restored


def test_lite0_global_pool_and_gray_images():
    model = build_model("efficientnet_lite0", 3, pretrained=True)
    feats = extract_features(model, _dataset(n=3, channels=1), image_size=64)
    assert feats.shape == (3, 1280) and (feats >= 0).all()  # after ReLU6
    with pytest.raises(ValueError, match="pooling layers: avgpool"):
        extract_features(model, _dataset(n=2), layer="pool5")


def test_to_batch_resizes_and_scales_for_features():
    x = to_batch(np.full((2, 10, 12, 1), 255, np.uint8), image_size=16)
    assert x.shape == (2, 1, 16, 16) and float(x.min()) == 1.0


def test_svm_separates_two_blobs_and_fits_train_only():
    rng = np.random.default_rng(1)
    centers = np.array([[0.0] * 16, [4.0] * 16])
    y = np.repeat([0, 1], 30)
    x = centers[y] + rng.normal(size=(60, 16))
    search = svm_classifier(x, y, GRID, seed=0, cv=3)
    assert search.best_score_ > 0.95
    x_new = centers[[0, 1, 1, 0]] + rng.normal(size=(4, 16))
    assert search.predict(x_new).tolist() == [0, 1, 1, 0]
    assert set(search.best_params_) == {"svc__C", "svc__kernel"}
    with pytest.raises(ValueError, match="2 training samples per class"):
        svm_classifier(x[:31], y[:31], GRID)
