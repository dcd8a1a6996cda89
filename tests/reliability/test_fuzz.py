"""Hypothesis fuzzing of the loaders: random and mutated files never escape as a bug.

For every input, `load_sequences` either returns valid sequences (uint8, or float32 in [0, 1];
finite; (N, H, W) C-contiguous with N >= 1) or raises VaeViewerError with a one-line message that
names the file. Any other exception is a bug in the data layer.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
import tifffile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from tests.reliability.corpus import write_mp4
from vaeviewer.data.sources import load_sequences
from vaeviewer.errors import VaeViewerError

# Fixed examples in CI (derandomized, fast); VAEVIEWER_FUZZ_EXAMPLES=2000 for a long random hunt.
_N = int(os.environ.get("VAEVIEWER_FUZZ_EXAMPLES", "0"))
FUZZ = settings(max_examples=_N or 40, deadline=None, derandomize=not _N, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
SLOW_FUZZ = settings(FUZZ, max_examples=max(15, _N // 10))  # video: each example starts ffmpeg


def _valid_files() -> dict[str, bytes]:
    """Small valid files of every format, as bytes: the seeds the mutations start from."""
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 255, (4, 12, 10), dtype=np.uint8)
    out = {}
    buf = io.BytesIO()
    np.save(buf, frames)
    out[".npy"] = buf.getvalue()
    buf = io.BytesIO()
    np.save(buf, frames.astype(np.float32) / 255)
    out["f.npy"] = buf.getvalue()
    buf = io.BytesIO()
    np.savez(buf, a=frames, b=frames[:2])
    out[".npz"] = buf.getvalue()
    buf = io.BytesIO()
    Image.fromarray(frames[0]).save(buf, format="PNG")
    out[".png"] = buf.getvalue()
    buf = io.BytesIO()
    tifffile.imwrite(buf, frames.astype(np.uint16) * 200, photometric="minisblack")
    out[".tif"] = buf.getvalue()
    buf = io.BytesIO()
    imgs = [Image.fromarray(f) for f in frames]
    imgs[0].save(buf, format="GIF", save_all=True, append_images=imgs[1:])
    out[".gif"] = buf.getvalue()
    with tempfile.TemporaryDirectory() as d:
        out[".mp4"] = write_mp4(Path(d) / "v.mp4", n=6, size=(16, 16)).read_bytes()
    return out


SEEDS = _valid_files()


def assert_valid_or_user_error(path: Path) -> None:
    try:
        sequences = load_sequences([path])
    except VaeViewerError as exc:
        msg = str(exc)
        assert path.name in msg, f"the message does not name the file: {msg!r}"
        assert "\n" not in msg.strip(), f"more than one line: {msg!r}"
        return
    assert sequences, "load_sequences returned nothing without raising"
    for s in sequences:
        f = s.frames
        assert f.ndim == 3 and len(f) >= 1 and min(f.shape) >= 1, f.shape
        assert f.flags.c_contiguous
        assert f.dtype in (np.uint8, np.float32), f.dtype
        if f.dtype == np.float32:
            assert np.isfinite(f).all()
            assert float(f.min()) >= 0.0 and float(f.max()) <= 1.0


def mutate(data: bytes, edits: list[tuple[int, int]], cut: float | None) -> bytes:
    b = bytearray(data)
    for pos, value in edits:
        b[pos % len(b)] = value
    if cut is not None:
        b = b[: int(len(b) * cut)]
    return bytes(b)


_edits = st.lists(st.tuples(st.integers(0, 2**20), st.integers(0, 255)), max_size=12)
_cut = st.one_of(st.none(), st.floats(0.0, 1.0))
_HEADER = 160  # most parsers die in the header: weight edits there too
_header_edits = st.lists(st.tuples(st.integers(0, _HEADER), st.integers(0, 255)), max_size=6)


@pytest.fixture(scope="module")
def fuzz_dir():
    with tempfile.TemporaryDirectory(prefix="vaeviewer-fuzz-") as d:
        yield Path(d)


@pytest.mark.parametrize("ext", [".npy", ".npz", ".png", ".tif", ".gif"])
@FUZZ
@given(data=st.binary(max_size=600))
def test_random_bytes(fuzz_dir, ext, data):
    path = fuzz_dir / f"random{ext}"
    path.write_bytes(data)
    assert_valid_or_user_error(path)


@pytest.mark.parametrize("seed", [".npy", "f.npy", ".npz", ".png", ".tif", ".gif"])
@FUZZ
@given(edits=_edits, header_edits=_header_edits, cut=_cut)
def test_mutated_valid_files(fuzz_dir, seed, edits, header_edits, cut):
    ext = seed[-4:]
    path = fuzz_dir / f"mutated{ext}"
    path.write_bytes(mutate(SEEDS[seed], header_edits + edits, cut))
    assert_valid_or_user_error(path)


@SLOW_FUZZ
@given(edits=_edits, cut=_cut, garbage=st.booleans(), data=st.binary(max_size=300))
def test_mutated_and_random_video(fuzz_dir, edits, cut, garbage, data):
    path = fuzz_dir / "clip.mp4"
    path.write_bytes(data if garbage else mutate(SEEDS[".mp4"], edits, cut))
    assert_valid_or_user_error(path)


@FUZZ
@given(edits=_header_edits, ext=st.sampled_from([".png", ".tif"]), n=st.integers(1, 3))
def test_mutated_frames_inside_a_folder(fuzz_dir, edits, ext, n):
    folder = fuzz_dir / f"folder{ext[1:]}"
    folder.mkdir(exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    for i in range(n):
        (folder / f"f{i}{ext}").write_bytes(SEEDS[ext] if i < n - 1 else mutate(SEEDS[ext], edits, None))
    try:
        sequences = load_sequences([folder])
    except VaeViewerError as exc:
        assert folder.name in str(exc)
        return
    assert all(s.frames.dtype in (np.uint8, np.float32) for s in sequences)
