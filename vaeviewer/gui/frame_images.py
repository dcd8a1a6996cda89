"""Frames as images for the Probe panel and its exports: tiling, stacking, 8-bit PNGs, small views.

`sample_frames`, `tile`, `stack` and `write_png` are numpy (and QImage for the PNG; any thread);
`image_view` / `set_image` are the panel's pyqtgraph views of a 0..1 image with fixed levels.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtGui import QImage
from PyQt6.QtWidgets import QLabel, QSizePolicy

from vaeviewer.atomic import atomic_target
from vaeviewer.errors import VaeViewerError


def sample_frames(sample: np.ndarray) -> np.ndarray:
    """A decoded sample (H, W, 1) or (T, H, W, 1) as frames (n, H, W)."""
    frames = np.asarray(sample, np.float32)[..., 0]
    return frames[None] if frames.ndim == 2 else frames


def tile(frames: np.ndarray, columns: int, gap: int = 1, fill: float = 1.0) -> np.ndarray:
    """Frames (n, H, W) in rows of `columns`, `gap` pixels of `fill` between them."""
    n, h, w = frames.shape
    columns = max(1, min(columns, n))
    rows = -(-n // columns)
    out = np.full((rows * (h + gap) - gap, columns * (w + gap) - gap), fill, np.float32)
    for i in range(n):
        r, c = divmod(i, columns)
        out[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = frames[i]
    return out


def stack(images: list[np.ndarray], axis: int, gap: int = 3, fill: float = 1.0) -> np.ndarray:
    """2-D images side by side (axis 1) or one under another (axis 0), padded to one size."""
    size = max(im.shape[1 - axis] for im in images)
    parts = []
    for i, im in enumerate(images):
        pad = [(0, 0), (0, 0)]
        pad[1 - axis] = (0, size - im.shape[1 - axis])
        parts.append(np.pad(im, pad, constant_values=fill))
        if i < len(images) - 1:
            parts.append(np.full((gap, size) if axis == 0 else (size, gap), fill, np.float32))
    return np.concatenate(parts, axis=axis)


def write_png(path: str, image: np.ndarray, text: str = "") -> None:
    """A grayscale image with values 0..1 as an 8-bit PNG (written atomically; any thread)."""
    data = np.ascontiguousarray(np.round(np.clip(image, 0.0, 1.0) * 255).astype(np.uint8))
    h, w = data.shape
    qimage = QImage(data.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
    if text:
        qimage.setText("Description", text)
    try:
        with atomic_target(path, suffix=".png") as tmp:
            if not qimage.save(str(tmp), "PNG"):
                raise VaeViewerError(f"{path}: the PNG could not be written (check the folder and the file name)")
    except OSError as exc:
        raise VaeViewerError(f"{path}: cannot write the PNG ({exc.strerror or exc})") from None



def line_label(text: str = "") -> QLabel:
    """A label that never widens the panel: long lines are cut, the tooltip holds them."""
    label = QLabel(text)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    label.setToolTip(text)
    return label


def image_view() -> tuple[pg.GraphicsLayoutWidget, pg.ImageItem]:
    view = pg.GraphicsLayoutWidget()
    view.ci.setContentsMargins(0, 0, 0, 0)
    box = view.addViewBox(lockAspect=True, invertY=True, enableMouse=False)
    image = pg.ImageItem(levels=(0.0, 1.0))
    box.addItem(image)
    view.setMinimumHeight(60)
    # Heights come from the panel's stretch factors, not from QGraphicsView's large size hint.
    view.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Ignored)
    view.box = box
    return view, image


def set_image(view: pg.GraphicsLayoutWidget, item: pg.ImageItem, image: np.ndarray) -> None:
    """Show a 0..1 image with fixed levels; refit the view when its shape changes."""
    reshaped = item.image is None or item.image.shape != image.shape
    item.setImage(np.ascontiguousarray(image, np.float32), levels=(0.0, 1.0), autoLevels=False)
    if reshaped:
        view.box.autoRange(padding=0.01)
