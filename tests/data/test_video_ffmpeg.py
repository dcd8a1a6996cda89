"""Video through the bundled ffmpeg: scaled and made gray by ffmpeg (area average), frames that
match the old full-size-then-Pillow path, truncation warnings, no-frame refusals, progress."""

from __future__ import annotations

import io
import logging

import numpy as np
import pytest

from vaeviewer.data import convert, media
from vaeviewer.data.sources import load_sequences
from vaeviewer.errors import VaeViewerError

N, H, W = 60, 96, 128


def blobs(n=N, h=H, w=W) -> list[np.ndarray]:
    """Smooth content: two gaussian blobs moving over a flat background."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    frames = []
    for i in range(n):
        t = 2 * np.pi * i / n
        f = 40 + 150 * np.exp(-((xx - w / 2 - 30 * np.cos(t)) ** 2 + (yy - h / 2 - 20 * np.sin(t)) ** 2) / (2 * 12**2))
        f += 60 * np.exp(-((xx - 20 - i) ** 2 + (yy - 30) ** 2) / (2 * 8**2))
        frames.append(np.clip(f, 0, 255).astype(np.uint8))
    return frames


def write_video(path, frames, **kw):
    import imageio_ffmpeg

    h, w = frames[0].shape
    writer = imageio_ffmpeg.write_frames(str(path), (w, h), pix_fmt_in="gray", fps=10, macro_block_size=16, **kw)
    writer.send(None)
    for f in frames:
        writer.send(f)
    writer.close()
    return path


def old_loader(path, frame_size) -> np.ndarray:
    """What vaeviewer did before: imageio's reader at full size in gray, then Pillow per frame."""
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path), pix_fmt="gray", bits_per_pixel=8)
    w, h = next(reader)["size"]
    frames = np.stack([np.frombuffer(c, np.uint8).reshape(h, w) for c in reader])
    return convert.resize_frames(frames, frame_size)


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    d = tmp_path_factory.mktemp("video")
    frames = blobs()
    return {
        "mp4": write_video(d / "blobs.mp4", frames),
        "avi": write_video(d / "blobs.avi", frames, codec="mjpeg", quality=None, bitrate="4000k"),
    }


@pytest.mark.parametrize("kind", ["mp4", "avi"])
@pytest.mark.parametrize("frame_size", [None, (64, 80), (24, 32), (40, 50), (H, W)])
def test_frames_match_the_old_python_path(videos, kind, frame_size):
    path = videos[kind]
    (seq,) = load_sequences([path], frame_size)
    want = old_loader(path, frame_size)
    assert seq.frames.shape == want.shape == (N, *(frame_size or (H, W)))
    assert seq.frames.dtype == np.uint8 and seq.frames.flags.c_contiguous
    diff = np.abs(seq.frames.astype(np.int16) - want.astype(np.int16))
    assert diff.mean() <= 1.0, f"mean abs difference {diff.mean():.3f} grey levels"
    if frame_size is None or frame_size == (H, W):
        assert diff.max() == 0  # no scaling: the very same luma bytes
        assert "scaled" not in seq.source
    else:
        assert f"to {frame_size[0]}x{frame_size[1]} (area average)" in seq.source
    assert seq.source.endswith("stored as uint8") and "WARNING" not in seq.source


def test_ffmpeg_is_asked_to_scale_with_area_averaging(tmp_path):
    args = media.ffmpeg_decode_args(tmp_path / "x.mp4", (64, 80))
    assert args[args.index("-vf") + 1] == "scale=80:64:flags=area"
    assert args[args.index("-pix_fmt") + 1] == "gray" and args[args.index("-f") + 1] == "rawvideo"
    assert "-vf" not in media.ffmpeg_decode_args(tmp_path / "x.mp4", None)


def test_probe_reports_size_rate_and_declared_frames(videos):
    for kind in ("mp4", "avi"):
        info = media.probe_video(videos[kind])
        assert (info.height, info.width) == (H, W) and info.fps == 10
        assert info.declared_frames == N


def test_odd_file_names_reach_ffmpeg_as_files(tmp_path, videos):
    odd = tmp_path / "-a:b c.mp4"  # a leading dash and a colon: neither an option nor a protocol
    odd.write_bytes(videos["mp4"].read_bytes())
    (seq,) = load_sequences([odd], (24, 32))
    assert len(seq) == N and seq.name == "-a:b c"


def cut(src, dst, fraction=0.5):
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


def test_cut_avi_warns_with_both_counts(tmp_path, videos, caplog):
    path = cut(videos["avi"], tmp_path / "cut.avi")
    with caplog.at_level(logging.WARNING, logger="vaeviewer.data"):
        (seq,) = load_sequences([path], (24, 32))
    assert 0 < len(seq) < N
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1
    for text in (warned[0], seq.source):  # the frame the cut went through is left out, and that is said
        assert f"decoded {len(seq) + 1} frames" in text and f"declares {N}" in text and f"({len(seq)} kept)" in text
    assert "cut.avi" in warned[0]
    assert "WARNING" in seq.source  # the app's data panel and `inspect` show the source note
    # what is kept is the start of the film, unharmed
    np.testing.assert_array_equal(seq.frames, load_sequences([videos["avi"]], (24, 32))[0].frames[: len(seq)])


def test_cut_mkv_with_its_header_at_the_front_warns(tmp_path):
    path = write_video(tmp_path / "clip.mkv", blobs(n=40, h=48, w=64))
    (full,) = load_sequences([path])
    assert len(full) == 40 and "WARNING" not in full.source
    (seq,) = load_sequences([cut(path, tmp_path / "cut.mkv")])
    assert 0 < len(seq) < 40 and "declares 40" in seq.source


def test_whole_files_do_not_warn(videos, caplog):
    with caplog.at_level(logging.WARNING, logger="vaeviewer.data"):
        load_sequences([videos["mp4"], videos["avi"]], (24, 32))
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_no_frame_is_refused_naming_the_file(tmp_path, videos):
    # mp4 keeps its index at the end: cut, it cannot even be opened
    with pytest.raises(VaeViewerError) as info:
        load_sequences([cut(videos["mp4"], tmp_path / "cut.mp4")])
    msg = str(info.value)
    assert "cut.mp4" in msg and "truncated" in msg and "\n" not in msg
    # an AVI cut inside its first frame opens but decodes to nothing
    with pytest.raises(VaeViewerError) as info:
        load_sequences([cut(videos["avi"], tmp_path / "stub.avi", fraction=0.02)], (24, 32))
    msg = str(info.value)
    assert "stub.avi" in msg and "\n" not in msg
    for name, data in (("junk.avi", b"RIFF\x00\x00\x00\x00AVI junk" * 20), ("empty.mkv", b"")):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(VaeViewerError, match=name.replace(".", r"\.")) as info:
            load_sequences([tmp_path / name])
        assert "\n" not in str(info.value)


def test_audio_only_file_is_refused(tmp_path):
    import subprocess

    path = tmp_path / "sound.mp4"
    subprocess.run([media.ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "sine=duration=0.5", str(path)],
                   check=True, capture_output=True)
    with pytest.raises(VaeViewerError, match="no video stream"):
        load_sequences([path])


def test_progress_reports_frames_and_can_cancel(videos, monkeypatch):
    calls = []
    monkeypatch.setattr(media, "PROGRESS_EVERY_S", 0.0)  # every read reports
    load_sequences([videos["avi"]], (24, 32), progress=lambda done, total: calls.append((done, total)))
    assert calls[0] == (0, N) and calls[-1] == (N, N)
    assert all(b[0] >= a[0] for a, b in zip(calls, calls[1:]))

    class Stop(Exception):
        pass

    def cancel(done, total):
        if done > 0:
            raise Stop

    monkeypatch.setattr(media, "READ_BYTES", 24 * 32)  # one frame per read
    with pytest.raises(Stop):
        load_sequences([videos["avi"]], (24, 32), progress=cancel)


def test_console_bar_only_on_a_terminal_and_after_a_while():
    from vaeviewer.training.progress import LoadProgress

    class Tty(io.StringIO):
        def isatty(self):
            return True

    quiet = io.StringIO()
    with LoadProgress(quiet, after_s=0.0) as bar:
        bar(5, 10)
    assert quiet.getvalue() == ""  # not a terminal
    tty = Tty()
    with LoadProgress(tty, after_s=3600.0) as bar:
        bar(5, 10)
    assert tty.getvalue() == ""  # a short load
    with LoadProgress(tty, after_s=0.0) as bar:
        bar(5, 10)
        bar(10, 10)
    out = tty.getvalue()
    assert "5/10 frames" in out and "10/10 frames" in out and out.endswith("\n")
