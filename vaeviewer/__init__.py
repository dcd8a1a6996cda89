"""vaeviewer: train and inspect variational autoencoders on image sequences."""

__version__ = "0.1.0"


def open_run(path):
    """Open a finished run directory read-only: `run.encode(frames)`, `run.decode(z)`,
    `run.reconstruct(frames)`, `run.frame_errors(frames)` (see vaeviewer.training.runs)."""
    from vaeviewer.training.runs import open_run as _open_run

    return _open_run(path)
