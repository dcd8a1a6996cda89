"""Readers for array files: .npy, .npz and (multi-page) TIFF stacks.

Each reader returns ``[(name, frames), ...]`` with stored frames (see ``convert``). Shapes and
dtypes are read from the file header first, so a wrong rank, a pickled object array, a
truncated file or an absurd declared size is refused before any pixel is read.

Array layouts (the last axis is read as channels when it has 1 to 4 entries):

====================  ==================================================================
``(N, H, W)``          one sequence of N gray frames
``(N, H, W, C)``       one sequence; C = 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA
``(S, N, H, W)``       S sequences (when the last axis is longer than 4)
``(S, N, H, W, C)``    S sequences with channels
====================  ==================================================================

So a stack of frames only 1 to 4 pixels wide cannot be told from colour; such frames are not
images a VAE can learn from anyway.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from vaeviewer.data import convert
from vaeviewer.errors import VaeViewerError

_LAYOUT_HELP = (
    "expected (frames, height, width), (frames, height, width, channels) or "
    "(sequences, frames, height, width[, channels])"
)


def layout(shape: tuple[int, ...], label: str) -> tuple[bool, bool]:
    """(several_sequences, has_channels) for an array shape; VaeViewerError for a wrong rank."""
    nd = len(shape)
    if any(int(s) < 0 for s in shape):  # only a damaged or hand-made header declares these
        raise VaeViewerError(f"{label}: the header declares a negative size in shape {shape}; the file is damaged")
    if nd == 3:
        multi, channels = False, False
    elif nd == 4:
        channels = 1 <= shape[-1] <= 4
        multi = not channels
    elif nd == 5 and 1 <= shape[-1] <= 4:
        multi, channels = True, True
    elif nd == 2:
        raise VaeViewerError(
            f"{label}: shape {shape} is a single 2-D image, not a sequence of frames; {_LAYOUT_HELP}"
        )
    else:
        raise VaeViewerError(f"{label}: array of rank {nd} with shape {shape}; {_LAYOUT_HELP}")
    frame_axes = shape[-3:-1] if channels else shape[-2:]
    n_frames = shape[1] if multi else shape[0]
    if n_frames == 0 or (multi and shape[0] == 0):
        raise VaeViewerError(f"{label}: holds zero frames (shape {shape})")
    if min(frame_axes) == 0:
        raise VaeViewerError(f"{label}: frames of size {frame_axes[0]}x{frame_axes[1]} hold no pixels")
    return multi, channels


def _check_size(shape, dtype: np.dtype, label: str, frame_size, in_memory: bool) -> None:
    """Refuse a declared size that cannot fit in memory (raw if read whole, plus stored)."""
    multi, channels = layout(tuple(shape), label)
    n_total = int(np.prod(shape[: 2 if multi else 1], dtype=np.int64))
    hw = tuple(frame_size) if frame_size is not None else tuple(shape[-3:-1] if channels else shape[-2:])
    stored = convert.stored_bytes(n_total, hw, np.uint8 if dtype.itemsize == 1 else np.float32)
    raw = int(np.prod(shape, dtype=np.float64) * dtype.itemsize) if in_memory else 0
    convert.check_memory(stored + raw, label, f"an array of shape {tuple(shape)} ({dtype})")


def array_to_sequences(arr: np.ndarray, label: str, name: str, frame_size) -> list[tuple[str, np.ndarray, str]]:
    """Split a raw array by its layout, convert each to stored frames: (name, frames, source note)."""
    multi, channels = layout(arr.shape, label)
    convert.check_dtype(arr.dtype, label)
    plan = convert.plan_for_dtype(arr.dtype)
    if plan is None:
        lo, hi = convert.scan_values(arr, label)
        plan = convert.plan_for_values(arr.dtype.kind, lo, hi, label)
    note = convert.source_note(arr.dtype, int(arr.shape[-1]) if channels else 1, plan)
    if not multi:
        return [(name, convert.convert_array(arr, channels, plan, frame_size), note)]
    return [
        (f"{name}[{i}]", convert.convert_array(arr[i], channels, plan, frame_size), note)
        for i in range(arr.shape[0])
    ]


def _read_header(fp, label: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    try:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
        else:  # 2.0 and 3.0 share the layout; 3.0 only allows utf-8 field names
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
    except Exception as exc:  # numpy parses the header with tokenize/ast: many error types (TokenError...)
        raise VaeViewerError(
            f"{label}: not a readable NumPy array file ({convert.brief(exc)}); if it is a pickle, vaeviewer never "
            "unpickles files: save the frames with np.save / np.savez"
        ) from None
    return tuple(int(s) for s in shape), fortran, dtype


def load_npy(path: Path, frame_size) -> list[tuple[str, np.ndarray]]:
    """A .npy file: header checked first, then memory-mapped so only stored frames use memory."""
    label = str(path)
    with open(path, "rb") as fp:
        shape, fortran, dtype = _read_header(fp, label)
        data_offset = fp.tell()
    convert.check_dtype(dtype, label)
    layout(shape, label)
    _check_size(shape, dtype, label, frame_size, in_memory=False)
    declared = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    actual = os.path.getsize(path) - data_offset
    if actual < declared:
        raise VaeViewerError(
            f"{label}: truncated: the header declares {declared} bytes of data for shape {shape} "
            f"but the file holds {actual}; re-save or re-copy it"
        )
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise VaeViewerError(f"{label}: cannot read the array ({convert.brief(exc)})") from None
    return array_to_sequences(arr, label, path.stem, frame_size)


def load_npz(path: Path, frame_size) -> list[tuple[str, np.ndarray]]:
    """A .npz archive: each array is its own sequence (or several, by its layout)."""
    label = str(path)
    out: list[tuple[str, np.ndarray]] = []
    try:
        with zipfile.ZipFile(path) as zf:
            members = [i for i in zf.infolist() if i.filename.endswith(".npy")]
            if not members:
                raise VaeViewerError(f"{label}: holds no arrays; save frames with np.savez(path, frames=...)")
            for info in members:
                key = info.filename[: -len(".npy")]
                mlabel = f"{label} (array {key!r})"
                with zf.open(info) as fp:
                    shape, fortran, dtype = _read_header(fp, mlabel)
                    convert.check_dtype(dtype, mlabel)
                    layout(shape, mlabel)
                    _check_size(shape, dtype, mlabel, frame_size, in_memory=True)
                    declared = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
                    if info.file_size - fp.tell() < declared:
                        raise VaeViewerError(
                            f"{mlabel}: truncated: shape {shape} needs {declared} bytes, the archive "
                            f"holds {info.file_size - fp.tell()}; re-save the file"
                        )
                    raw = np.frombuffer(_read_exact(fp, declared, mlabel), dtype=dtype)
                    raw = raw.reshape(shape, order="F" if fortran else "C")
                out.extend(array_to_sequences(raw, mlabel, f"{path.stem}:{key}", frame_size))
                del raw
    except (VaeViewerError, MemoryError):
        raise
    except Exception as exc:  # zipfile raises many types for damaged archives (NotImplementedError...)
        raise VaeViewerError(f"{label}: not a readable .npz archive (damaged or truncated: {convert.brief(exc)})") from None
    return out


def _read_exact(fp, n: int, label: str) -> bytes:
    data = fp.read(n)
    if len(data) != n:
        raise VaeViewerError(f"{label}: truncated: expected {n} bytes of data, read {len(data)}")
    return data


def load_tiff(path: Path, frame_size) -> list[tuple[str, np.ndarray]]:
    """A TIFF: one page is one frame; the first image series is the sequence."""
    import tifffile

    label = str(path)
    try:
        with tifffile.TiffFile(path) as tif:
            if not tif.series:
                raise VaeViewerError(f"{label}: holds no images (an empty, damaged or truncated TIFF?)")
            series = tif.series[0]
            shape, axes, dtype = tuple(series.shape), series.axes, np.dtype(series.dtype)
            convert.check_dtype(dtype, label)
            if axes.endswith("S") and 1 <= shape[-1] <= 4:
                core = shape[:-1]
            else:
                core = shape
            if len(core) == 2:
                shape = (1, *shape)
            elif len(core) != 3:
                raise VaeViewerError(
                    f"{label}: a TIFF with axes {axes} and shape {tuple(series.shape)}; expected a "
                    "stack of 2-D frames (pages), gray or RGB"
                )
            _check_size(shape, dtype, label, frame_size, in_memory=True)
            raw = series.asarray().reshape(shape)
    except VaeViewerError:
        raise
    except MemoryError:
        raise VaeViewerError(f"{label}: not enough memory to read this TIFF") from None
    except Exception as exc:  # tifffile raises many types for damaged files
        raise VaeViewerError(f"{label}: cannot read the TIFF (damaged or truncated? {convert.brief(exc)})") from None
    return array_to_sequences(raw, label, path.stem, frame_size)
