"""A finished run, opened read-only: `open_run(dir)` for scripts, `RunViewer` for the app.

Nothing here writes into the run directory. `Run` and `open_run` are in
`vaeviewer.training.opened_run` (what the API does with frames is told there), the per-sequence
reconstruction in `vaeviewer.training.reconstruction`, `RunViewer` in `vaeviewer.training.run_viewer`.
"""

from vaeviewer.training.opened_run import Run, open_run
from vaeviewer.training.reconstruction import reconstruction_chunks
from vaeviewer.training.run_viewer import RunViewer

__all__ = ["Run", "RunViewer", "open_run", "reconstruction_chunks"]
