"""Readers for image folders, image files (GIF, PNG, ...) and video files.

Each reader returns ``[(name, frames, source note)]`` with stored frames (see ``convert``);
images are decoded one at a time into a growing buffer, so memory stays close to the stored
size. Video is decoded, made gray and (with a frame size) scaled by ffmpeg itself, its frames
read from a pipe straight into the stored array (see ``load_video``).
"""

from __future__ import annotations

import contextlib
import logging
import re
import struct
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
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


def load_folder(path: Path, frame_size, progress=None) -> list[tuple[str, np.ndarray, str]]:
    """A folder of frame images, in natural sort order ('frame2' before 'frame10').

    progress: optional callable(done_frames, total_frames), as for ``load_video``.
    """
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
    tick = _Throttle(progress, len(images))
    for i, p in enumerate(images):
        collector.add(read_image_frame(p), str(p))
        tick(i + 1, final=i + 1 == len(images))
    return [(path.name, collector.finish(), collector.note)]


def load_image_file(path: Path, frame_size, progress=None) -> list[tuple[str, np.ndarray, str]]:
    """A GIF (or any Pillow image file): every frame in the file, in order.

    progress: optional callable(done_frames, total_frames), as for ``load_video``.
    """
    with _decoding(path), Image.open(path) as img:
        n = getattr(img, "n_frames", 1)
        convert.check_memory(convert.stored_bytes(n, img.size[::-1], np.float32), str(path), f"{n} frames")
        collector = convert.FrameCollector(str(path), frame_size, capacity=n)
        tick = _Throttle(progress, n)
        for i in range(n):
            img.seek(i)
            collector.add(pil_to_array(img), f"{path} (frame {i})")
            tick(i + 1, final=i + 1 == n)
    return [(path.stem, collector.finish(), collector.note)]


# ---- video ------------------------------------------------------------------------------------
#
# Video goes through the ffmpeg binary bundled with imageio-ffmpeg, run here directly: one probe
# (`ffmpeg -i FILE`, for the frame size, rate and declared length), then one decode that writes
# 8-bit gray frames down a pipe straight into the stored array. When a frame size is asked for,
# ffmpeg also scales, with its area-averaging filter (no aliasing), so no frame is ever held at
# full size and nothing is resized in Python: this loads at close to ffmpeg's own speed.

READ_BYTES = 1 << 20          # bytes asked of the pipe per read
PROGRESS_EVERY_S = 0.1        # the progress callback is called at most this often (and at the end)
_GENERIC = ("At least one output file must be specified", "Error opening input file", "Error opening input files",
            "Conversion failed", "Error opening output", "Nothing was written")


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _ffmpeg_input(path: Path) -> list[str]:
    # "file:" so that a name with a colon is not taken for a protocol, or one starting with "-"
    # for an option; local files only (a playlist inside a "video" must not reach anything else)
    return ["-protocol_whitelist", "file", "-i", "file:" + str(path)]


def _ffmpeg_complaint(text: str) -> str:
    """The most telling line of ffmpeg's stderr, without its "[mov @ 0x...]" prefixes."""
    lines = []
    for raw in text.replace("\r", "\n").splitlines():
        line = re.sub(r"^(\s*\[[^\]]*\]\s*)+", "", raw).strip()
        if line and not line.startswith(_GENERIC) and "detected only with low score" not in line:
            lines.append(line)
    return (lines[0] if lines else "no detail given")[:200]


@dataclass
class VideoInfo:
    """What `ffmpeg -i` says about a file's first video stream."""

    width: int
    height: int
    fps: float            # 0 when not known
    duration: float       # seconds, 0 when not known
    codec: str            # e.g. "h264", "mpeg4", "mjpeg"
    has_audio: bool
    duration_estimated: bool   # ffmpeg guessed the duration from the bitrate
    declared_frames: int  # frames the container declares (0: not known)


def _avi_declared_frames(path: Path) -> int:
    """The frame count an AVI's header declares (0 if not found).

    ffmpeg re-counts an AVI whose index was lost (a cut file) and reports that, so the header is
    read here: OpenDML 'dmlh' total, else the video stream's 'strh' length, else 'avih' total.
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(1 << 20)
    except OSError:
        return 0
    if head[:4] != b"RIFF" or head[8:12] != b"AVI ":
        return 0

    def u32(at: int) -> int:
        return struct.unpack_from("<I", head, at)[0] if 0 <= at <= len(head) - 4 else 0

    i = head.find(b"dmlh")
    if i >= 0 and u32(i + 8):
        return u32(i + 8)
    i = head.find(b"strh")
    while i >= 0:
        if head[i + 8 : i + 12] == b"vids" and u32(i + 8 + 32):
            return u32(i + 8 + 32)
        i = head.find(b"strh", i + 4)
    i = head.find(b"avih")
    return u32(i + 8 + 16) if i >= 0 else 0


def probe_video(path: Path) -> VideoInfo:
    """Run `ffmpeg -i` on a file; a file ffmpeg cannot open raises one VaeViewerError."""
    label = str(path)
    with open(path, "rb"):  # an unreadable file: PermissionError, which sources turns into advice
        pass
    try:
        proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", *_ffmpeg_input(path)],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              timeout=120)
    except subprocess.TimeoutExpired:
        raise VaeViewerError(f"{label}: ffmpeg took over two minutes just to open the video; is it damaged?") from None
    except OSError as exc:
        raise VaeViewerError(f"{label}: cannot run ffmpeg to read the video ({convert.brief(exc)})") from None
    text = proc.stderr.decode("utf-8", "replace")
    streams = [line for line in text.splitlines() if re.search(r"Stream #\d+:\d+.*: Video: ", line)
               and "attached pic" not in line]
    if not streams:
        if "Error opening input" in text or "Invalid data" in text or "Input #" not in text:
            raise VaeViewerError(
                f"{label}: cannot open the video ({_ffmpeg_complaint(text)}): not a video ffmpeg can decode, "
                "or damaged/truncated; check the file or convert it (e.g. to mp4)"
            )
        raise VaeViewerError(f"{label}: holds no video stream (audio or data only?)")
    line = streams[0]
    size = re.search(r"[ ,](\d+)x(\d+)[ ,\[]", line + " ")
    w, h = (int(size.group(1)), int(size.group(2))) if size else (0, 0)
    if w <= 0 or h <= 0:
        raise VaeViewerError(f"{label}: the video reports no frame size; is it damaged?")
    # a phone video stored sideways: ffmpeg turns the frames upright, so they come out h x w
    rotation = re.search(r"rotation of (-?[\d.]+) degrees", text)
    if rotation and round(abs(float(rotation.group(1)))) % 180 == 90:
        w, h = h, w
    rate = re.search(r"([\d.]+)(k?) fps", line) or re.search(r"([\d.]+)(k?) tbr", line)
    fps = float(rate.group(1)) * (1000 if rate.group(2) else 1) if rate else 0.0
    dur = re.search(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)", text)
    duration = int(dur.group(1)) * 3600 + int(dur.group(2)) * 60 + float(dur.group(3)) if dur else 0.0
    codec = re.search(r"Video: ([\w-]+)", line)
    estimated = "estimating duration from bitrate" in text
    declared = _avi_declared_frames(path)
    if not declared and not estimated and 0 < fps * duration < 1e9:
        declared = int(round(fps * duration))
    return VideoInfo(w, h, fps, duration, codec.group(1) if codec else "?",
                     bool(re.search(r"Stream #\d+:\d+.*: Audio: ", text)), estimated, declared)


def ffmpeg_decode_args(path: Path, frame_size) -> list[str]:
    """The ffmpeg command that writes the first video stream as raw 8-bit gray frames to stdout.

    With a frame size, ffmpeg scales with its area-averaging filter (every source pixel counts,
    by the area it covers: no aliasing) and takes gray (the luma plane) in the same pass. Every
    decoded frame is written once (no frame dropped or repeated to even out the frame rate).
    """
    scale = []
    if frame_size is not None:
        h, w = frame_size
        scale = ["-vf", f"scale={int(w)}:{int(h)}:flags=area"]
    return [ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", "-v", "error", *_ffmpeg_input(path),
            "-map", "0:V:0", "-an", "-sn", "-dn", *scale, "-pix_fmt", "gray", "-fps_mode", "passthrough",
            "-f", "rawvideo", "-"]


class _Throttle:
    """Calls progress(done, total) at most every PROGRESS_EVERY_S seconds, and always at the end."""

    def __init__(self, progress, total: int):
        self.progress = progress
        self.total = max(0, int(total))
        self.last: float | None = None  # the first call always reports (a bar learns the total)

    def __call__(self, done: int, final: bool = False) -> None:
        if self.progress is None:
            return
        now = time.monotonic()
        if final or self.last is None or now - self.last >= PROGRESS_EVERY_S:
            self.last = now
            self.progress(int(done), max(self.total, int(done)) if final else self.total)


def load_video(path: Path, frame_size, progress=None) -> list[tuple[str, np.ndarray, str]]:
    """A video decoded by the ffmpeg bundled with imageio-ffmpeg, straight to 8-bit gray.

    Args:
        path: the video file.
        frame_size: (H, W) for ffmpeg to scale to (area average), or None for the native size.
        progress: optional callable(done_frames, total_frames), called about ten times a second
            while frames come in and once at the end; total_frames is the count the file declares
            (0 when unknown; done may pass it). Any exception it raises (to cancel) stops
            ffmpeg and propagates.

    A file that decodes to fewer frames than its container declares (cut or damaged) is loaded
    with a warning that names both counts: logged (logger "vaeviewer.data") and added to the
    returned source note. A file that decodes to no frame at all is refused.
    """
    label = str(path)
    with tempfile.TemporaryFile() as err:  # a file, not a pipe: a chatty ffmpeg can never block on it
        proc = None
        try:
            if frame_size is not None:  # the output size is known: decoding starts while the probe runs
                proc = _start_decode(path, frame_size, err)
            info = probe_video(path)
            out_hw = tuple(int(v) for v in frame_size) if frame_size is not None else (info.height, info.width)
            frame_bytes = out_hw[0] * out_hw[1]
            cap = info.declared_frames + 2 if 0 < info.declared_frames < 1e8 else 256
            what = f"about {cap} frames of {out_hw[0]}x{out_hw[1]}"
            convert.check_memory(convert.stored_bytes(cap, out_hw, np.uint8), label, what)
            buf = np.empty((cap, *out_hw), dtype=np.uint8)
            view = memoryview(buf.reshape(-1))
            tick = _Throttle(progress, info.declared_frames)
            filled = 0
            if proc is None:
                proc = _start_decode(path, None, err)
            tick(0)
            while True:
                if filled == buf.nbytes:  # more frames than declared: grow, as the frame collector does
                    n = filled // frame_bytes
                    more = max(256, n)
                    convert.check_memory(convert.stored_bytes(n + more, out_hw, np.uint8), label,
                                         f"more than {n} frames of {out_hw[0]}x{out_hw[1]}")
                    grown = np.empty((n + more, *out_hw), dtype=np.uint8)
                    grown[:n] = buf
                    buf, view = grown, memoryview(grown.reshape(-1))
                got = proc.stdout.readinto(view[filled : filled + READ_BYTES])
                if not got:
                    break
                filled += got
                tick(filled // frame_bytes)
            rc = proc.wait()
        finally:
            if proc is not None:
                if proc.poll() is None:  # stopped early (a bad file, Ctrl+C, a cancelled progress)
                    proc.kill()
                    proc.wait()
                proc.stdout.close()
        err.seek(0)
        complaint = _ffmpeg_complaint(err.read(1 << 16).decode("utf-8", "replace"))
    n, partial = divmod(filled, frame_bytes)
    if n == 0:
        raise VaeViewerError(
            f"{label}: the video decodes to no frame (ffmpeg: {complaint}); it is empty, damaged or truncated"
        )
    tick(n, final=True)
    notes = []
    if info.declared_frames and n < info.declared_frames - max(1, info.fps * 0.02):
        audio = " (or its sound runs longer than its picture)" if info.has_audio and not _is_avi(path) else ""
        dropped = ""
        if n > 1:  # a cut falls inside a frame more often than not: ffmpeg decodes its start, then grey
            n -= 1
            dropped = f"; the last frame decoded, which the cut may have damaged, is left out ({n} kept)"
        notes.append(f"decoded {n + bool(dropped)} frames, but the file declares {info.declared_frames}; it may be "
                     f"truncated or damaged{audio}{dropped}")
    elif partial or rc != 0:
        notes.append(f"the video breaks off after {n} frames (ffmpeg: {complaint}); it may be damaged")
    for note in notes:
        log.warning("%s: %s", label, note)
    frames = buf[:n]
    if n < 0.9 * buf.shape[0]:
        frames = frames.copy()  # do not keep a buffer sized for frames that never came
    del buf
    note = f"{info.codec} video, its luma taken as 8-bit gray by ffmpeg"
    if out_hw != (info.height, info.width):
        note += f", scaled by ffmpeg from {info.height}x{info.width} to {out_hw[0]}x{out_hw[1]} (area average)"
    note += ", stored as uint8" + "".join(f"; WARNING: {x}" for x in notes)
    return [(path.stem, np.ascontiguousarray(frames), note)]


def _start_decode(path: Path, frame_size, err) -> subprocess.Popen:
    try:
        return subprocess.Popen(ffmpeg_decode_args(path, frame_size), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=err, bufsize=0)
    except OSError as exc:
        raise VaeViewerError(f"{path}: cannot run ffmpeg to read the video ({convert.brief(exc)})") from None


def _is_avi(path: Path) -> bool:
    return path.suffix.lower() == ".avi"
