"""Every user mistake in the data layer raises VaeViewerError naming the file and the problem."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import tifffile
from PIL import Image

from vaeviewer.data.sources import load_sequences
from vaeviewer.errors import VaeViewerError


def expect_error(paths, *words, frame_size=None):
    """Load and assert a VaeViewerError whose message holds every word (case-insensitive)."""
    with pytest.raises(VaeViewerError) as info:
        load_sequences(paths, frame_size=frame_size)
    msg = str(info.value)
    for word in words:
        assert str(word).lower() in msg.lower(), f"{word!r} not in {msg!r}"
    assert "\n" not in msg
    return msg


def test_missing_path(tmp_path):
    expect_error([tmp_path / "nope.npy"], "nope.npy", "no such file")


def test_no_paths():
    expect_error([], "no data")


def test_empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    expect_error([tmp_path / "empty"], "empty", "folder is empty")


def test_folder_without_images(tmp_path):
    folder = tmp_path / "stuff"
    folder.mkdir()
    (folder / "readme.txt").write_text("x")
    np.save(folder / "arr.npy", np.zeros((2, 4, 4)))
    expect_error([folder], "stuff", "no images", "readme.txt", "pass array")


def test_unsupported_extension(tmp_path):
    (tmp_path / "data.csv").write_text("1,2")
    expect_error([tmp_path / "data.csv"], "data.csv", "unsupported", ".npy")


def test_mixed_frame_sizes_in_folder(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    Image.fromarray(np.zeros((8, 10), np.uint8)).save(folder / "f1.png")
    Image.fromarray(np.zeros((8, 12), np.uint8)).save(folder / "f2.png")
    expect_error([folder], "f2.png", "8x12", "8x10", "--frame-size")


def test_mixed_bit_depth_in_folder(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    Image.fromarray(np.zeros((8, 10), np.uint8)).save(folder / "f1.png")
    Image.fromarray(np.zeros((8, 10), np.uint16)).save(folder / "f2.png")
    expect_error([folder], "f2.png", "bit depth")


def test_truncated_png_in_folder(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(folder / "f1.png")
    Image.fromarray((np.arange(256).reshape(16, 16)).astype(np.uint8)).save(folder / "f2.png")
    data = (folder / "f2.png").read_bytes()
    (folder / "f2.png").write_bytes(data[: len(data) // 2])
    expect_error([folder], "f2.png", "truncated")


def test_not_an_image(tmp_path):
    (tmp_path / "fake.png").write_bytes(b"this is not a png")
    expect_error([tmp_path / "fake.png"], "fake.png", "cannot read")


def test_truncated_tiff(tmp_path):
    tifffile.imwrite(tmp_path / "s.tif", np.zeros((8, 32, 40), np.uint16) + 5)
    data = (tmp_path / "s.tif").read_bytes()
    (tmp_path / "s.tif").write_bytes(data[: len(data) // 2])
    expect_error([tmp_path / "s.tif"], "s.tif", "cannot read")


def test_truncated_npy(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros((10, 8, 8), np.uint8))
    data = (tmp_path / "a.npy").read_bytes()
    (tmp_path / "a.npy").write_bytes(data[:-100])
    expect_error([tmp_path / "a.npy"], "a.npy", "truncated")


def test_garbage_npy(tmp_path):
    (tmp_path / "a.npy").write_bytes(b"\x00\x01garbage")
    expect_error([tmp_path / "a.npy"], "a.npy", "not a readable")


def test_pickle_file_is_never_unpickled(tmp_path):
    (tmp_path / "p.npy").write_bytes(pickle.dumps({"frames": [1, 2, 3]}))
    expect_error([tmp_path / "p.npy"], "p.npy", "never unpickles")


def test_pickled_object_array(tmp_path):
    arr = np.empty((2, 3, 3), dtype=object)
    np.save(tmp_path / "obj.npy", arr, allow_pickle=True)
    expect_error([tmp_path / "obj.npy"], "obj.npy", "python objects")
    np.savez(tmp_path / "obj.npz", frames=arr, allow_pickle=True)
    expect_error([tmp_path / "obj.npz"], "obj.npz", "frames", "python objects")


def test_truncated_npz(tmp_path):
    np.savez_compressed(tmp_path / "z.npz", frames=np.random.default_rng(0).integers(0, 255, (10, 16, 16), np.uint8))
    data = (tmp_path / "z.npz").read_bytes()
    (tmp_path / "z.npz").write_bytes(data[: len(data) // 2])
    expect_error([tmp_path / "z.npz"], "z.npz", "damaged or truncated")


def test_empty_npz(tmp_path):
    np.savez(tmp_path / "e.npz")
    expect_error([tmp_path / "e.npz"], "e.npz", "no arrays")


@pytest.mark.parametrize("shape", [(5,), (8, 8), (2, 2, 3, 8, 8, 1)])
def test_wrong_rank(tmp_path, shape):
    np.save(tmp_path / "r.npy", np.zeros(shape, np.uint8))
    expect_error([tmp_path / "r.npy"], "r.npy", str(shape), "expected (frames, height, width)")


def test_zero_frames(tmp_path):
    np.save(tmp_path / "z.npy", np.zeros((0, 8, 8), np.uint8))
    expect_error([tmp_path / "z.npy"], "z.npy", "zero frames")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf(tmp_path, bad):
    a = np.zeros((4, 6, 6), np.float32)
    a[2, 3, 1] = bad
    np.save(tmp_path / "f.npy", a)
    expect_error([tmp_path / "f.npy"], "f.npy", "NaN or infinite", "index 2")


def test_nan_in_float_tiff_frame_of_folder(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    a = np.zeros((6, 6), np.float32)
    tifffile.imwrite(folder / "f1.tif", a)
    a[1, 1] = np.nan
    tifffile.imwrite(folder / "f2.tif", a)
    expect_error([folder], "f2.tif", "NaN")


def test_negative_or_wide_integers(tmp_path):
    np.save(tmp_path / "neg.npy", np.full((2, 4, 4), -3, np.int16))
    expect_error([tmp_path / "neg.npy"], "neg.npy", "integer values")
    np.save(tmp_path / "wide.npy", np.full((2, 4, 4), 70000, np.int32))
    expect_error([tmp_path / "wide.npy"], "wide.npy", "70000")


def test_unsupported_dtypes(tmp_path):
    np.save(tmp_path / "c.npy", np.zeros((2, 4, 4), np.complex64))
    expect_error([tmp_path / "c.npy"], "c.npy", "complex64")


def test_huge_declared_size_refused_before_allocating(tmp_path):
    path = tmp_path / "huge.npy"
    with open(path, "wb") as fh:  # a valid header declaring 10^6 frames of 10^4 x 10^4, no data
        np.lib.format.write_array_header_2_0(
            fh, {"descr": "|u1", "fortran_order": False, "shape": (10**6, 10**4, 10**4)}
        )
    expect_error([path], "huge.npy", "GiB", "--frame-size")


def test_huge_declared_size_in_npz(tmp_path):
    import zipfile

    path = tmp_path / "huge.npz"
    with zipfile.ZipFile(path, "w") as zf, zf.open("frames.npy", "w") as fh:
        np.lib.format.write_array_header_2_0(
            fh, {"descr": "<f4", "fortran_order": False, "shape": (10**6, 10**4, 10**4)}
        )
    expect_error([path], "huge.npz", "frames", "GiB")


def write_video(path, n=30, size=(32, 32), **kw):
    import imageio_ffmpeg

    writer = imageio_ffmpeg.write_frames(str(path), size[::-1], pix_fmt_in="gray", fps=10, macro_block_size=16, **kw)
    writer.send(None)
    rng = np.random.default_rng(0)
    for _ in range(n):
        writer.send(rng.integers(0, 255, size, dtype=np.uint8))
    writer.close()


def test_unreadable_and_truncated_video(tmp_path):
    (tmp_path / "junk.mp4").write_bytes(b"not a video at all" * 10)
    expect_error([tmp_path / "junk.mp4"], "junk.mp4", "cannot open the video")

    write_video(tmp_path / "clip.mp4")
    data = (tmp_path / "clip.mp4").read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 2])  # mp4 index is at the end
    expect_error([tmp_path / "cut.mp4"], "cut.mp4", "truncated")

    write_video(tmp_path / "clip.avi", codec="mjpeg", quality=None, bitrate="2000k")
    data = (tmp_path / "clip.avi").read_bytes()
    (tmp_path / "cut.avi").write_bytes(data[: len(data) // 2])
    # avi decodes up to the cut (ffmpeg cannot tell it was cut): fewer frames, never garbage
    (seq,) = load_sequences([tmp_path / "cut.avi"])
    assert 0 < len(seq) < 30 and seq.frames.shape[1:] == (32, 32)


def test_bad_frame_size_argument(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros((2, 4, 4), np.uint8))
    expect_error([tmp_path / "a.npy"], "frame size", frame_size=(0, 5))
    expect_error([tmp_path / "a.npy"], "frame size", frame_size="big")
