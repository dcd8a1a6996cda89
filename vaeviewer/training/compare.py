"""`vaeviewer compare`: does seeing time help on this data? Train each variant the same way, one after another.

Every row trains one variant (conv2d, conv3d, convlstm, stateful convlstm; window variants once
per window size) on the same loaded sequences, with the same split, seed and budget (epochs, or
seconds of training), through the same `TrainingSession` that `vaeviewer train` uses. After each
row the results so far are written (compare.json, compare.csv, compare.png), so an interrupted
comparison keeps its finished rows.

The work is split by job; this module gathers the public names, so callers import them from here:
- `compare_rows`: the plan (rows, their settings) and the checks that refuse a misfit before training;
- `compare_run`: training the rows, the seconds budget, each row's result;
- `compare_output`: compare.json, compare.csv, the printed table and its verdict cell;
- `compare_png`: compare.png, drawn with Pillow (no Qt, no matplotlib).
"""

from __future__ import annotations

from vaeviewer.training.compare_output import (TABLE_COLUMNS, draw_png, plot_series, row_label, rows_json,
                                               table_header, table_row, verdict_cell, write_outputs)
from vaeviewer.training.compare_rows import (BUDGET_EPOCHS, ROW_KEYS, ROW_VARIANTS, PlannedRow, RowResult,
                                             check_rows, common_split, parse_variants, parse_windows, plan_rows)
from vaeviewer.training.compare_run import row_from_summary, row_none, run_compare, train_row

__all__ = ["BUDGET_EPOCHS", "ROW_KEYS", "ROW_VARIANTS", "TABLE_COLUMNS", "PlannedRow", "RowResult", "check_rows",
           "common_split", "draw_png", "parse_variants", "parse_windows", "plan_rows", "plot_series",
           "row_from_summary", "row_label", "row_none", "rows_json", "run_compare", "table_header", "table_row",
           "train_row", "verdict_cell", "write_outputs"]
