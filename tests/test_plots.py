"""Every plot builds a Figure headless, with the content it promises."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from studylib.report import plots  # noqa: E402
from studylib.metrics import classification_metrics  # noqa: E402

NAMES = ["a", "b", "c"]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_learning_curves():
    h = pd.DataFrame(dict(epoch=[1, 2, 3], lr=[1e-3] * 3, train_loss=[1.0, 0.6, 0.4], val_loss=[1.1, 0.8, 0.9],
                          train_acc=[0.5, 0.7, 0.8], val_acc=[0.4, 0.6, 0.55], val_macro_f1=[0.3, 0.5, 0.5],
                          seconds=[1.0] * 3))
    fig = plots.learning_curves(h, title="demo", best_epoch=2)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert len(fig.axes[0].lines) == 3 and len(fig.axes[1].lines) == 4  # curves + best-epoch marker
    np.testing.assert_array_equal(fig.axes[0].lines[1].get_ydata(), h["val_loss"])


def test_confusion_matrix_is_row_normalised():
    cm = np.array([[8, 2, 0], [1, 1, 0], [0, 0, 0]])  # class c absent: its row must stay 0, not NaN
    fig = plots.confusion_matrix(cm, NAMES)
    assert isinstance(fig, Figure)
    cells = fig.axes[0].collections[0].get_array().reshape(3, 3)
    np.testing.assert_allclose(cells, [[0.8, 0.2, 0], [0.5, 0.5, 0], [0, 0, 0]])
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == NAMES


def test_per_class_f1_single_and_compared():
    m = classification_metrics([0, 1, 2, 2], [0, 1, 1, 2], NAMES)
    fig = plots.per_class_f1(m["report"])
    assert isinstance(fig, Figure)
    heights = [p.get_height() for p in fig.axes[0].patches]
    np.testing.assert_allclose(heights, m["report"]["f1"])
    fig2 = plots.per_class_f1({"A": m["report"], "B": m["report"]})
    assert len([p for p in fig2.axes[0].patches if p.get_height() > 0]) == 6


@pytest.mark.parametrize("wide", [True, False])
def test_class_distribution_accepts_wide_and_long(wide):
    counts = pd.DataFrame({"train": [50, 5, 20], "val": [10, 1, 4]}, index=NAMES)
    if not wide:
        counts = counts.rename_axis("class").reset_index().melt(id_vars="class", var_name="split",
                                                                value_name="count")
    fig = plots.class_distribution(counts, log=True)
    assert isinstance(fig, Figure)
    assert sorted(p.get_height() for p in fig.axes[0].patches if p.get_height() > 0) == [1, 4, 5, 10, 20, 50]


@pytest.mark.parametrize("channels", [1, 3])
def test_image_grid(channels):
    imgs = np.random.default_rng(0).integers(0, 256, (5, 16, 16, channels), dtype=np.uint8)
    fig = plots.image_grid(imgs, titles=[f"true {i} -> pred 0" for i in range(5)], ncols=3)
    assert isinstance(fig, Figure) and len(fig.axes) == 6  # 2 rows x 3, last one blank
    assert sum(bool(ax.images) for ax in fig.axes) == 5
    assert fig.axes[4].get_title() == "true 4 -> pred 0"
    assert isinstance(plots.image_grid(imgs[:0]), Figure)
