"""Readers for image folders, image files (GIF, PNG, ...) and video files.

Each reader returns ``[(name, frames)]`` with stored frames (see ``convert``); frames are
decoded one at a time into a growing buffer, so memory stays close to the stored size.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from vaeviewer.data import convert
from vaeviewer.errors import VaeViewerError

FOLDER_IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
VIDEO_EXTS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".ogv")
log = logging.getLogger("vaeviewer.data")


def pil_to_array(img: Image.Image) -> np.ndarray:
    """Pixels of the current frame of a Pillow image at their native bit depth."""
    mode = img.mode
    if mode in ("L", "1", "F", "RGB", "RGBA", "LA"):
        return np.asarray(img)
    if mode.startswith("I;16"):
        return np.asarray(img).astype(np.uint16)
    if mode == "I":
        return np.asarray(img)
    if mode in ("P", "PA"):
        return np.asarray(img.convert("RGBA" if "transparency" in img.info or mode == "PA" else "RGB"))
    return np.asarray(img.convert("RGB"))


@contextlib.contextmanager
def _decoding(path: Path) -> Iterator[None]:
    """Decode an image file: a decompression bomb or any decoder failure becomes a VaeViewerError.

    MemoryError passes through (sources turns it into advice about --frame-size).
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except (VaeViewerError, MemoryError):
        raise
    except Image.DecompressionBombWarning:
        raise VaeViewerError(f"{path}: image is implausibly large; refusing to decode it") from None
    except Exception as exc:  # Pillow and tifffile raise many types for damaged files (IndexError on a cut GIF...)
        raise VaeViewerError(f"{path}: cannot read the image (damaged or truncated? {convert.brief(exc)})") from None


def read_image_frame(path: Path) -> np.ndarray:
    """One frame file of an image folder (TIFF via tifffile for 16-bit and float pages)."""
    with _decoding(path):
        if path.suffix.lower() in (".tif", ".tiff"):
            return _read_tiff_frame(path)
        with Image.open(path) as img:
            if getattr(img, "n_frames", 1) > 1:
                raise VaeViewerError(
                    f"{path}: holds {img.n_frames} frames; a folder must hold one frame per "
                    "file (pass a multi-frame file on its own)"
                )
            img.load()
            return pil_to_array(img)


def _read_tiff_frame(path: Path) -> np.ndarray:
    """The first image of a TIFF, its declared size checked before tifffile allocates it."""
    import tifffile

    with tifffile.TiffFile(path) as tif:
        if not tif.series:
            raise VaeViewerError(f"{path}: holds no images (an empty, damaged or truncated TIFF?)")
        series = tif.series[0]
        pixels = int(np.prod(series.shape, dtype=np.float64))
        # the same limit Pillow applies to PNG/JPEG/BMP frames (its decompression-bomb guard)
        if pixels > 2 * Image.MAX_IMAGE_PIXELS:
            raise VaeViewerError(f"{path}: declares {pixels} pixels ({series.shape}); image is implausibly large, "
                                 "refusing to decode it")
        convert.check_memory(pixels * np.dtype(series.dtype).itemsize, str(path), f"an image of shape {series.shape}")
        return np.asarray(series.asarray())


def load_folder(path: Path, frame_size) -> list[tuple[str, np.ndarray]]:
    """A folder of frame images, in natural sort order ('frame2' before 'frame10')."""
    try:
        entries = [p for p in path.iterdir() if not p.name.startswith(".")]
    except OSError as exc:
        raise VaeViewerError(f"{path}: cannot list the folder ({convert.brief(exc)})") from None
    files = [p for p in entries if p.is_file()]
    images = sorted((p for p in files if p.suffix.lower() in FOLDER_IMAGE_EXTS), key=lambda p: convert.natural_key(p.name))
    if not entries:
        raise VaeViewerError(f"{path}: the folder is empty; put the frames in it as image files")
    if not images:
        others = ", ".join(sorted(p.name for p in entries)[:5])
        hint = ""
        if any(p.suffix.lower() in (".npy", ".npz", ".gif") + VIDEO_EXTS for p in files):
            hint = "; pass array, GIF or video files directly, not their folder"
        raise VaeViewerError(
            f"{path}: no images ({', '.join(FOLDER_IMAGE_EXTS)}) in the folder, which holds {others}{hint}"
        )
    collector = convert.FrameCollector(str(path), frame_size, capacity=len(images))
    for p in images:
        collector.add(read_image_frame(p), str(p))
    return [(path.name, collector.finish(), collector.note)]


def load_image_file(path: Path, frame_size) -> list[tuple[str, np.ndarray]]:
    """A GIF (or any Pillow image file): every frame in the file, in order."""
    with _decoding(path), Image.open(path) as img:
        n = getattr(img, "n_frames", 1)
        convert.check_memory(convert.stored_bytes(n, img.size[::-1], np.float32), str(path), f"{n} frames")
        collector = convert.FrameCollector(str(path), frame_size, capacity=n)
        for i in range(n):
            img.seek(i)
            collector.add(pil_to_array(img), f"{path} (frame {i})")
    return [(path.stem, collector.finish(), collector.note)]


def load_video(path: Path, frame_size) -> list[tuple[str, np.ndarray]]:
    """A video decoded by the ffmpeg bundled with imageio-ffmpeg, straight to 8-bit gray."""
    import imageio_ffmpeg

    label = str(path)
    reader = imageio_ffmpeg.read_frames(str(path), pix_fmt="gray", bits_per_pixel=8)
    try:
        try:
            meta = next(reader)
        except (OSError, RuntimeError, StopIteration) as exc:
            first = convert.brief(exc)
            raise VaeViewerError(
                f"{label}: cannot open the video ({first}): not a video ffmpeg can decode, "
                "or damaged/truncated; check the file or convert it (e.g. to mp4)"
            ) from None
        w, h = (int(v) for v in meta.get("size", (0, 0)))
        if w <= 0 or h <= 0:
            raise VaeViewerError(f"{label}: the video reports no frame size; is it damaged?")
        fps, duration = float(meta.get("fps") or 0), float(meta.get("duration") or 0)
        estimate = int(fps * duration) + 2 if 0 < fps * duration < 1e8 else 256
        hw = tuple(frame_size) if frame_size is not None else (h, w)
        convert.check_memory(convert.stored_bytes(estimate, hw, np.uint8), label, f"about {estimate} frames of {w}x{h}")
        collector = convert.FrameCollector(label, frame_size, capacity=estimate)
        i = 0
        try:
            for chunk in reader:
                frame = np.frombuffer(chunk, dtype=np.uint8)
                if frame.size != w * h:
                    raise VaeViewerError(f"{label}: frame {i} has {frame.size} bytes, not {w}x{h}; damaged video?")
                collector.add(frame.reshape(h, w), f"{label} (frame {i})")
                i += 1
        except (OSError, RuntimeError) as exc:
            first = convert.brief(exc)
            raise VaeViewerError(
                f"{label}: the video breaks off after {i} frames ({first}); it is damaged or truncated"
            ) from None
        if i == 0:
            raise VaeViewerError(f"{label}: the video holds zero frames")
        if 0 < fps * duration < 1e8 and i < 0.9 * fps * duration - 1:
            log.warning("%s: decoded %d frames, but the header announces about %d; the file may be truncated",
                        label, i, int(fps * duration))
        return [(path.stem, collector.finish(), collector.note)]
    finally:
        reader.close()  # stops the ffmpeg process
