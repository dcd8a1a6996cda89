"""`vaeviewer train` on files: the load reports to the console bar that `inspect` uses."""

import io
import json

import numpy as np

from vaeviewer import cli
from vaeviewer.data.sources import Sequence


class Tty(io.StringIO):
    def isatty(self):
        return True


def test_train_loads_files_with_the_console_bar_and_hands_them_to_the_session(tmp_path, monkeypatch, capsys):
    import vaeviewer.data.sources as sources
    import vaeviewer.training.progress as progress
    import vaeviewer.training.session as session

    terminal = Tty()

    class Bar(progress.LoadProgress):
        def __init__(self):
            super().__init__(stream=terminal, after_s=0.0)

    loaded = [Sequence("clip", np.zeros((40, 16, 20), np.uint8))]

    def load(paths, frame_size=None, progress=None):
        assert isinstance(progress, Bar) and frame_size == (16, 20)
        progress(20, 40)
        progress(40, 40)
        return loaded

    given = {}

    class Session:
        def __init__(self, config, listener, resume=False, sequences=None, strategy=None):
            given.update(config=config, sequences=sequences, resume=resume)

        def run(self):
            return {"variant": "conv2d", "replicas": 1}

    monkeypatch.setattr(progress, "LoadProgress", Bar)
    monkeypatch.setattr(sources, "load_sequences", load)
    monkeypatch.setattr(session, "TrainingSession", Session)
    clip = tmp_path / "clip.npy"
    np.save(clip, np.zeros((40, 16, 20), np.uint8))
    out = tmp_path / "run"
    assert cli.main(["train", str(clip), "--frame-size", "16x20", "--out", str(out), "--json"]) == 0
    assert given["sequences"] is loaded and not given["resume"]
    assert "20/40 frames" in terminal.getvalue() and "40/40 frames" in terminal.getvalue()
    assert terminal.getvalue().endswith("\n")                  # the bar's line is ended before the run prints
    assert out.is_dir()                                        # a bad --out would have failed before the load
    assert json.loads(capsys.readouterr().out) == {"variant": "conv2d", "replicas": 1, "workers": 1}
