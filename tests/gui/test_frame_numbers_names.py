"""Frames are named as their source file numbers them (issue 13 §3): the helper and every view."""

import csv

import numpy as np

from vaeviewer.config import RunConfig
from vaeviewer.data.sources import Sequence
from vaeviewer.data.windows import split_sequences
from vaeviewer.gui import exports
from vaeviewer.gui.error_timeline import ErrorTimeline
from vaeviewer.gui.frame_names import FrameNames
from vaeviewer.gui.frame_strips import FrameStrips
from vaeviewer.gui.latent_scatter import LatentScatter
from vaeviewer.training import events as ev

from .gui_fakes import make_snapshot


def clip_started(n=400, window=10, names=("clip",), **config) -> ev.RunStarted:
    """RunStarted as the session builds it for sequences of `n` frames, time split 20%."""
    sequences = [Sequence(name, np.zeros((n, 4, 4), np.uint8), source_index=i) for i, name in enumerate(names)]
    train, valid = split_sequences(sequences, 0.2, "time", min_frames=window)
    parts = train + valid
    return ev.RunStarted(
        config=RunConfig(demo=True, window=window, **config).to_dict(), device="CPU", precision="float32",
        n_sequences=len(sequences), frame_shape=(4, 4), n_train=1, n_valid=1, steps_per_epoch=1, epochs=1,
        train_lengths=[len(s) for s in train], valid_lengths=[len(s) for s in valid],
        train_offsets=[s.offset for s in train], valid_offsets=[s.offset for s in valid],
        train_sources=[s.source_index for s in train], valid_sources=[s.source_index for s in valid],
        source_names=[s.name for s in sequences],
        source_lengths=[max(p.offset + len(p) for p in parts if p.source_index == s.source_index) for s in sequences])


def test_helper_maps_split_frames_to_file_frames():
    names = FrameNames.from_started(clip_started())
    # the validation part of a 400-frame clip is its last 80 frames: frame 71 of it is 391 of the file
    assert names.in_file("valid", 0, 71) == 391
    assert names.in_file("train", 0, 71) == 71
    assert names.describe("valid", 0, 71) == "valid · clip frame 391 of 400"
    assert names.describe("valid", 0, 70, 10) == "valid · clip frames 390–399 of 400"
    assert list(names.in_file("valid", np.array([0, 0]), np.array([0, 5]))) == [320, 325]
    # several files: each part knows its own file
    two = FrameNames.from_started(clip_started(n=100, names=("a", "b")))
    assert two.describe("valid", 1, 0) == "valid · b frame 80 of 100"
    assert list(two.in_file("valid", np.array([0, 1]), np.array([3, 4]))) == [83, 84]


def test_helper_without_source_fields_keeps_part_numbers():
    """An old RunStarted (no source fields): numbers within the part, said to be so."""
    names = FrameNames.from_started(ev.RunStarted({}, "CPU", "float32", 1, (4, 4), 1, 1, 1, 1, [10], [10]))
    assert names.in_file("valid", 0, 7) == 7
    assert names.describe("valid", 0, 7, 3) == "valid · sequence 0 frames 7–9"
    assert list(names.in_file("valid", np.array([0]), np.array([7]))) == [7]


def test_strips_timeline_scatter_and_csv_name_file_frames(qtbot, tmp_path):
    started = clip_started(window=10)
    names = FrameNames.from_started(started)
    strips = FrameStrips()
    qtbot.addWidget(strips)
    strips.set_lengths(started.train_lengths, started.valid_lengths, 10)
    strips.set_frame_names(names)
    strips.show_snapshot(make_snapshot("valid", 0, 70, t=10, with_latents=False))
    assert strips.info.text().startswith("valid · clip frames 390–399 of 400")
    assert [label.toPlainText() for label in strips.column_labels[:10]] == [str(f) for f in range(390, 400)]
    dialog = strips.enlarge(1)
    assert dialog.windowTitle() == "valid · clip frame 391 of 400"
    dialog.close()
    # the slider counts the file's frames too; requests still name the part's frame
    assert strips.slider.value() == 390 and (strips.slider.minimum(), strips.slider.maximum()) == (320, 390)
    with qtbot.waitSignal(strips.windowRequested, timeout=2000) as sig:
        strips.select("valid", 0, 61)
    assert sig.args == ["valid", 0, 61] and strips.slider.value() == 381
    with qtbot.waitSignal(strips.windowRequested, timeout=2000) as sig:
        strips.slider.setValue(330)
    assert sig.args == ["valid", 0, 10]
    with qtbot.waitSignal(strips.windowRequested, timeout=2000) as sig:
        strips.split.setCurrentText("train")         # the training part starts at the file's frame 0
    assert sig.args == ["train", 0, 10] and strips.slider.value() == 10

    snap = make_snapshot("valid", 0, 70, t=10, lengths=(80,), n_latents=40)
    snap.timeline_error = np.full(80, 0.01, np.float32)
    snap.timeline_error[71] = 0.5
    timeline = ErrorTimeline()
    qtbot.addWidget(timeline)
    timeline.set_frame_names(names)
    timeline.set_snapshot(snap)
    assert "worst 0.5 at valid · clip frame 391 of 400" in timeline.info.text()
    assert timeline.curve.getData()[0][0] == 320       # one sequence: x is the file's frame number
    assert timeline.position_to_frame(391) == (0, 71)  # a click still asks for the part's frame
    assert "frame in clip" in timeline.plot.getAxis("bottom").labelText

    scatter = LatentScatter()
    qtbot.addWidget(scatter)
    scatter.set_window(10)
    scatter.set_frame_names(names)
    scatter.set_snapshot(snap)
    i = 3
    first = 320 + int(snap.latent_frame[i])
    assert scatter._tip(0, 0, i) == f"valid · clip frames {first}–{first + 9} of 400"
    assert scatter.colour_bar.levels()[0] == 320 + snap.latent_frame.min()

    path = tmp_path / "z.csv"
    exports.write_latents_csv(path, "valid", snap.latent_sequence, snap.latent_frame, snap.latents, names=names)
    rows = list(csv.DictReader(path.open()))
    assert rows[i]["frame_in_split"] == str(snap.latent_frame[i])
    assert rows[i]["source"] == "clip" and rows[i]["frame_in_source"] == str(320 + snap.latent_frame[i])


def test_timeline_of_several_files_labels_ticks_with_file_frames(qtbot):
    names = FrameNames.from_started(clip_started(n=100, names=("a", "b")))
    timeline = ErrorTimeline()
    qtbot.addWidget(timeline)
    timeline.set_frame_names(names)
    snap = make_snapshot("valid", 1, 0, t=10, lengths=(20, 20))
    timeline.set_snapshot(snap)
    assert timeline.axis.labeler(25.0) == "85"          # position 25 = frame 5 of b's part = 85 of b
    assert timeline.position_to_frame(25) == (1, 5)
    assert timeline.describe(25) == "valid · b frame 85 of 100"


def test_session_run_started_carries_the_source_map(tiny_run):
    """The real session fills the new RunStarted fields from its split parts (demo: 2 x 80 frames)."""
    events = tiny_run.events   # a finished default tiny run (tests/conftest.py), shared with other files
    started = next(e for e in events if isinstance(e, ev.RunStarted))
    assert started.train_offsets == [0, 0] and started.valid_offsets == [60, 60]
    assert started.valid_sources == [0, 1] and started.source_lengths == [80, 80]
    assert len(started.source_names) == 2 and all(started.source_names)
    name = started.source_names[1]
    assert FrameNames.from_started(started).describe("valid", 1, 5) == f"valid · {name} frame 65 of 80"
