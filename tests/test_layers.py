"""Dependencies point one way: nothing outside vaeviewer/gui imports Qt or pyqtgraph."""

import subprocess
import sys

HEADLESS = [
    "vaeviewer.config", "vaeviewer.cli", "vaeviewer.benchmarks", "vaeviewer.benchmarks.clock", "vaeviewer.data.sources", "vaeviewer.data.demo",
    "vaeviewer.data.windows", "vaeviewer.data.inspect", "vaeviewer.models.builders", "vaeviewer.models.io",
    "vaeviewer.training.session", "vaeviewer.benchmarks.training", "vaeviewer.benchmarks.data",
    "vaeviewer.training.inspector", "vaeviewer.training.runs", "vaeviewer.training.export", "vaeviewer.training.progress",
]


def test_headless_packages_load_no_qt():
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in HEADLESS)
        + "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('PyQt6', 'PyQt5', 'PySide6', 'pyqtgraph', 'superqt', 'qtpy'))\n"
        + "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"Qt modules loaded by headless code: {out.stdout.strip()}"


def test_cli_start_does_not_import_tensorflow():
    """`vaeviewer --help` and the GUI start must not wait for TensorFlow."""
    code = "import sys, vaeviewer.cli, vaeviewer.config; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False"
