"""`vaeviewer compare`: every listed variant on the same data, split, seed and budget; a table as rows finish."""

from __future__ import annotations

import argparse
import json
import sys

from vaeviewer.config import config_from_args
from vaeviewer.errors import VaeViewerError


def cmd_compare(a: argparse.Namespace) -> int:
    """`vaeviewer compare`: every listed variant on the same data, split, seed and budget."""
    from vaeviewer.training import compare

    changes = {}
    if getattr(a, "demo_frames", None) is not None:
        changes["demo_frames"] = a.demo_frames
    if a.budget_seconds is not None:
        if not (a.budget_seconds > 0 and a.budget_seconds < 1e7):
            raise VaeViewerError(f"--budget-seconds {a.budget_seconds:g}: must be a number of seconds above 0")
        changes["epochs"] = compare.BUDGET_EPOCHS
    # The training flags given (compare's parser leaves out those not typed), as `train` reads them.
    base = config_from_args(a, **changes)
    variants = compare.parse_variants(a.variants)
    windows = compare.parse_windows(a.windows, base.window)
    rows = compare.plan_rows(base, variants, windows)
    _refuse_finished_output(a.out, rows)
    from vaeviewer.training.prepare import load_run_sequences

    sequences = load_run_sequences(base)
    split = compare.common_split(rows, sequences)
    if split is not None:   # "auto": one split for every row, the one the widest window fits
        rows = [compare.PlannedRow(r.name, r.variant, r.config.replace(split=split)) for r in rows]
    # Without --batch-size, a stateful row too large for the data takes the largest batch it holds.
    notes = compare.check_rows(rows, sequences, fit_stateful_batch=not hasattr(a, "batch_size"))

    table = sys.stderr if a.json else sys.stdout
    for note in notes:
        print(f"compare: {note}", file=table, flush=True)
    budget = f"{a.budget_seconds:g} s of training" if a.budget_seconds is not None else \
        f"{base.epochs} epoch{'s' if base.epochs != 1 else ''}"
    print(f"compare: {len(rows)} row{'s' if len(rows) != 1 else ''} on the same data, split, seed {base.seed} and budget ({budget}); "
          "vs PCA: val MSE against per-frame PCA's; vs eq-budget: against PCA with the same numbers per window",
          file=table, flush=True)
    print(compare.table_header(), file=table, flush=True)
    results: list = []
    current: list = []

    def on_row(result) -> None:
        results.append(result)
        print(compare.table_row(result.row), file=table, flush=True)

    try:
        compare.run_compare(rows, sequences, out=a.out, budget_seconds=a.budget_seconds, on_row=on_row,
                            on_session=current.append)
    except KeyboardInterrupt:
        if current:
            current[-1].stop()
        kept = f"; {a.out} holds them" if a.out and results else ""
        print(f"vaeviewer: interrupted: kept the {len(results)} finished row{'s' if len(results) != 1 else ''}{kept}",
              file=sys.stderr)
        if a.json:
            print(json.dumps(compare.rows_json(results)))
        return 130
    if a.out:
        print(f"wrote {a.out}/compare.json, compare.csv, compare.png and one run directory per row", file=table)
    if a.json:
        print(json.dumps(compare.rows_json(results)))
    return 0


def _refuse_finished_output(out, rows) -> None:
    """Refuse an --out that already holds a comparison (compare.json) or a row's run, before anything trains.

    Raises:
        VaeViewerError: naming the file or run directory that would be overwritten.
    """
    if not out:
        return
    import os

    from vaeviewer.training.rundir import CONFIG, RunDirectory

    table = os.path.join(out, "compare.json")
    if os.path.isfile(table):
        raise VaeViewerError(f"{out} already holds a comparison ({table}); pick another --out")
    for r in rows:
        if r.config.out and RunDirectory(r.config.out).holds_run():
            raise VaeViewerError(f"{r.config.out} (row {r.name}) already holds a run ({CONFIG}); "
                                 "pick another --out")
