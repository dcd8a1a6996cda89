"""Files and folders -> a list of ``Sequence`` of frames (the data layer's entry point).

What can be loaded (several paths give several sequences, in the order given):

* ``.npy`` / ``.npz`` arrays (never unpickled); layouts in ``vaeviewer.data.arrays``;
* a folder of images (png, jpg, jpeg, tif, tiff, bmp), one frame per file, natural sort order;
* a multi-frame TIFF or GIF (any single image file gives a one-frame sequence);
* a video file (mp4, avi, mov, mkv, webm, ...), decoded by imageio-ffmpeg's bundled ffmpeg.

How pixel values are stored (uint8 for 8-bit data, float32 in [0, 1] otherwise, NaN refused,
floats outside [0, 1] rescaled) is described in ``vaeviewer.data.convert``.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence as _SequenceABC
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vaeviewer.data import arrays, media
from vaeviewer.errors import VaeViewerError

IMAGE_FILE_EXTS = (".gif", ".png", ".jpg", ".jpeg", ".bmp")
TIFF_EXTS = (".tif", ".tiff")
SUPPORTED = (".npy", ".npz", *TIFF_EXTS, *IMAGE_FILE_EXTS, *media.VIDEO_EXTS)


@dataclass
class Sequence:
    """One sequence of frames.

    Attributes:
        name: label for messages and plots (file stem, ``stem[i]`` or ``stem:key``).
        frames: (N, H, W) C-contiguous; uint8 (8-bit data) or float32 in [0, 1].
        source_index: which loaded sequence these frames come from.
        offset: index of ``frames[0]`` in that loaded sequence (set by the train/valid split).
        source: what the file held and what was done to store it, in words (e.g. "16-bit gray,
            kept as float32 ..."); empty when not known (demo data, arrays made in code).
    """

    name: str
    frames: np.ndarray
    source_index: int = 0
    offset: int = 0
    source: str = ""

    def __len__(self) -> int:
        return int(self.frames.shape[0])

    @property
    def frame_shape(self) -> tuple[int, int]:
        return (int(self.frames.shape[1]), int(self.frames.shape[2]))


def _check_frame_size(frame_size) -> tuple[int, int] | None:
    if frame_size is None:
        return None
    try:
        h, w = (int(v) for v in frame_size)
    except (TypeError, ValueError):
        raise VaeViewerError(f"frame size {frame_size!r}: give (height, width), e.g. 64x80") from None
    if h < 1 or w < 1:
        raise VaeViewerError(f"frame size {h}x{w}: height and width must be at least 1")
    return (h, w)


def _load_path(path: Path, frame_size, progress=None) -> list[tuple[str, np.ndarray, str]]:
    if not path.exists():
        raise VaeViewerError(f"{path}: no such file or folder")
    ext = path.suffix.lower()
    try:
        if path.is_dir():
            return media.load_folder(path, frame_size, progress)
        if ext == ".npy":
            return arrays.load_npy(path, frame_size)
        if ext == ".npz":
            return arrays.load_npz(path, frame_size)
        if ext in TIFF_EXTS:
            return arrays.load_tiff(path, frame_size)
        if ext in IMAGE_FILE_EXTS:
            return media.load_image_file(path, frame_size, progress)
        if ext in media.VIDEO_EXTS:
            return media.load_video(path, frame_size, progress)
    except PermissionError:
        raise VaeViewerError(f"{path}: permission denied; check the file's read permission") from None
    except MemoryError:
        raise VaeViewerError(f"{path}: not enough memory to load it; use a smaller --frame-size or fewer frames") from None
    raise VaeViewerError(
        f"{path}: unsupported file type {ext or '(no extension)'!r}; supported: {', '.join(SUPPORTED)} "
        "or a folder of images"
    )


def load_sequences(
    paths: _SequenceABC[str | Path] | str | Path,
    frame_size: tuple[int, int] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Sequence]:
    """Load every path as one or more sequences, all with the same frame size.

    Args:
        paths: files or folders; a single path is accepted too.
        frame_size: (H, W) to resize every frame to, or None to keep the native size. Video is
            scaled by ffmpeg (area average), other sources by Pillow (antialiased bilinear).
        progress: optional callable(done_frames, total_frames) for a progress bar: called about
            ten times a second while a video, image folder or GIF loads, and once when it is done;
            the counts are those of the file being read (they start again at 0 for each file;
            total_frames is 0 when the file does not say). Arrays (.npy, .npz, TIFF) do not
            report. To cancel, raise from it: the exception propagates and ffmpeg is stopped.

    Returns:
        The sequences in path order, ``source_index`` = position in the list, ``offset`` 0.

    Raises:
        VaeViewerError: for any unreadable or unsuitable input, naming the file and the fix.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    paths = list(paths)
    if not paths:
        raise VaeViewerError("no data paths given: name one or more files or folders, or use the demo data")
    frame_size = _check_frame_size(frame_size)
    loaded: list[tuple] = []   # (name, frames, source note)
    origin: list[str] = []
    for p in paths:
        got = _load_path(Path(p).expanduser(), frame_size, progress)
        loaded.extend(got)
        origin.extend([str(p)] * len(got))
    shapes = {tuple(item[1].shape[1:]) for item in loaded}
    if len(shapes) > 1:
        listing = "; ".join(f"{o}: {f.shape[1]}x{f.shape[2]}" for o, (_, f, *_) in list(zip(origin, loaded))[:8])
        h, w = max(shapes, key=lambda s: s[0] * s[1])
        raise VaeViewerError(
            f"the sequences have different frame sizes ({listing}); pass --frame-size HxW "
            f"(e.g. --frame-size {h}x{w}) to resize them all to one size"
        )
    return [Sequence(item[0], item[1], source_index=i, offset=0, source=item[2] if len(item) > 2 else "")
            for i, item in enumerate(loaded)]
