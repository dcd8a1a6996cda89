"""Dependencies point one way: nothing outside vaeviewer/gui imports Qt or pyqtgraph."""

import functools
import json
import subprocess
import sys

HEADLESS = [
    "vaeviewer.config", "vaeviewer.cli", "vaeviewer.benchmarks", "vaeviewer.benchmarks.clock", "vaeviewer.data.sources", "vaeviewer.data.demo",
    "vaeviewer.data.windows", "vaeviewer.data.inspect", "vaeviewer.models.builders", "vaeviewer.models.io",
    "vaeviewer.training.session", "vaeviewer.benchmarks.training", "vaeviewer.benchmarks.data",
    "vaeviewer.training.inspector", "vaeviewer.training.runs", "vaeviewer.training.export", "vaeviewer.training.progress",
    "vaeviewer.commands.parser", "vaeviewer.commands.train", "vaeviewer.commands.compare", "vaeviewer.models.inference",
    "vaeviewer.models.layers", "vaeviewer.training.run_viewer",
]


QT_PACKAGES = ('PyQt6', 'PyQt5', 'PySide6', 'pyqtgraph', 'superqt', 'qtpy')


@functools.lru_cache(maxsize=None)
def headless_import_report() -> dict:
    """One fresh interpreter (one TensorFlow import) for both Qt checks: the Qt modules loaded
    right after `import vaeviewer.models` alone (tests/models/test_imports.py), then after every
    HEADLESS module too (below). {"models": [...], "headless": [...], "returncode", "stderr"}."""
    code = (
        "import json, sys\n"
        f"def qt(): return sorted(m for m in sys.modules if m.split('.')[0] in {QT_PACKAGES!r} "
        "or m.startswith(('PyQt', 'pyqtgraph')))\n"
        "import vaeviewer.models\n"
        "models = qt()\n"
        + "".join(f"import {m}\n" for m in HEADLESS)
        + "print(json.dumps({'models': models, 'headless': qt()}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    lines = out.stdout.strip().splitlines()
    report = json.loads(lines[-1]) if out.returncode == 0 and lines else {}
    return {**report, "returncode": out.returncode, "stderr": out.stderr, "printed": lines[:-1]}


def test_headless_packages_load_no_qt():
    out = headless_import_report()
    assert out["returncode"] == 0, out["stderr"]
    assert not out["printed"], f"headless imports printed to stdout: {out['printed']}"
    bad = [m for m in out["headless"] if m.split('.')[0] in QT_PACKAGES]
    assert not bad, f"Qt modules loaded by headless code: {','.join(bad)}"


def test_cli_start_does_not_import_tensorflow():
    """`vaeviewer --help` and the GUI start must not wait for TensorFlow."""
    code = "import sys, vaeviewer.cli, vaeviewer.config; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False"
