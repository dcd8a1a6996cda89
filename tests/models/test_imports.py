from tests.test_layers import headless_import_report


def test_models_import_without_qt():
    # `import vaeviewer.models` alone in a fresh interpreter: the same subprocess as
    # tests/test_layers.py's headless check (one TensorFlow import for both), looked at before it
    # imports anything else.
    out = headless_import_report()
    assert out["returncode"] == 0, out["stderr"][-2000:]
    assert not any(m.startswith(("PyQt", "pyqtgraph")) for m in out["models"]), out["models"]
