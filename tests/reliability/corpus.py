"""A bad-input corpus, generated on demand (no binary blobs in the repository).

Every item is a small function that writes one input under a folder and returns its path. Two
kinds:

* ``BAD``: malformed inputs; loading must raise VaeViewerError naming the file (``words`` must
  all appear in the one-line message).
* ``ODD``: valid but unusual inputs whose behaviour is documented (vaeviewer.data.convert and
  vaeviewer.data.sources): they load, and ``check`` asserts the documented result.
"""

from __future__ import annotations

import pickle
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import tifffile
from PIL import Image

RNG_SEED = 0


@dataclass(frozen=True)
class Item:
    """One corpus input: `make(folder) -> path`; `words` expected in the error message."""

    name: str
    make: Callable[[Path], Path]
    words: tuple[str, ...] = ()
    check: Callable | None = None  # for ODD items: check(sequences)
    formats: tuple[str, ...] = field(default=())


def _frames(n=6, h=16, w=20, dtype=np.uint8):
    rng = np.random.default_rng(RNG_SEED)
    hi = 255 if dtype == np.uint8 else 65535
    return rng.integers(0, hi, (n, h, w)).astype(dtype)


def _npy_bytes(arr: np.ndarray) -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def _npy_header(shape, descr="|u1") -> bytes:
    import io

    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def _png_bytes(arr: np.ndarray, mode: str | None = None) -> bytes:
    import io

    buf = io.BytesIO()
    (Image.fromarray(arr, mode) if mode else Image.fromarray(arr)).save(buf, format="PNG")
    return buf.getvalue()


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _folder(root: Path, name: str, files: dict[str, bytes]) -> Path:
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    for fname, data in files.items():
        (folder / fname).write_bytes(data)
    return folder


def write_mp4(path: Path, n=12, size=(32, 32)) -> Path:
    import imageio_ffmpeg

    writer = imageio_ffmpeg.write_frames(str(path), size[::-1], pix_fmt_in="gray", fps=10, macro_block_size=16)
    writer.send(None)
    rng = np.random.default_rng(RNG_SEED)
    for _ in range(n):
        writer.send(rng.integers(0, 255, size, dtype=np.uint8))
    writer.close()
    return path


def _png_huge_declared(root: Path) -> Path:
    """A valid 8x8 PNG whose IHDR (with a correct CRC) claims 100000 x 100000 pixels."""
    data = bytearray(_png_bytes(np.zeros((8, 8), np.uint8)))
    ihdr = data.index(b"IHDR")
    data[ihdr + 4 : ihdr + 12] = struct.pack(">II", 100_000, 100_000)
    crc = zlib.crc32(bytes(data[ihdr : ihdr + 17])) & 0xFFFFFFFF
    data[ihdr + 17 : ihdr + 21] = struct.pack(">I", crc)
    return _write(root / "huge.png", bytes(data))


def _tiff_zero_pages(root: Path) -> Path:
    """A TIFF header whose first IFD offset is 0: a TIFF file with no pages at all."""
    return _write(root / "nopages.tif", b"II*\x00" + struct.pack("<I", 0))


def _tiff_bytes_declaring(width: int, height: int) -> bytes:
    """A valid 12x10 8-bit TIFF whose ImageWidth/ImageLength tags claim width x height."""
    import io

    buf = io.BytesIO()
    tifffile.imwrite(buf, np.zeros((12, 10), np.uint8), photometric="minisblack")
    data = bytearray(buf.getvalue())
    assert data[:2] == b"II"
    ifd = struct.unpack("<I", data[4:8])[0]
    (count,) = struct.unpack("<H", data[ifd : ifd + 2])
    for i in range(count):
        at = ifd + 2 + 12 * i
        tag = struct.unpack("<H", data[at : at + 2])[0]
        if tag in (256, 257):  # ImageWidth, ImageLength: as LONG values
            data[at + 2 : at + 12] = struct.pack("<HII", 4, 1, width if tag == 256 else height)
    return bytes(data)


def _tiff_truncated(root: Path) -> Path:
    path = root / "cut.tif"
    tifffile.imwrite(path, _frames(8, 32, 40, np.uint16))
    data = path.read_bytes()
    return _write(path, data[: len(data) // 2])


def _gif_truncated(root: Path) -> Path:
    path = root / "cut.gif"
    frames = [Image.fromarray(f) for f in _frames(6)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50)
    data = path.read_bytes()
    return _write(path, data[: len(data) // 2])


def _mp4_truncated(root: Path) -> Path:
    path = write_mp4(root / "full.mp4")
    data = path.read_bytes()
    path.unlink()
    return _write(root / "cut.mp4", data[: len(data) // 2])


def _npz_truncated(root: Path) -> Path:
    path = root / "cut.npz"
    np.savez_compressed(path, frames=_frames(10))
    data = path.read_bytes()
    return _write(path, data[: len(data) // 2])


def _npz_huge(root: Path) -> Path:
    path = root / "huge.npz"
    with zipfile.ZipFile(path, "w") as zf, zf.open("frames.npy", "w") as fh:
        fh.write(_npy_header((10**6, 10**4, 10**4), "<f4"))
    return path


def _npz_pickled(root: Path) -> Path:
    path = root / "obj.npz"
    arr = np.empty((2, 3, 3), dtype=object)
    np.savez(path, frames=arr, allow_pickle=True)
    return path


def _npy_object(root: Path) -> Path:
    path = root / "obj.npy"
    arr = np.empty((2, 3, 3), dtype=object)
    np.save(path, arr, allow_pickle=True)
    return path


def _nan(root: Path, bad=np.nan, name="nan.npy") -> Path:
    a = np.full((4, 6, 6), 0.5, np.float32)
    a[2, 3, 1] = bad
    return _write(root / name, _npy_bytes(a))


def _npy_corrupt_header(root: Path) -> Path:
    good = _npy_bytes(_frames(3))
    # keep the magic and the header length, scribble over the header dict
    body = bytearray(good)
    start = 10
    body[start : start + 20] = b"{'descr': <<<<<<<<<<"
    return _write(root / "badheader.npy", bytes(body))


def _npy_bad_shape_in_header(root: Path) -> Path:
    # a syntactically valid header with a negative dimension
    return _write(root / "negshape.npy", _npy_header((-3, 8, 8)) + b"\x00" * 64)


BAD: list[Item] = [
    # ---- .npy --------------------------------------------------------------------------------
    Item("npy_truncated", lambda d: _write(d / "cut.npy", _npy_bytes(_frames(10))[:-100]), ("cut.npy", "truncated")),
    Item("npy_header_only", lambda d: _write(d / "hdr.npy", _npy_header((10, 16, 20))), ("hdr.npy", "truncated")),
    Item("npy_corrupt_header", _npy_corrupt_header, ("badheader.npy",)),
    Item("npy_negative_shape", _npy_bad_shape_in_header, ("negshape.npy",)),
    Item("npy_garbage", lambda d: _write(d / "junk.npy", b"\x00\x01 not numpy" * 7), ("junk.npy", "not a readable")),
    Item("npy_zero_bytes", lambda d: _write(d / "empty.npy", b""), ("empty.npy",)),
    Item("npy_rank1", lambda d: _write(d / "r1.npy", _npy_bytes(np.zeros(5, np.uint8))), ("r1.npy", "rank 1")),
    Item("npy_rank2", lambda d: _write(d / "r2.npy", _npy_bytes(np.zeros((8, 8), np.uint8))), ("r2.npy", "single 2-D image")),
    Item("npy_rank6", lambda d: _write(d / "r6.npy", _npy_bytes(np.zeros((2, 2, 3, 8, 8, 1), np.uint8))), ("r6.npy", "rank 6")),
    Item("npy_object_array", _npy_object, ("obj.npy", "python objects")),
    Item("npy_pickle", lambda d: _write(d / "pick.npy", pickle.dumps({"frames": [1, 2, 3]})), ("pick.npy", "never unpickles")),
    Item("npy_nan", _nan, ("nan.npy", "NaN or infinite")),
    Item("npy_inf", lambda d: _nan(d, np.inf, "inf.npy"), ("inf.npy", "NaN or infinite")),
    Item("npy_zero_frames", lambda d: _write(d / "zero.npy", _npy_bytes(np.zeros((0, 8, 8), np.uint8))), ("zero.npy", "zero frames")),
    Item("npy_zero_width", lambda d: _write(d / "thin.npy", _npy_bytes(np.zeros((5, 8, 0), np.uint8))), ("thin.npy",)),
    Item("npy_huge_declared", lambda d: _write(d / "huge.npy", _npy_header((10**6, 10**4, 10**4))), ("huge.npy", "GiB")),
    Item("npy_complex", lambda d: _write(d / "cplx.npy", _npy_bytes(np.zeros((2, 4, 4), np.complex64))), ("cplx.npy", "complex64")),
    Item("npy_negative_ints", lambda d: _write(d / "neg.npy", _npy_bytes(np.full((2, 4, 4), -3, np.int16))), ("neg.npy", "integer values")),
    Item("npy_strings", lambda d: _write(d / "str.npy", _npy_bytes(np.full((2, 4, 4), "a"))), ("str.npy", "not pixel values")),
    Item("npy_structured", lambda d: _write(d / "rec.npy", _npy_bytes(np.zeros((2, 4, 4), dtype=[("a", "u1"), ("b", "f4")]))), ("rec.npy",)),
    # ---- .npz --------------------------------------------------------------------------------
    Item("npz_truncated", _npz_truncated, ("cut.npz", "truncated")),
    Item("npz_not_zip", lambda d: _write(d / "junk.npz", b"PK\x03\x04 but nothing after"), ("junk.npz",)),
    Item("npz_no_arrays", lambda d: _write(d / "empty.npz", _zip_with({"readme.txt": b"hi"})), ("empty.npz", "no arrays")),
    Item("npz_object_member", _npz_pickled, ("obj.npz", "python objects")),
    Item("npz_huge_member", _npz_huge, ("huge.npz", "GiB")),
    Item("npz_garbage_member", lambda d: _write(d / "gm.npz", _zip_with({"frames.npy": b"garbage!"})), ("gm.npz",)),
    # ---- image folders -----------------------------------------------------------------------
    Item("folder_empty", lambda d: _folder(d, "emptydir", {}), ("emptydir", "empty")),
    Item("folder_non_images", lambda d: _folder(d, "docs", {"a.txt": b"x", "b.csv": b"1,2"}), ("docs", "no images")),
    Item("folder_mixed_sizes", lambda d: _folder(d, "mixed", {
        "f1.png": _png_bytes(np.zeros((8, 10), np.uint8)), "f2.png": _png_bytes(np.zeros((8, 12), np.uint8))}),
        ("f2.png", "--frame-size")),
    Item("folder_truncated_png", lambda d: _folder(d, "cutpng", {
        "f1.png": _png_bytes(_frames(1)[0]), "f2.png": _png_bytes(_frames(1)[0])[:40]}), ("f2.png",)),
    Item("folder_text_as_png", lambda d: _folder(d, "fakepng", {
        "f1.png": _png_bytes(_frames(1)[0]), "f2.png": b"this is not a png"}), ("f2.png", "cannot read")),
    Item("folder_zero_byte_png", lambda d: _folder(d, "zeropng", {"f1.png": b""}), ("f1.png",)),
    Item("folder_mixed_bit_depth", lambda d: _folder(d, "depth", {
        "f1.png": _png_bytes(np.zeros((8, 10), np.uint8)), "f2.png": _png_bytes(np.zeros((8, 10), np.uint16))}),
        ("f2.png", "bit depth")),
    # ---- single images, TIFF and GIF stacks ---------------------------------------------------
    Item("png_huge_declared", _png_huge_declared, ("huge.png",)),
    Item("png_zero_bytes", lambda d: _write(d / "empty.png", b""), ("empty.png",)),
    Item("tiff_truncated", _tiff_truncated, ("cut.tif",)),
    Item("tiff_zero_pages", _tiff_zero_pages, ("nopages.tif",)),
    Item("tiff_garbage", lambda d: _write(d / "junk.tif", b"II*\x00garbage garbage garbage"), ("junk.tif",)),
    Item("tiff_huge_declared", lambda d: _write(d / "huge.tif", _tiff_bytes_declaring(200_000, 200_000)), ("huge.tif",)),
    Item("folder_huge_tiff_frame", lambda d: _folder(d, "hugetif", {"f0.tif": _tiff_bytes_declaring(200_000, 200_000)}),
         ("f0.tif", "implausibly large")),
    Item("tiff_zero_bytes", lambda d: _write(d / "empty.tiff", b""), ("empty.tiff",)),
    Item("gif_truncated", _gif_truncated, ("cut.gif",)),
    Item("gif_zero_bytes", lambda d: _write(d / "empty.gif", b""), ("empty.gif",)),
    # ---- video -------------------------------------------------------------------------------
    Item("mp4_truncated", _mp4_truncated, ("cut.mp4",)),
    Item("mp4_garbage", lambda d: _write(d / "junk.mp4", b"not a video at all " * 20), ("junk.mp4", "cannot open the video")),
    Item("mp4_zero_bytes", lambda d: _write(d / "empty.mp4", b""), ("empty.mp4",)),
    # ---- other ---------------------------------------------------------------------------------
    Item("unsupported_ext", lambda d: _write(d / "data.csv", b"1,2,3"), ("data.csv", "unsupported")),
    Item("missing_path", lambda d: d / "nowhere" / "gone.npy", ("gone.npy", "no such file")),
]


def _zip_with(members: dict[str, bytes]) -> bytes:
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


# ---- valid but odd: documented behaviour --------------------------------------------------------


def _check_16bit(seqs):
    (s,) = seqs
    assert s.frames.dtype == np.float32, "16-bit data is stored as float32 (vaeviewer.data.convert)"
    assert s.frames.shape == (3, 8, 10)
    np.testing.assert_allclose(s.frames[0, 0, 0], 1000 / 65535, rtol=1e-6)


def _check_rgba(seqs):
    (s,) = seqs
    assert s.frames.dtype == np.uint8 and s.frames.shape == (2, 8, 10)
    # luma of (200, 100, 50) with 0.299, 0.587, 0.114; alpha ignored
    assert int(s.frames[0, 0, 0]) == round(0.299 * 200 + 0.587 * 100 + 0.114 * 50)


def _check_one_frame(seqs):
    (s,) = seqs
    assert len(s) == 1 and s.frames.dtype == np.uint8


def _check_float_rescaled(seqs):
    (s,) = seqs
    assert s.frames.dtype == np.float32
    assert float(s.frames.min()) == 0.0 and float(s.frames.max()) == 1.0


def _rgba_png() -> bytes:
    a = np.zeros((8, 10, 4), np.uint8)
    a[..., 0], a[..., 1], a[..., 2], a[..., 3] = 200, 100, 50, 7
    return _png_bytes(a, "RGBA")


ODD: list[Item] = [
    Item("folder_16bit_png", lambda d: _folder(d, "deep", {
        f"f{i}.png": _png_bytes(np.full((8, 10), 1000 + i, np.uint16)) for i in range(3)}), check=_check_16bit),
    Item("folder_rgba_png", lambda d: _folder(d, "rgba", {"f1.png": _rgba_png(), "f2.png": _rgba_png()}), check=_check_rgba),
    Item("npy_one_frame", lambda d: _write(d / "one.npy", _npy_bytes(_frames(1))), check=_check_one_frame),
    Item("png_one_frame", lambda d: _write(d / "one.png", _png_bytes(_frames(1)[0])), check=_check_one_frame),
    Item("npy_float_out_of_range", lambda d: _write(d / "wide.npy", _npy_bytes(np.linspace(-5, 7, 3 * 4 * 4, dtype=np.float32).reshape(3, 4, 4))),
         check=_check_float_rescaled),
    Item("tiff_16bit_stack", lambda d: _write_tiff(d / "deep.tif", np.full((3, 8, 10), 1000, np.uint16)), check=_check_16bit),
]


def _write_tiff(path: Path, arr: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(path, arr, photometric="minisblack")
    return path


BY_NAME = {item.name: item for item in BAD + ODD}
