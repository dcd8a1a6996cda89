"""Exports of the windows selected in the latent scatter: frame indices (CSV), frames (PNG), video.

A selection is a list of rows (split, sequence, first_frame, last_frame), frames numbered within the
split's part as the latents CSV numbers them. The functions here read the model and write files;
they run on the app's inspection worker (gui/workers.py), never on the GUI thread, and need no Qt.

- `write_selection_csv`: one row per window, with the source file and its own frame numbers.
- `write_selection_strip`: a PNG of bands, each an input row over its reconstruction row (the
  strips' reconstruction: a stateful model's carried state), at most `MAX_STRIP_FRAMES` frames,
  whole windows; a line under the bands says how many frames were left out.
- `write_selection_video`: `vaeviewer export --video`'s writer (training/export.py write_video:
  input | reconstruction | error, the file frame above) over only the selected frames: the
  selected windows become the parts of a small stand-in for the Inspector. Each window is
  reconstructed on its own (a stateful model from a reset state, as that writer does for a
  sequence's tail); conv2d's consecutive frames are one part.
"""

from __future__ import annotations

import csv
import dataclasses
from types import SimpleNamespace
from typing import Any

import numpy as np

from vaeviewer.atomic import atomic_target
from vaeviewer.errors import VaeViewerError

MAX_STRIP_FRAMES = 128      # frames in a selection PNG; whole windows, at least one
MAX_VIDEO_FRAMES = 3000     # two minutes at 25 frames a second
STRIP_COLUMNS = 16          # frames per band (window models: whole windows per band)

Row = tuple[str, int, int, int]   # (split, sequence, first_frame, last_frame)


def write_selection_csv(path: str, rows: list[Row], names: Any = None) -> int:
    """split, sequence, first_frame, last_frame, then the source and its frame numbers (when `names`
    knows them); returns the rows written."""
    try:
        with atomic_target(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
            out = csv.writer(fh)
            out.writerow(["split", "sequence", "first_frame", "last_frame", "source", "first_frame_in_source",
                          "last_frame_in_source"])
            for split, s, a, b in rows:
                source = names.source_name(split, s) if names is not None else ""
                in_file = (lambda f: names.in_file(split, s, f)) if names is not None else (lambda f: f)
                out.writerow([split, s, a, b, source, in_file(a), in_file(b)])
    except OSError as exc:
        raise VaeViewerError(f"{path}: cannot write ({exc.strerror or exc})") from None
    return len(rows)


def windows_that_fit(rows: list[Row], max_frames: int) -> list[Row]:
    """The first windows of `rows` whose frames add up to at most `max_frames` (at least one)."""
    kept, total = [], 0
    for row in rows:
        n = row[3] - row[2] + 1
        if kept and total + n > max_frames:
            break
        kept.append(row)
        total += n
    return kept


def selected_frames(inspector, rows: list[Row]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(inputs, reconstruction), each (n, H, W) in 0..1, of every window in `rows`, as the strips
    show them (conv2d: the frames in one batch; windows: `Inspector.window`, carried state included)."""
    from vaeviewer.data.windows import frames_to_float
    from vaeviewer.models import inference

    if not inspector.config.uses_windows:
        x = np.concatenate([frames_to_float(inspector.split_list(split)[s].frames[a:b + 1])
                            for split, s, a, b in rows])[..., None]
        with inspector.lock:
            recon = np.concatenate([inference.forward(inspector.viewer_model(), x[i:i + 64])[2]
                                    for i in range(0, len(x), 64)])
        out, i = [], 0
        for _split, _s, a, b in rows:
            n = b - a + 1
            out.append((x[i:i + n, ..., 0], recon[i:i + n, ..., 0]))
            i += n
        return out
    out = []
    for split, s, a, b in rows:
        snap = inspector.window(split, s, a)
        k = max(0, a - snap.start)
        out.append((snap.inputs[k:k + b - a + 1], snap.reconstruction[k:k + b - a + 1]))
    return out


def strip_image(pairs: list[tuple[np.ndarray, np.ndarray]], columns: int = STRIP_COLUMNS) -> np.ndarray:
    """Bands of an input row over its reconstruction row (0..1, white gaps): whole windows per band,
    `columns` frames per band or one window when a window is longer."""
    h, w = pairs[0][0].shape[1:]
    gap, window_gap, band_gap = 1, 4, 8
    bands, band, used = [], [], 0
    for x, r in pairs:
        if band and used + len(x) > columns:
            bands.append(band)
            band, used = [], 0
        band.append((x, r))
        used += len(x)
    bands.append(band)

    def row(frames_list: list[np.ndarray]) -> np.ndarray:
        parts = []
        for j, frames in enumerate(frames_list):
            for k, f in enumerate(frames):
                if parts:
                    parts.append(np.ones((h, window_gap if k == 0 and j > 0 else gap), np.float32))
                parts.append(np.asarray(f, np.float32))
        return np.concatenate(parts, axis=1)

    images = []
    for band in bands:
        top, bottom = row([x for x, _ in band]), row([r for _, r in band])
        images.append(np.concatenate([top, np.ones((gap + 1, top.shape[1]), np.float32), bottom]))
    width = max(im.shape[1] for im in images)
    out = []
    for i, im in enumerate(images):
        if i:
            out.append(np.ones((band_gap, width), np.float32))
        out.append(np.pad(im, ((0, 0), (0, width - im.shape[1])), constant_values=1.0))
    return np.concatenate(out)


def write_selection_strip(path: str, inspector, rows: list[Row], max_frames: int = MAX_STRIP_FRAMES) -> dict:
    """The selected windows' inputs over their reconstructions as a PNG (see the module); returns
    {'windows', 'frames', 'left_out_windows', 'left_out_frames'}."""
    from PIL import Image, ImageDraw
    from PIL.PngImagePlugin import PngInfo

    if not rows:
        raise VaeViewerError("nothing to export: select windows in the latent scatter first")
    shown = windows_that_fit(rows, max_frames)
    image = strip_image(selected_frames(inspector, shown))
    h, w = inspector.data.frame_shape
    scale = int(np.clip(round(64 / max(1, w)), 1, 4))   # small frames drawn larger, so the note fits
    frames = sum(b - a + 1 for _s, _q, a, b in shown)
    left = sum(b - a + 1 for _s, _q, a, b in rows) - frames
    what = "frame" if rows[0][3] == rows[0][2] else "window"
    note = (f"{len(shown):,} of {len(rows):,} selected {what}s ({rows[0][0]}), {frames:,} frames; each band: "
            "input over reconstruction")
    more = f"{left:,} frames of {len(rows) - len(shown):,} {what}s left out (the first ones are shown)" if left else ""
    pixels = Image.fromarray(np.round(np.clip(image, 0, 1) * 255).astype(np.uint8))
    pixels = pixels.resize((pixels.width * scale, pixels.height * scale), Image.NEAREST)
    lines = [note] + ([more] if more else [])
    canvas = Image.new("L", (max(pixels.width, 420), pixels.height + 4 + 14 * len(lines)), 255)
    canvas.paste(pixels, (0, 0))
    draw = ImageDraw.Draw(canvas)
    for i, text in enumerate(lines):
        draw.text((2, pixels.height + 3 + 14 * i), text, fill=0)
    info = PngInfo()
    info.add_text("Description", "; ".join(lines) + "; windows (split sequence first-last): "
                  + "; ".join(f"{sp} {s} {a}-{b}" for sp, s, a, b in shown))
    try:
        with atomic_target(path, suffix=".png") as tmp:
            canvas.save(tmp, "PNG", pnginfo=info)
    except OSError as exc:
        raise VaeViewerError(f"{path}: cannot write the PNG ({exc.strerror or exc})") from None
    return {"windows": len(shown), "frames": frames, "left_out_windows": len(rows) - len(shown),
            "left_out_frames": left}


def _video_parts(inspector, rows: list[Row]) -> list:
    """The selected windows as Sequence parts (frames cut out, offsets kept): conv2d's runs of
    consecutive frames merged, every window of a window model on its own."""
    merge = not inspector.config.uses_windows
    spans: list[list] = []
    for split, s, a, b in rows:
        if merge and spans and spans[-1][:2] == [split, s] and a <= spans[-1][3] + 1:
            spans[-1][3] = max(spans[-1][3], b)
        else:
            spans.append([split, s, a, b])
    parts = []
    for split, s, a, b in spans:
        seq = inspector.split_list(split)[s]
        parts.append(dataclasses.replace(seq, frames=seq.frames[a:b + 1], offset=seq.offset + a))
    return parts


def write_selection_video(path: str, inspector, rows: list[Row], fps: float = 25.0,
                          max_frames: int = MAX_VIDEO_FRAMES) -> dict:
    """input | reconstruction | error of the selected frames, mp4 or gif (by `path`'s suffix), with
    `vaeviewer export --video`'s writer; returns {'windows', 'frames', 'left_out_windows'}."""
    from vaeviewer.training.export import write_video

    if not rows:
        raise VaeViewerError("nothing to export: select windows in the latent scatter first")
    shown = windows_that_fit(rows, max_frames)
    split = rows[0][0] if rows[0][0] == "valid" and inspector.data.valid else "train"
    parts = _video_parts(inspector, shown)
    # What write_video reads of an Inspector: its config, its viewer model and data parts.
    view = SimpleNamespace(config=inspector.config, viewer_model=inspector.viewer_model,
                           data=SimpleNamespace(frame_shape=inspector.data.frame_shape,
                                                train=parts if split == "train" else [],
                                                valid=parts if split == "valid" else []))
    with inspector.lock:   # a stateful twin's state belongs to one user at a time
        n = write_video(path, view, split, fps=fps)
    return {"windows": len(shown), "frames": n, "left_out_windows": len(rows) - len(shown)}


def describe_result(path: str, done: dict, what: str = "windows") -> str:
    """'saved PATH: 12 windows, 48 frames (3 windows left out: at most …)' for the status bar."""
    text = f"saved {path}: {done['windows']:,} {what}, {done['frames']:,} frames"
    if done.get("left_out_windows"):
        text += f" ({done['left_out_windows']:,} {what} left out: the first ones are written)"
    return text


def selection_note(n: int, split: str, length: int, hint: str) -> str:
    """The panel's line about the selection."""
    one = n == 1
    what = ("frame" if one else "frames") if length <= 1 else f"window{'' if one else 's'} of {length} frames"
    return f"{n:,} {split} {what} selected" if n else hint

