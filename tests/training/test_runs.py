"""Opening a finished run read-only: the documented API (as the README shows it), and bad run directories."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

import vaeviewer
from tests.conftest import tiny_config
from vaeviewer.errors import VaeViewerError
from vaeviewer.training.session import TrainingSession

ROOT = Path(__file__).resolve().parents[2]
VARIANTS = {
    "conv2d": dict(variant="conv2d"),
    "conv3d": dict(variant="conv3d", window=4, stride=2),
    "stateful": dict(variant="convlstm", window=4, stride=4, stateful=True, batch_size=2),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("runs")
    out = {}
    for name, changes in VARIANTS.items():
        out[name] = base / name
        TrainingSession(tiny_config(out=str(out[name]), epochs=1, **changes)).run()
    return out


def snapshot_of(folder: Path) -> dict:
    return {p.name: (p.stat().st_mtime_ns, p.stat().st_size) for p in folder.iterdir()}


def readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("### Use a trained model in your own code", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.mark.parametrize("name", list(VARIANTS))
def test_the_readme_example_runs_as_written(runs, name, capsys):
    before = snapshot_of(runs[name])
    code = readme_example().replace('"runs/demo"', repr(str(runs[name])))
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)
    n = len(scope["frames"])
    t = 1 if name == "conv2d" else 4
    assert scope["z_mean"].shape == (n // t, 2) and scope["z_log_var"].shape == (n // t, 2)
    assert scope["recon"].shape == scope["frames"].shape
    assert scope["errors"].shape == (n,) and np.all(np.isfinite(scope["errors"]))
    assert scope["decoded"].shape == ((n, 16, 20) if t == 1 else (n // t, 4, 16, 20))
    assert capsys.readouterr().out.split()[0] == scope["run"].config.variant
    assert snapshot_of(runs[name]) == before   # read-only


@pytest.mark.parametrize("name", ["conv2d", "stateful"])
def test_frame_errors_are_the_errors_of_the_reconstruction(runs, name):
    run = vaeviewer.open_run(runs[name])
    frames = np.random.default_rng(3).integers(0, 256, (22, 16, 20), dtype=np.uint8)   # 22: not whole windows
    recon = run.reconstruct(frames)
    expected = ((frames / 255.0 - recon) ** 2).mean(axis=(1, 2))
    np.testing.assert_allclose(run.frame_errors(frames), expected, rtol=1e-4, atol=1e-7)


def test_window_errors_cover_every_frame_and_decode_matches_reconstruct(runs):
    run = vaeviewer.open_run(runs["conv3d"])
    frames = np.random.default_rng(4).random((18, 16, 20), dtype=np.float32)
    errors = run.frame_errors(frames)
    assert errors.shape == (18,) and np.all(np.isfinite(errors))
    z, _ = run.encode(frames)
    whole = run.reconstruct(frames)[:16].reshape(4, 4, 16, 20)
    np.testing.assert_allclose(run.decode(z), whole, rtol=1e-4, atol=1e-6)


def test_a_stateful_run_encodes_with_its_state_carried(runs):
    from vaeviewer.models import inference

    run = vaeviewer.open_run(runs["stateful"])
    frames = np.random.default_rng(5).random((16, 16, 20), dtype=np.float32)
    z, _ = run.encode(frames)
    carried, _ = inference.encode_sequence_stateful(run.model, frames.reshape(4, 4, 16, 20, 1))
    alone = inference.encode(run.model, frames.reshape(4, 4, 16, 20, 1))
    np.testing.assert_allclose(z, carried, rtol=1e-4, atol=1e-6)
    assert not np.allclose(z[1:], alone[1:], atol=1e-6)   # the state matters after the first window


def test_frames_of_another_size_are_refused(runs):
    run = vaeviewer.open_run(runs["conv2d"])
    with pytest.raises(VaeViewerError, match="do not fit this model, which takes 16x20"):
        run.encode(np.zeros((4, 32, 40), np.float32))


def test_bad_run_directories_say_what_is_wrong(runs, tmp_path):
    import shutil

    with pytest.raises(VaeViewerError, match="no such run directory"):
        vaeviewer.open_run(tmp_path / "nothing")
    no_best = tmp_path / "no_best"
    shutil.copytree(runs["conv2d"], no_best)
    (no_best / "best.keras").unlink()
    with pytest.raises(VaeViewerError, match="no best.keras"):
        vaeviewer.open_run(no_best)
    future = tmp_path / "future"
    shutil.copytree(runs["conv2d"], future)
    cfg = json.loads((future / "config.json").read_text())
    cfg["time_machine"] = True
    (future / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(VaeViewerError, match="time_machine"):
        vaeviewer.open_run(future)
    unsafe = tmp_path / "unsafe"
    shutil.copytree(runs["conv2d"], unsafe)
    (unsafe / "best.keras").write_bytes(b"not a zip archive")
    with pytest.raises(VaeViewerError, match="best.keras"):
        vaeviewer.open_run(unsafe)


def test_batches_are_scaled_like_sequences_and_bad_values_are_refused(runs):
    run = vaeviewer.open_run(runs["conv3d"])
    frames = np.random.default_rng(6).integers(0, 256, (8, 16, 20), dtype=np.uint8)
    as_batch = frames.reshape(2, 4, 16, 20, 1)
    np.testing.assert_allclose(run.encode(as_batch)[0], run.encode(frames)[0], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(run.encode(as_batch)[0], run.encode(as_batch / 255.0)[0], rtol=1e-4, atol=1e-6)
    for bad, message in [(frames.astype(np.uint16) * 257, "dtype uint16"),
                         (frames.astype(np.float32), "must be in 0..1"),
                         (np.full((8, 16, 20), np.nan, np.float32), "NaN")]:
        with pytest.raises(VaeViewerError, match=message):
            run.frame_errors(bad)
        with pytest.raises(VaeViewerError, match=message):
            run.encode(bad.reshape(2, 4, 16, 20, 1))


def test_moved_data_must_be_the_runs_own(runs, tmp_path):
    from vaeviewer.training.runs import RunViewer

    other = tmp_path / "other.npy"
    np.save(other, np.random.default_rng(7).random((50, 16, 20)).astype(np.float32))
    with pytest.raises(VaeViewerError, match=r"not the run's data: its sequences have \[50\] frames, the run trained on "
                                             r"\[80, 80\]"):
        RunViewer(runs["conv2d"], data_paths=[str(other)]).run()
