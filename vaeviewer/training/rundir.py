"""The run directory: config.json, history.jsonl, last.keras, best.keras — all written atomically."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from vaeviewer.atomic import atomic_write_text
from vaeviewer.config import RunConfig
from vaeviewer.errors import VaeViewerError

CONFIG = "config.json"
HISTORY = "history.jsonl"
LAST = "last.keras"
BEST = "best.keras"


def _clean(value: Any) -> Any:
    """JSON has no NaN/inf: write them as null so the history stays valid JSON lines."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class RunDirectory:
    """One training run on disk. Every write replaces a whole file atomically."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def prepare(self) -> None:
        """Create the folder; refuse a path that exists as a file or cannot be written."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise VaeViewerError(f"{self.path}: cannot create the run directory ({exc.strerror})") from None
        if not self.path.is_dir():
            raise VaeViewerError(f"{self.path}: exists and is not a directory; choose another --out")

    def write_config(self, config: RunConfig) -> None:
        atomic_write_text(self.path / CONFIG, config.to_json())

    def read_config(self) -> RunConfig:
        file = self.path / CONFIG
        if not file.is_file():
            raise VaeViewerError(f"{self.path}: not a vaeviewer run directory (no {CONFIG}); nothing to resume")
        try:
            return RunConfig.load(file).validate()
        except VaeViewerError as exc:
            if str(file) in str(exc):
                raise
            raise VaeViewerError(f"{file}: {exc}") from None

    def write_history(self, rows: list[dict[str, Any]]) -> None:
        text = "".join(json.dumps({k: _clean(v) for k, v in row.items()}) + "\n" for row in rows)
        atomic_write_text(self.path / HISTORY, text)

    def read_history(self) -> list[dict[str, Any]]:
        file = self.path / HISTORY
        if not file.exists():
            return []
        rows = []
        for n, line in enumerate(file.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                raise VaeViewerError(f"{file}: line {n} is not valid JSON; the history is damaged") from None
        return rows

    @property
    def last_model(self) -> Path:
        return self.path / LAST

    @property
    def best_model(self) -> Path:
        return self.path / BEST
