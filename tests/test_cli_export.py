"""`vaeviewer export`: per-frame errors, latents and a video from a finished run, on its data and on other data."""

import csv
import json

import numpy as np
import pytest

from tests.conftest import tiny_config
from vaeviewer.cli import main
from vaeviewer.training.session import TrainingSession


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "R"
    TrainingSession(tiny_config(variant="conv3d", window=4, stride=2, out=str(out), epochs=1)).run()
    return out


def test_export_writes_errors_latents_and_a_video_of_every_frame(run_dir, tmp_path, capsys):
    before = {p.name: p.stat().st_mtime_ns for p in run_dir.iterdir()}
    e, z, v = tmp_path / "e.csv", tmp_path / "z.npy", tmp_path / "v.mp4"
    assert main(["export", str(run_dir), "--errors", str(e), "--latents", str(z), "--video", str(v), "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    rows = list(csv.DictReader(e.open()))
    assert list(rows[0]) == ["sequence", "frame", "mse", "in_valid", "above_threshold"]
    # the tiny demo: 2 sequences of 80 frames, the last 25% of each validates
    assert len(rows) == 160 == report["frames"]
    for name in ("demo0", "demo1"):
        mine = [r for r in rows if r["sequence"] == name]
        assert [int(r["frame"]) for r in mine] == list(range(80))
        assert [r["in_valid"] for r in mine] == ["0"] * 60 + ["1"] * 20
    mse = np.array([float(r["mse"]) for r in rows])
    above = np.array([r["above_threshold"] == "1" for r in rows])
    assert np.all(np.isfinite(mse)) and np.array_equal(above, mse > report["threshold"])
    train = mse[[r["in_valid"] == "0" for r in rows]]
    assert report["threshold"] == pytest.approx(train.mean() + 3 * train.std(), rel=1e-4)
    latents = np.load(z)
    assert latents.shape == (2 * (60 // 4 + 20 // 4), 2)   # non-overlapping windows of 4 in each part
    assert main(["inspect", str(v), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["frames"] == 160 and info["frame_shape"][1] >= 3 * 20
    assert {p.name: p.stat().st_mtime_ns for p in run_dir.iterdir()} == before


def test_export_applies_the_run_to_a_video_it_never_saw(run_dir, tmp_path, capsys):
    import imageio_ffmpeg

    clip = tmp_path / "other.mp4"
    frames = (np.random.default_rng(0).random((30, 32, 48)) * 255).astype(np.uint8)
    writer = imageio_ffmpeg.write_frames(str(clip), (48, 32), pix_fmt_in="gray", fps=10, macro_block_size=1,
                                         ffmpeg_log_level="error")
    writer.send(None)
    for f in frames:
        writer.send(f.tobytes())
    writer.close()
    e2, lat = tmp_path / "e2.csv", tmp_path / "z.csv"
    # 32x48 frames into a 16x20 model: refused (one line, exit 2) unless the resize is asked for.
    assert main(["export", str(run_dir), str(clip), "--errors", str(e2)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "32x48" in err[0] and "--frame-size 16x20" in err[0] and not e2.exists()
    assert main(["export", str(run_dir), str(clip), "--frame-size", "20x20", "--errors", str(e2)]) == 2
    assert "the model takes 16x20" in capsys.readouterr().err
    assert main(["export", str(run_dir), str(clip), "--frame-size", "16x20", "--errors", str(e2),
                 "--latents", str(lat)]) == 0
    out = capsys.readouterr().out
    assert "the run's training frames" in out
    rows = list(csv.DictReader(e2.open()))
    assert [int(r["frame"]) for r in rows] == list(range(30)) and {r["in_valid"] for r in rows} == {"0"}
    z_rows = list(csv.DictReader(lat.open()))
    assert [(int(r["first_frame"]), int(r["last_frame"])) for r in z_rows] == [(a, a + 3) for a in range(0, 28, 4)]


@pytest.mark.parametrize("args,message", [
    (["--errors", "e.csv"], "no best.keras"),
    ([], "nothing to write"),
    (["--video", "v.avi2"], "must end with"),
])
def test_bad_exports_are_one_line_and_exit_2(run_dir, tmp_path, capsys, args, message):
    target = run_dir
    if message == "no best.keras":
        import shutil

        target = tmp_path / "copy"
        shutil.copytree(run_dir, target)
        (target / "best.keras").unlink()
    assert main(["export", str(target), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
