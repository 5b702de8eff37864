"""The report figures: learning curves, confusion matrices, per-class F1, class counts, image grids.

Each function builds and returns a matplotlib Figure and never calls
plt.show(): notebooks display the returned figure, and tests run headless.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

__all__ = ["arm_curves", "learning_curves", "show_learning_curves", "confusion_matrix", "per_class_f1", "class_distribution", "image_grid", "face_prediction"]


def learning_curves(history: pd.DataFrame, title: str = "", best_epoch: int | None = None) -> Figure:
    """Loss and accuracy per epoch, train beside validation.

    Args:
        history: `FitResult.history` (epoch, train_loss, val_loss, train_acc, val_acc,
            optional val_macro_f1).
        title: figure title.
        best_epoch: marks the selected epoch with a dashed line.

    Returns:
        The Figure (two panels).
    """
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.5), layout="constrained")
    panels = [(ax_loss, ["train_loss", "val_loss"], "loss"),
              (ax_acc, ["train_acc", "val_acc", "val_macro_f1"], "accuracy / macro F1")]
    for ax, cols, ylabel in panels:
        for col in [c for c in cols if c in history]:
            ax.plot(history["epoch"], history[col], marker="o", markersize=3, label=col)
        if best_epoch:
            ax.axvline(best_epoch, color="grey", linestyle="--", linewidth=1, label=f"best epoch {best_epoch}")
        ax.set(xlabel="epoch", ylabel=ylabel)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return fig


def confusion_matrix(cm, class_names: list[str], title: str = "", annotate: bool | None = None) -> Figure:
    """Row-normalised confusion matrix heatmap (each row: where that true class went).

    Row normalisation makes rare classes readable: raw counts on FER2013 would be
    dominated by "happy".

    Args:
        cm: count matrix (K, K), rows = true class (e.g. `classification_metrics(...)["confusion"]`).
        class_names: K names.
        title: axes title.
        annotate: write the fractions in the cells; default only for K <= 12.

    Returns:
        The Figure.
    """
    cm = np.asarray(cm, dtype=float)
    rows = cm.sum(1, keepdims=True)
    norm = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)  # absent classes: a zero row
    k = len(class_names)
    annotate = k <= 12 if annotate is None else annotate
    fig, ax = plt.subplots(figsize=(1.0 + 0.6 * k, 0.8 + 0.55 * k), layout="constrained")
    sns.heatmap(norm, vmin=0, vmax=1, cmap="Blues", annot=annotate, fmt=".2f", square=True,
                xticklabels=class_names, yticklabels=class_names, ax=ax, cbar_kws=dict(shrink=0.8))
    ax.set(xlabel="predicted", ylabel="true", title=title or "confusion matrix (row-normalised)")
    ax.tick_params(axis="x", labelrotation=45)
    ax.tick_params(axis="y", labelrotation=0)  # seaborn turns long row names vertical; keep them readable
    return fig


def crosstab(table: pd.DataFrame, title: str = "") -> Figure:
    """Row-normalised heatmap of a crosstab whose rows and columns are different label sets (one
    dataset's labels against another's), each axis labelled with its own classes."""
    counts = table.to_numpy(dtype=float)
    rows = counts.sum(1, keepdims=True)
    norm = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
    fig, ax = plt.subplots(figsize=(1.5 + 0.6 * counts.shape[1], 1.0 + 0.5 * counts.shape[0]), layout="constrained")
    sns.heatmap(norm, vmin=0, vmax=1, cmap="Blues", annot=True, fmt=".2f", xticklabels=list(table.columns),
                yticklabels=list(table.index), ax=ax, cbar_kws=dict(shrink=0.8))
    ax.set(xlabel=table.columns.name or "", ylabel=table.index.name or "", title=title)
    ax.tick_params(axis="x", labelrotation=45)
    ax.tick_params(axis="y", labelrotation=0)
    return fig


def per_class_f1(report, title: str = "") -> Figure:
    """Per-class F1 bars; several runs side by side when given a dict.

    Args:
        report: `classification_metrics(...)["report"]` (DataFrame with an "f1" column,
            indexed by class), or {run name: report} to compare runs (e.g. 004's A vs B).
        title: axes title.

    Returns:
        The Figure.
    """
    reports = report if isinstance(report, dict) else {"": report}
    long = pd.concat([pd.DataFrame(dict(cls=r.index.astype(str), f1=r["f1"].to_numpy(), run=name))
                      for name, r in reports.items()])
    k = long["cls"].nunique()
    fig, ax = plt.subplots(figsize=(max(5.0, 0.5 * k * max(1, len(reports))), 3.5), layout="constrained")
    sns.barplot(data=long, x="cls", y="f1", hue="run" if len(reports) > 1 else None, ax=ax)
    ax.set(xlabel="class", ylabel="F1", ylim=(0, 1), title=title or "per-class F1")
    ax.tick_params(axis="x", labelrotation=45)
    return fig


def class_distribution(counts: pd.DataFrame, title: str = "", log: bool = False) -> Figure:
    """Number of images per class and split.

    Args:
        counts: long format (columns split, class, count), or wide format (index =
            class, one column per split, e.g. `pd.concat([ds.class_counts() ...], axis=1)`).
        title: axes title.
        log: log-scale counts, for sets where one class dwarfs others (DeepWeeds "Negative").

    Returns:
        The Figure.
    """
    if not {"split", "class", "count"} <= set(counts.columns):
        counts = (counts.rename_axis("class").reset_index()
                  .melt(id_vars="class", var_name="split", value_name="count"))
    k = counts["class"].nunique()
    fig, ax = plt.subplots(figsize=(max(5.0, 0.6 * k * counts["split"].nunique()), 3.5), layout="constrained")
    sns.barplot(data=counts, x="class", y="count", hue="split", ax=ax)
    ax.set(ylabel="images", title=title or "class distribution")
    if log:
        ax.set_yscale("log")
    ax.tick_params(axis="x", labelrotation=45)
    return fig


def image_grid(images, titles: list[str] | None = None, ncols: int = 8, title: str = "",
               size: float = 1.4) -> Figure:
    """A grid of images, e.g. samples per class or misclassified examples ("true -> pred").

    Args:
        images: uint8 (N, H, W, C) with C 1 or 3 (numpy or tensor).
        titles: one short caption per image.
        ncols: images per row.
        title: figure title.
        size: inches per image.

    Returns:
        The Figure (an empty one with a note when there are no images).
    """
    images = np.asarray(images)
    n = len(images)
    if n == 0:
        fig, ax = plt.subplots(figsize=(3, 1))
        ax.axis("off")
        ax.text(0.5, 0.5, "no images", ha="center", va="center")
        return fig
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + (0.3 if title else 0)),
                             squeeze=False, layout="constrained")
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        img = images[i]
        if img.ndim == 3 and img.shape[-1] == 1:
            ax.imshow(img[..., 0], cmap="gray", vmin=0, vmax=255)
        else:
            ax.imshow(img)
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=7)
    if title:
        fig.suptitle(title)
    return fig


def class_distributions(folders: dict) -> Figure:
    """Images per class and split of several datasets ({name: {split: ImageDataset}}), one panel each."""
    fig, axes = plt.subplots(1, len(folders), figsize=(6 * len(folders), 3.5), squeeze=False, layout="constrained")
    for ax, (name, sp) in zip(axes.flat, folders.items()):
        counts = pd.concat([ds.class_counts() for ds in sp.values()], axis=1)
        long = counts.rename_axis("class").reset_index().melt(id_vars="class", var_name="split", value_name="count")
        sns.barplot(data=long, x="class", y="count", hue="split", ax=ax)
        ax.set(ylabel="images", title=f"{name}: classes per split")
        ax.tick_params(axis="x", labelrotation=45)
    return fig


def arm_curves(outcomes: dict, title: str = "") -> Figure:
    """Every arm's learning curves on shared axes, one line per arm in each panel: train loss, validation
    loss, validation accuracy (one colour per arm throughout); a dot marks the epoch each arm's
    validation chose (its best epoch).

    Args:
        outcomes: {name: train.Outcome} (or anything with `.fit.history` and `.fit.best_epoch`), or
            {name: (history, best_epoch)}.
        title: figure title.

    Returns:
        The Figure (three panels, x shared; the two loss panels share y).
    """
    curves = {name: (o if isinstance(o, tuple) else (o.fit.history, o.fit.best_epoch)) for name, o in outcomes.items()}
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), sharex=True, layout="constrained")
    axes[1].sharey(axes[0])
    panels = [("train_loss", "train loss"), ("val_loss", "validation loss"), ("val_acc", "validation accuracy")]
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (name, (h, best)) in enumerate(curves.items()):
        colour = colours[i % len(colours)]
        for ax, (col, _) in zip(axes, panels):
            if col not in h or not len(h):
                continue
            ax.plot(h["epoch"], h[col], color=colour, marker="o" if len(h) <= 20 else None, markersize=3, label=name)
            row = h.loc[h["epoch"] == best]
            if col != "train_loss" and len(row):  # the chosen epoch: a marker, not a line
                ax.scatter(row["epoch"], row[col], s=60, facecolor="none", edgecolor=colour, linewidth=1.5, zorder=3)
    for ax, (_, label) in zip(axes, panels):
        ax.set(xlabel="epoch", title=label)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("loss")
    axes[2].set_ylabel("accuracy")
    if curves:
        handles, labels = axes[2].get_legend_handles_labels()
        handles.append(Line2D([], [], marker="o", markersize=8, linestyle="", markerfacecolor="none",
                              markeredgecolor="grey"))  # a legend entry only, drawn on no axes
        labels.append("epoch chosen on validation")
        fig.legend(handles, labels, loc="outside lower center", ncols=min(4, len(labels)), fontsize=8, frameon=False)
    if title:
        fig.suptitle(title)
    return fig


def show_learning_curves(outcomes: dict, classes: list[str] | None = None) -> None:
    """Show every arm's learning curves in one figure (`arm_curves`) and, given the class names, the test
    confusion matrix of the arm best on validation (one matrix, not one per arm)."""
    plt.show(arm_curves(outcomes))
    if classes is not None and outcomes:
        best = max(outcomes.values(), key=lambda o: o.val["acc"])
        plt.show(confusion_matrix(best.metrics["confusion"], classes, f"{best.name}: test (best on validation)"))


def face_prediction(rgb: np.ndarray, box, crop: np.ndarray, probs: pd.Series) -> Figure:
    """"Try your own image": the photo with the face box, what the model sees, and its class probabilities.

    Args:
        rgb: the photo, uint8 (H, W, 3).
        box: (x, y, width, height) of the face, or None (the whole photo was used).
        crop: the model's input, uint8 (h, w, C) with C 1 or 3.
        probs: class probabilities, highest first.
    """
    from matplotlib.patches import Rectangle
    fig, ax = plt.subplots(1, 3, figsize=(11, 3.2), layout="constrained", width_ratios=[1, 1, 1.4])
    ax[0].imshow(rgb)
    if box is not None:
        ax[0].add_patch(Rectangle(box[:2], box[2], box[3], fill=False, edgecolor="#00ff00", linewidth=3))
    ax[0].set_title("face found" if box is not None else "no face found: whole image used", fontsize=9)
    ax[1].imshow(crop[..., 0] if crop.shape[-1] == 1 else crop, cmap="gray", vmin=0, vmax=255)
    ax[1].set_title(f"what the model sees ({crop.shape[0]} px)", fontsize=9)
    for a in ax[:2]:
        a.axis("off")
    probs.plot.barh(ax=ax[2])
    ax[2].invert_yaxis()
    ax[2].set(xlim=(0, 1), xlabel="probability", title=f"predicted: {probs.index[0]} ({probs.iloc[0]:.2f})")
    return fig
