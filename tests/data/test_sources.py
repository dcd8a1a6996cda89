"""Loading real files written to tmp_path: every supported source, values and sizes."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from PIL import Image

from vaeviewer.data.sources import Sequence, load_sequences
from vaeviewer.errors import VaeViewerError


def ramp(n=5, h=12, w=16, dtype=np.uint8, step=7):
    """Frames whose values identify frame and pixel: (t*step + y + x) wrapped to the dtype."""
    t, y, x = np.meshgrid(np.arange(n), np.arange(h), np.arange(w), indexing="ij")
    return ((t * step + y * 3 + x) % 251).astype(dtype)


def test_npy_uint8_is_kept_as_uint8_contiguous(tmp_path):
    a = ramp()
    np.save(tmp_path / "clip.npy", a)
    (seq,) = load_sequences([tmp_path / "clip.npy"])
    assert isinstance(seq, Sequence) and seq.name == "clip" and len(seq) == 5
    assert seq.frames.dtype == np.uint8 and seq.frames.flags.c_contiguous
    assert seq.source_index == 0 and seq.offset == 0
    np.testing.assert_array_equal(seq.frames, a)


def test_npy_layouts_channel_and_several_sequences(tmp_path):
    a = ramp(n=4)
    np.save(tmp_path / "one.npy", a[..., None])  # (N, H, W, 1)
    np.save(tmp_path / "many.npy", np.stack([a, a[::-1]]))  # (S, N, H, W)
    np.save(tmp_path / "fortran.npy", np.asfortranarray(a))
    seqs = load_sequences([str(tmp_path / "one.npy"), tmp_path / "many.npy", tmp_path / "fortran.npy"])
    assert [s.name for s in seqs] == ["one", "many[0]", "many[1]", "fortran"]
    assert [s.source_index for s in seqs] == [0, 1, 2, 3]
    np.testing.assert_array_equal(seqs[0].frames, a)
    np.testing.assert_array_equal(seqs[2].frames, a[::-1])
    np.testing.assert_array_equal(seqs[3].frames, a)
    assert all(s.frames.flags.c_contiguous for s in seqs)


def test_npz_each_array_is_a_sequence(tmp_path):
    a = ramp(n=3)
    np.savez_compressed(tmp_path / "set.npz", first=a, second=a + 1)
    seqs = load_sequences([tmp_path / "set.npz"])
    assert [s.name for s in seqs] == ["set:first", "set:second"]
    np.testing.assert_array_equal(seqs[1].frames, a + 1)


def test_colour_array_becomes_luma_uint8(tmp_path):
    rgb = np.zeros((2, 8, 10, 3), np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 200, 100, 50
    np.save(tmp_path / "rgb.npy", rgb)
    (seq,) = load_sequences([tmp_path / "rgb.npy"])
    assert seq.frames.dtype == np.uint8 and seq.frames.shape == (2, 8, 10)
    assert np.all(seq.frames == round(0.299 * 200 + 0.587 * 100 + 0.114 * 50))


def test_uint16_becomes_float32_scaled_by_range(tmp_path):
    a = np.array([0, 1000, 65535], np.uint16)[:, None, None] * np.ones((1, 6, 6), np.uint16)
    np.save(tmp_path / "deep.npy", a)
    (seq,) = load_sequences([tmp_path / "deep.npy"])
    assert seq.frames.dtype == np.float32
    np.testing.assert_allclose(seq.frames[:, 0, 0], [0, 1000 / 65535, 1.0], rtol=1e-6)


def test_float_in_unit_range_kept_outside_rescaled(tmp_path, caplog):
    a = np.linspace(0, 1, 3 * 5 * 5, dtype=np.float64).reshape(3, 5, 5)
    np.save(tmp_path / "unit.npy", a)
    np.save(tmp_path / "wide.npy", a * 40 - 10)
    unit, wide = load_sequences([tmp_path / "unit.npy", tmp_path / "wide.npy"])
    assert unit.frames.dtype == np.float32
    np.testing.assert_allclose(unit.frames, a, atol=1e-7)
    np.testing.assert_allclose(wide.frames, a, atol=1e-6)  # min-max over the whole file
    assert "rescaled" in caplog.text and "wide.npy" in caplog.text


def test_small_integer_arrays_stored_as_uint8(tmp_path):
    a = ramp(n=2).astype(np.int64)
    np.save(tmp_path / "ints.npy", a)
    (seq,) = load_sequences([tmp_path / "ints.npy"])
    assert seq.frames.dtype == np.uint8
    np.testing.assert_array_equal(seq.frames, a)


def test_image_folder_natural_order_and_16bit(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    a = ramp(n=12)
    for i in range(12):  # frame2 must come before frame10
        Image.fromarray(a[i]).save(folder / f"frame{i}.png")
    (folder / "notes.txt").write_text("ignored")
    (seq,) = load_sequences([folder])
    assert seq.name == "frames" and seq.frames.dtype == np.uint8
    np.testing.assert_array_equal(seq.frames, a)

    deep = tmp_path / "deep"
    deep.mkdir()
    b = (ramp(n=3).astype(np.uint16) * 200)
    for i in range(3):
        Image.fromarray(b[i]).save(deep / f"f{i}.png")
    (s16,) = load_sequences([deep])
    assert s16.frames.dtype == np.float32
    np.testing.assert_allclose(s16.frames, b / 65535.0, rtol=1e-6)
    # Each sequence says what its files held and what was done (image folders too, frame by frame).
    assert seq.source == "8-bit gray, stored as uint8"
    assert s16.source.startswith("16-bit gray, kept as float32")


def test_folder_of_colour_jpg_and_bmp(tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    img = np.zeros((16, 20, 3), np.uint8)
    img[..., 1] = 255
    Image.fromarray(img).save(folder / "a1.bmp")
    Image.fromarray(img).save(folder / "a2.jpg", quality=95)
    (seq,) = load_sequences([folder])
    assert seq.frames.shape == (2, 16, 20) and seq.frames.dtype == np.uint8
    assert abs(int(seq.frames[0, 5, 5]) - round(0.587 * 255)) <= 1
    assert abs(int(seq.frames[1, 5, 5]) - round(0.587 * 255)) <= 4  # jpeg is lossy


def test_multipage_tiff_and_gif(tmp_path):
    a = ramp(n=6, h=16, w=20)
    tifffile.imwrite(tmp_path / "stack.tif", a)
    tifffile.imwrite(tmp_path / "stack16.tiff", a.astype(np.uint16) * 256)
    frames = [Image.fromarray(f) for f in a]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    tif, tif16, gif = load_sequences([tmp_path / "stack.tif", tmp_path / "stack16.tiff", tmp_path / "anim.gif"])
    np.testing.assert_array_equal(tif.frames, a)
    np.testing.assert_allclose(tif16.frames, a.astype(np.float64) * 256 / 65535, rtol=1e-6)
    assert gif.frames.shape == (6, 16, 20)
    np.testing.assert_array_equal(gif.frames, a)  # gray palette: lossless


def test_mp4_frame_count_and_size_read_back_exactly(tmp_path):
    import imageio_ffmpeg

    h, w, n = 48, 64, 23
    path = tmp_path / "clip.mp4"
    writer = imageio_ffmpeg.write_frames(str(path), (w, h), pix_fmt_in="gray", fps=10, macro_block_size=16)
    writer.send(None)
    for i in range(n):
        f = np.full((h, w), 30, np.uint8)
        f[10:30, i : i + 12] = 220
        writer.send(f)
    writer.close()
    (seq,) = load_sequences([path])
    assert seq.name == "clip" and seq.frames.shape == (n, h, w) and seq.frames.dtype == np.uint8
    assert abs(int(seq.frames[5, 20, 10]) - 220) < 20 and abs(int(seq.frames[5, 40, 50]) - 30) < 20


def test_resize_every_frame(tmp_path):
    np.save(tmp_path / "big.npy", np.full((3, 40, 50), 77, np.uint8))
    folder = tmp_path / "small"
    folder.mkdir()
    for i, size in enumerate([(10, 12), (20, 24)]):  # mixed sizes are fine when resizing
        Image.fromarray(np.full(size, 77, np.uint8)).save(folder / f"{i}.png")
    big, small = load_sequences([tmp_path / "big.npy", folder], frame_size=(8, 10))
    assert big.frames.shape == (3, 8, 10) and small.frames.shape == (2, 8, 10)
    assert np.all(big.frames == 77) and np.all(small.frames == 77)


def test_sequences_of_different_sizes_need_frame_size(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros((3, 8, 10), np.uint8))
    np.save(tmp_path / "b.npy", np.zeros((3, 16, 20), np.uint8))
    with pytest.raises(VaeViewerError, match="--frame-size") as info:
        load_sequences([tmp_path / "a.npy", tmp_path / "b.npy"])
    assert "a.npy" in str(info.value) and "16x20" in str(info.value)
    a, b = load_sequences([tmp_path / "a.npy", tmp_path / "b.npy"], frame_size=(8, 10))
    assert a.frames.shape == b.frames.shape == (3, 8, 10)
