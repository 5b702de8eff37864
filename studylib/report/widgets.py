"""ipywidgets for JupyterLab: sample and misclassified-image browsers, and "try your own image".

Each function returns a widget and never blocks, so notebooks still execute headless under papermill.
The work behind each widget (`misclassified`, `predict_face`) is a plain function that tests can call.

A browser is one `FigureBox`: its controls above one `Image` widget holding the current figure as PNG.
Every redraw replaces that image in place, and no output is captured into an `Output` widget while
papermill executes a cell (that can lose the kernel's reply: the run then hangs). The box's display
bundle carries the current PNG beside the widget view, so a report (or any page without a live kernel)
shows the figure instead of an empty widget.
"""
from __future__ import annotations

import base64
import io
from pathlib import PurePosixPath

import cv2
import ipywidgets as w
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from PIL import Image

from . import plots
from ..train.batches import to_batch


def figure_png(fig, dpi=None) -> bytes:
    """A matplotlib figure as PNG bytes (at `dpi`, else the figure's own); the figure is closed (so the
    inline backend does not show it too)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", dpi=dpi or "figure")
    plt.close(fig)
    return buf.getvalue()


class FigureBox(w.VBox):
    """Controls above one image area; `show(fig)` replaces the image in place.

    Outside JupyterLab (a rendered report, a notebook viewer) the display falls back to the current
    figure as a plain PNG, and to `note` as text.
    """

    def __init__(self, controls: list, note: str, extra: list | None = None):
        # hidden until there is a figure: an empty Image widget draws a broken-image icon
        self.image = w.Image(format="png", layout=w.Layout(max_width="100%", display="none"))
        self.note = note
        super().__init__([w.HBox(controls), *(extra or []), self.image])

    def show(self, fig) -> None:
        self.image.value = figure_png(fig)
        self.image.layout.display = ""

    def clear(self) -> None:
        """No figure (and no broken-image icon) until the next `show`."""
        self.image.value = b""
        self.image.layout.display = "none"

    def _repr_mimebundle_(self, **kwargs):
        data = super()._repr_mimebundle_(**kwargs)
        data["text/plain"] = self.note
        if self.image.value:
            data["image/png"] = base64.b64encode(self.image.value).decode("ascii")
        return data


def caption(item_id, class_name: str, width: int = 16) -> str:
    """A short grid title for an image id: the file name without its folder, extension and a leading
    class name (`Ada_Lovelace/Ada_Lovelace_0005.jpg` under class Ada_Lovelace -> `0005`), middle-elided."""
    name = PurePosixPath(str(item_id)).stem
    if name.startswith(class_name) and len(name) > len(class_name) + 1:
        name = name[len(class_name):].lstrip("_- ")
    return name if len(name) <= width else name[:width // 2 - 1] + "…" + name[-(width // 2):]


def sample_browser(datasets: dict, n: int = 16, seed: int = 0) -> FigureBox:
    """Pick a dataset and a class; shows n random images of it (button: draw others)."""
    names = list(datasets)
    ds_pick = w.Dropdown(options=names, description="dataset")
    cls_pick = w.Dropdown(options=datasets[names[0]].classes, description="class")
    again = w.Button(description="other samples")
    box = FigureBox([ds_pick, cls_pick, again], f"sample browser: {len(names)} datasets (interactive in JupyterLab)")
    rng = np.random.default_rng(seed)

    def redraw(*_):
        ds = datasets[ds_pick.value]
        idx = np.flatnonzero(ds.labels == ds.classes.index(cls_pick.value))
        pick = rng.choice(idx, min(n, len(idx)), replace=False) if len(idx) else idx
        box.show(plots.image_grid(ds.images[pick], [caption(ds.ids[i], cls_pick.value) for i in pick], ncols=8,
                                  title=f"{ds.name}/{ds.split}: {cls_pick.value} ({len(idx)} images)"))

    def new_dataset(_):
        # The class list changes; the class may keep its value (both datasets have it), so nothing would
        # fire: redraw here, once, with the class observer paused while the options change.
        cls_pick.unobserve(redraw, names="value")
        cls_pick.options = datasets[ds_pick.value].classes
        cls_pick.observe(redraw, names="value")
        redraw()

    redraw()
    ds_pick.observe(new_dataset, names="value")
    cls_pick.observe(redraw, names="value")
    again.on_click(redraw)
    return box


def misclassified(ds, y_pred, true_class: str | None = None, pred_class: str | None = None) -> np.ndarray:
    """Positions of misclassified test images, optionally of one true and/or predicted class."""
    wrong = ds.labels != np.asarray(y_pred)
    if true_class:
        wrong &= ds.labels == ds.classes.index(true_class)
    if pred_class:
        wrong &= np.asarray(y_pred) == ds.classes.index(pred_class)
    return np.flatnonzero(wrong)


def misclassified_pairs(ds, y_pred) -> list[tuple[str, str, int]]:
    """(true class, predicted class, count) of every confusion that occurs, most frequent first: the
    browser offers only these (never true = predicted, never a pair with no image)."""
    y_pred = np.asarray(y_pred)
    wrong = ds.labels != y_pred
    pairs = pd.Series(list(zip(ds.labels[wrong], y_pred[wrong]))).value_counts()
    return [(ds.classes[t], ds.classes[p], int(n)) for (t, p), n in pairs.items()]


def misclassified_browser(ds, y_pred, n: int = 24) -> FigureBox:
    """Browse misclassified test images: all of them, or one confusion (true → predicted) that occurs."""
    total = int((ds.labels != np.asarray(y_pred)).sum())
    options = [(f"all misclassified ({total})", None)] + [(f"{t} → {p} ({k})", (t, p))
                                                          for t, p, k in misclassified_pairs(ds, y_pred)]
    pick = w.Dropdown(options=options, description="show", layout=w.Layout(width="24em"))
    box = FigureBox([pick], "misclassified-image browser (interactive in JupyterLab)")

    def redraw(*_):
        true, pred = pick.value or (None, None)
        idx = misclassified(ds, y_pred, true, pred)
        if not len(idx):
            box.clear()
            return
        titles = [f"{ds.classes[ds.labels[i]]}→{ds.classes[y_pred[i]]}" for i in idx[:n]]
        box.show(plots.image_grid(ds.images[idx[:n]], titles, ncols=8, title=f"{len(idx)} misclassified"))

    redraw()
    pick.observe(redraw, names="value")
    return box


def face_box(rgb: np.ndarray) -> tuple[int, int, int, int] | None:
    """(x, y, width, height) of the largest face found by OpenCV's bundled Haar cascade, or None."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    faces = cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(30, 30))
    if len(faces) == 0:
        return None
    return tuple(int(v) for v in max(faces, key=lambda f: f[2] * f[3]))


def find_face(rgb: np.ndarray) -> tuple[np.ndarray, bool]:
    """The largest face (cropped), else the whole image; and whether a face was found."""
    box = face_box(rgb)
    if box is None:
        return rgb, False
    x, y, wdt, hgt = box
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


def read_upload(value) -> tuple[str, bytes]:
    """(name, bytes) of the first file of a FileUpload value (ipywidgets 8: a tuple of dicts; 7: a dict)."""
    if isinstance(value, (list, tuple)):
        first = value[0]
        return str(first.get("name", "upload")), bytes(first["content"])
    name, first = next(iter(value.items()))
    return str(first.get("name", name)), bytes(first["content"])


def read_image(name: str, content: bytes) -> np.ndarray | str:
    """The upload as an RGB array, or one line saying it is not an image (no exception text, no repr)."""
    try:
        with Image.open(io.BytesIO(content)) as img:
            return np.asarray(img.convert("RGB"))
    except (OSError, ValueError, Image.DecompressionBombError):
        return f"not an image: {name}"


def describe_prediction(box, probs: pd.Series) -> str:
    """One line (HTML) under the figure: where the face is and what the model predicts."""
    where = (f"face found at x={box[0]}, y={box[1]} ({box[2]}×{box[3]} px)" if box
             else "no face found: the whole image was used")
    return f"{where}; predicted: <b>{probs.index[0]}</b> ({probs.iloc[0]:.2f})"


def try_your_image(model, classes: list[str], image_size: int = 48, channels: int = 1) -> FigureBox:
    """Upload a photo: the face is found (box drawn), cropped, and the model's class probabilities shown."""
    upload = w.FileUpload(accept="image/*", multiple=False, description="your image")
    result = w.HTML("")
    box = FigureBox([upload], "try your own image: upload a photo in JupyterLab", extra=[result])

    def on_upload(change):
        if not change["new"]:
            return
        rgb = read_image(*read_upload(change["new"]))
        if isinstance(rgb, str):  # not an image: one line, and the previous figure goes
            box.clear()
            result.value = rgb
            return
        crop, _, probs = predict_face(model, rgb, classes, image_size, channels)
        found = face_box(rgb)
        box.show(plots.face_prediction(rgb, found, crop, probs))
        result.value = describe_prediction(found, probs)
    upload.observe(on_upload, names="value")
    return box


def example_prediction(model, classes: list[str], image_size: int = 48, channels: int = 1) -> str:
    """The model on scikit-image's astronaut photo: what a user's own photo goes through."""
    from skimage import data as skdata
    _, found, probs = predict_face(model, skdata.astronaut(), classes, image_size, channels)
    return f"example (skimage astronaut): {'face found' if found else 'no face'} → {probs.index[0]} {probs.iloc[0]:.2f}"
