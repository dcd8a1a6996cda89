import subprocess
import sys


def test_models_import_without_qt():
    code = "import sys, vaeviewer.models; print(any(m.startswith(('PyQt', 'pyqtgraph')) for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("False")
