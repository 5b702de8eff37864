"""ipywidgets for JupyterLab: sample and misclassified-image browsers, and "try your own image".

Each function returns a widget and never blocks, so notebooks still execute headless under papermill.
The work behind each widget (`misclassified`, `predict_face`) is a plain function that tests can call.
"""
from __future__ import annotations

import io

import cv2
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from PIL import Image

from . import plots
from ..train.batches import to_batch


def _grid_output(draw) -> "object":
    """An Output widget redrawn on user events. The first drawing is shown as a plain figure instead:
    capturing output into a widget while papermill executes the cell can lose the kernel's reply (the
    run then hangs), and a plain figure also appears in the rendered HTML report."""
    import ipywidgets as w
    out = w.Output()

    def refresh(*_):
        out.clear_output(wait=True)
        with out:
            plt.show(draw())
    plt.show(draw())
    return out, refresh


def sample_browser(datasets: dict, n: int = 16, seed: int = 0):
    """Pick a dataset and a class; shows n random images of it (button: draw others)."""
    import ipywidgets as w
    names = list(datasets)
    ds_pick = w.Dropdown(options=names, description="dataset")
    cls_pick = w.Dropdown(options=datasets[names[0]].classes, description="class")
    again = w.Button(description="other samples")
    rng = np.random.default_rng(seed)

    def draw():
        ds = datasets[ds_pick.value]
        idx = np.flatnonzero(ds.labels == ds.classes.index(cls_pick.value))
        pick = rng.choice(idx, min(n, len(idx)), replace=False) if len(idx) else idx
        return plots.image_grid(ds.images[pick], [str(ds.ids[i]) for i in pick], ncols=8,
                                title=f"{ds.name}/{ds.split}: {cls_pick.value} ({len(idx)} images)")

    out, refresh = _grid_output(draw)
    ds_pick.observe(lambda ch: setattr(cls_pick, "options", datasets[ch["new"]].classes), names="value")
    cls_pick.observe(refresh, names="value")
    again.on_click(refresh)
    return w.VBox([w.HBox([ds_pick, cls_pick, again]), out])


def misclassified(ds, y_pred, true_class: str | None = None, pred_class: str | None = None) -> np.ndarray:
    """Positions of misclassified test images, optionally of one true and/or predicted class."""
    wrong = ds.labels != np.asarray(y_pred)
    if true_class:
        wrong &= ds.labels == ds.classes.index(true_class)
    if pred_class:
        wrong &= np.asarray(y_pred) == ds.classes.index(pred_class)
    return np.flatnonzero(wrong)


def misclassified_browser(ds, y_pred, n: int = 24):
    """Browse misclassified test images by true and predicted class."""
    import ipywidgets as w
    any_ = "(any)"
    t = w.Dropdown(options=[any_] + ds.classes, description="true")
    p = w.Dropdown(options=[any_] + ds.classes, description="predicted")

    def draw():
        idx = misclassified(ds, y_pred, None if t.value == any_ else t.value, None if p.value == any_ else p.value)
        titles = [f"{ds.classes[ds.labels[i]]}→{ds.classes[y_pred[i]]}" for i in idx[:n]]
        return plots.image_grid(ds.images[idx[:n]], titles, ncols=8, title=f"{len(idx)} misclassified")

    out, refresh = _grid_output(draw)
    t.observe(refresh, names="value")
    p.observe(refresh, names="value")
    return w.VBox([w.HBox([t, p]), out])


def find_face(rgb: np.ndarray) -> tuple[np.ndarray, bool]:
    """The largest face found by OpenCV's bundled Haar cascade, else the whole image."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    faces = cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(30, 30))
    if len(faces) == 0:
        return rgb, False
    x, y, wdt, hgt = max(faces, key=lambda f: f[2] * f[3])
    return rgb[y:y + hgt, x:x + wdt], True


def predict_face(model, rgb: np.ndarray, classes: list[str], image_size: int = 48, channels: int = 1):
    """Crop the face, resize like the training images, and return (crop, found, class probabilities)."""
    crop, found = find_face(rgb)
    img = Image.fromarray(crop).convert("L" if channels == 1 else "RGB").resize((image_size, image_size))
    arr = np.asarray(img, dtype=np.uint8)  # read-only is fine: to_batch copies it
    arr = arr[None, ..., None] if channels == 1 else arr[None]
    model.eval()
    device = next(model.parameters()).device
    with torch.no_grad():
        probs = model(to_batch(arr, None, device)).softmax(1)[0].cpu().numpy()
    return arr[0], found, pd.Series(probs, index=classes).sort_values(ascending=False)


def try_your_image(model, classes: list[str], image_size: int = 48, channels: int = 1):
    """Upload a photo: the face is found, cropped, and the model's class probabilities are shown."""
    import ipywidgets as w
    upload = w.FileUpload(accept="image/*", multiple=False, description="your image")
    out = w.Output()

    def on_upload(change):
        files = change["new"]
        if not files:
            return
        data = files[0]["content"] if isinstance(files, (list, tuple)) else list(files.values())[0]["content"]
        rgb = np.asarray(Image.open(io.BytesIO(bytes(data))).convert("RGB"))
        crop, found, probs = predict_face(model, rgb, classes, image_size, channels)
        out.clear_output(wait=True)
        with out:
            print("face found" if found else "no face found: the whole image was used")
            fig, ax = plt.subplots(1, 2, figsize=(8, 3))
            ax[0].imshow(crop[..., 0] if crop.shape[-1] == 1 else crop, cmap="gray")
            ax[0].axis("off")
            probs.plot.barh(ax=ax[1])
            ax[1].invert_yaxis()
            plt.show(fig)
    upload.observe(on_upload, names="value")
    return w.VBox([upload, out])


def example_prediction(model, classes: list[str], image_size: int = 48, channels: int = 1) -> str:
    """The model on scikit-image's astronaut photo: what a user's own photo goes through."""
    from skimage import data as skdata
    _, found, probs = predict_face(model, skdata.astronaut(), classes, image_size, channels)
    return f"example (skimage astronaut): {'face found' if found else 'no face'} → {probs.index[0]} {probs.iloc[0]:.2f}"
