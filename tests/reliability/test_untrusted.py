"""Untrusted files: model files someone sent, tampered run directories, and no pickle anywhere.

Model files are loaded by vaeviewer.models.io.load_model (config.json checked first, then Keras
safe mode with only our classes). Nothing that could run code may load; every refusal is a
VaeViewerError naming the file.
"""

from __future__ import annotations

import ast
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import tiny_config
from tests.reliability.clirun import assert_user_error, vaeviewer_batch
from vaeviewer.errors import VaeViewerError

PACKAGE = Path(__file__).resolve().parents[2] / "vaeviewer"


@pytest.fixture(scope="module")
def good_keras(tmp_path_factory) -> Path:
    """A real, tiny vaeviewer VAE saved with save_model."""
    from vaeviewer.models import builders
    from vaeviewer.models.io import save_model

    model = builders.build_from_config(tiny_config(), (16, 20))
    path = tmp_path_factory.mktemp("models") / "good.keras"
    save_model(model, path)
    return path


def rewrite_config(src: Path, dst: Path, change) -> Path:
    """Copy a .keras archive, passing its config.json through `change(dict) -> dict`."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "config.json":
                data = json.dumps(change(json.loads(data))).encode()
            zout.writestr(info, data)
    return dst


def find_layers(config: dict) -> list:
    """The layer list of the first functional sub-model (the encoder)."""
    stack = [config]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("layers"), list) and node["layers"]:
                return node["layers"]
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    raise AssertionError("no layers found")


def expect_refusal(path: Path, *words: str) -> str:
    from vaeviewer.models.io import load_model

    with pytest.raises(VaeViewerError) as info:
        load_model(path)
    msg = str(info.value)
    assert path.name in msg and "\n" not in msg, msg
    for word in words:
        assert word.lower() in msg.lower(), f"{word!r} not in {msg!r}"
    return msg


def test_the_good_file_loads(good_keras):
    from vaeviewer.models.io import load_model

    assert load_model(good_keras) is not None


def test_a_keras_model_with_a_lambda_layer_is_refused(tmp_path):
    import keras

    inp = keras.Input((4,))
    out = keras.layers.Lambda(lambda x: x * 2, name="evil")(inp)
    path = tmp_path / "lambda.keras"
    keras.Model(inp, out).save(path)
    expect_refusal(path, "refused", "Lambda")


def test_a_lambda_hidden_inside_our_vae_is_refused(good_keras, tmp_path):
    def add_lambda(cfg):
        layers = find_layers(cfg)
        layers.append({"module": "keras.layers", "class_name": "Lambda", "name": "evil",
                       "config": {"name": "evil", "function": {"class_name": "__lambda__",
                                                              "config": {"code": "ZXZpbA=="}}}})
        return cfg

    expect_refusal(rewrite_config(good_keras, tmp_path / "tampered.keras", add_lambda), "Lambda")


def test_a_custom_class_that_is_not_ours_is_refused(tmp_path):
    import keras

    @keras.saving.register_keras_serializable(package="elsewhere")
    class Doubler(keras.layers.Layer):
        def call(self, x):
            return x * 2

    inp = keras.Input((4,))
    path = tmp_path / "custom.keras"
    keras.Model(inp, Doubler()(inp)).save(path)
    expect_refusal(path, "refused", "Doubler")


@pytest.mark.parametrize("module, class_name", [("os", "system"), ("builtins", "eval"), ("keras_evil", "Dense"),
                                                (None, "Mystery"), ("vaeviewer.models.base", "NotAClass")])
def test_a_class_from_an_unknown_module_is_refused(good_keras, tmp_path, module, class_name):
    def add(cfg):
        find_layers(cfg).append({"module": module, "class_name": class_name, "config": {}, "name": "x"})
        return cfg

    expect_refusal(rewrite_config(good_keras, tmp_path / "unknown.keras", add), "refused")


def test_an_unknown_vaeviewer_class_is_refused(good_keras, tmp_path):
    def add(cfg):
        find_layers(cfg).append({"module": "vaeviewer.models", "class_name": "Backdoor",
                                 "registered_name": "vaeviewer>Backdoor", "config": {}})
        return cfg

    expect_refusal(rewrite_config(good_keras, tmp_path / "backdoor.keras", add), "vaeviewer>Backdoor")


def test_a_plain_keras_model_is_not_a_vae(tmp_path):
    import keras

    inp = keras.Input((4,))
    path = tmp_path / "dense.keras"
    keras.Model(inp, keras.layers.Dense(2)(inp)).save(path)
    expect_refusal(path, "not a vaeviewer VAE")


@pytest.mark.parametrize("what", ["zip_without_config", "random_bytes", "empty", "truncated", "config_not_json",
                                  "wrong_weights"])
def test_files_that_are_not_keras_models(good_keras, tmp_path, what):
    path = tmp_path / f"{what}.keras"
    if what == "zip_without_config":
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("readme.txt", "hello")
    elif what == "random_bytes":
        path.write_bytes(np.random.default_rng(0).bytes(3000))
    elif what == "empty":
        path.write_bytes(b"")
    elif what == "truncated":
        data = good_keras.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif what == "config_not_json":
        with zipfile.ZipFile(good_keras) as zin, zipfile.ZipFile(path, "w") as zout:
            for info in zin.infolist():
                zout.writestr(info, b"{{{ not json" if info.filename == "config.json" else zin.read(info.filename))
    elif what == "wrong_weights":
        from vaeviewer.models import builders

        other = builders.build_from_config(tiny_config(latent_dim=3), (16, 20))
        other_path = tmp_path / "other.keras"
        other.save(other_path)
        with zipfile.ZipFile(good_keras) as za, zipfile.ZipFile(other_path) as zb, zipfile.ZipFile(path, "w") as zout:
            for info in za.infolist():
                src = zb if info.filename.endswith(".h5") else za
                zout.writestr(info.filename, src.read(info.filename))
    expect_refusal(path)


def test_a_missing_model_file_and_a_folder(tmp_path):
    expect_refusal(tmp_path / "absent.keras", "no such")
    (tmp_path / "dir.keras").mkdir()
    expect_refusal(tmp_path / "dir.keras", "not a file")


# ---- tampered run directories through the CLI --------------------------------------------------
# The three kinds of tampering below go through `vaeviewer train --resume RUN` all in one process
# (clirun.vaeviewer_batch), each call with its own exit status and stderr.

TAMPERED_CONFIGS = [
    ('{"demo": true, "evil": "__import__(\'os\')"}', "evil"),
    ('{"demo": true, "window": "10"}', "window"),
    ('{"demo": true, "variant": {"class_name": "Lambda"}}', "variant"),
    ("[1, 2, 3]", "JSON object"),
    ("not json at all", "not valid JSON"),
]


def make_run_dir(tmp_path: Path, config_text: str | None = None) -> Path:
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(config_text if config_text is not None else tiny_config().to_json())
    return run


@pytest.fixture(scope="module")
def resumed(tmp_path_factory):
    """{case: (run directory, the result of `vaeviewer train --resume` on it)}; "lambda" also has the marker
    file that the Lambda's code would create if it ever ran."""
    import keras

    root = tmp_path_factory.mktemp("tampered-runs")
    runs = {}
    for i, (config_text, _) in enumerate(TAMPERED_CONFIGS):
        (root / f"config{i}").mkdir()
        runs["config", config_text] = make_run_dir(root / f"config{i}", config_text)
    (root / "history").mkdir()
    runs["history"] = run = make_run_dir(root / "history")
    (run / "history.jsonl").write_text('{"epoch": 0}\nnot json\n')
    (root / "lambda").mkdir()
    runs["lambda"] = run = make_run_dir(root / "lambda", tiny_config(epochs=2).to_json())
    marker = root / "lambda" / "pwned"
    inp = keras.Input((4,))
    # would create `marker` if the Lambda's code ever ran
    out = keras.layers.Lambda(lambda x, m=str(marker): (open(m, "w").close(), x)[1])(inp)
    keras.Model(inp, out).save(run / "last.keras")
    marker.unlink(missing_ok=True)
    results = vaeviewer_batch([["train", "--resume", run] for run in runs.values()], timeout=600)
    found = {key: (run, r) for (key, run), r in zip(runs.items(), results)}
    found["lambda-marker"] = marker
    return found


@pytest.mark.parametrize("config_text, words", TAMPERED_CONFIGS)
def test_resume_refuses_a_tampered_config(resumed, config_text, words):
    assert_user_error(resumed["config", config_text][1], "config.json", words)


def test_resume_refuses_a_tampered_history(resumed):
    assert_user_error(resumed["history"][1], "history.jsonl", "line 2")


def test_resume_refuses_a_last_keras_with_a_lambda(resumed):
    """End to end: a run directory whose last.keras holds a Lambda is refused, nothing runs."""
    assert_user_error(resumed["lambda"][1], "last.keras", "refused", "Lambda")
    assert not resumed["lambda-marker"].exists()


# ---- no pickle, eval, exec or unsafe deserialization in the code base ---------------------------

FORBIDDEN_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "joblib", "marshal", "shelve"}
FORBIDDEN_CALLS = {"eval", "exec", "__import__"}


def python_files() -> list[Path]:
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 20
    return files


def test_no_pickle_eval_exec_or_unsafe_loading_in_vaeviewer():
    problems = []
    for file in python_files():
        tree = ast.parse(file.read_text(), str(file))
        where = lambda node: f"{file.relative_to(PACKAGE.parent)}:{node.lineno}"  # noqa: E731
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                problems += [f"{where(node)} imports {a.name}" for a in node.names
                             if a.name.split(".")[0] in FORBIDDEN_MODULES]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in FORBIDDEN_MODULES:
                problems.append(f"{where(node)} imports from {node.module}")
            elif isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_MODULES | {"enable_unsafe_deserialization"}:
                problems.append(f"{where(node)} uses .{node.attr}")
            elif isinstance(node, ast.Call):
                name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
                # the builtins only: QApplication.exec() and QDialog.exec() are Qt event loops
                builtin = isinstance(node.func, ast.Name) or (
                    isinstance(node.func, ast.Attribute) and getattr(node.func.value, "id", "") == "builtins")
                if name in FORBIDDEN_CALLS and builtin:
                    problems.append(f"{where(node)} calls {name}()")
                for kw in node.keywords:
                    if kw.arg == "allow_pickle" and not (isinstance(kw.value, ast.Constant) and kw.value.value is False):
                        problems.append(f"{where(node)} passes allow_pickle other than False")
                    if kw.arg == "safe_mode" and not (isinstance(kw.value, ast.Constant) and kw.value.value is True):
                        problems.append(f"{where(node)} passes safe_mode other than True")
                if name == "load" and isinstance(node.func, ast.Attribute) and getattr(node.func.value, "id", "") == "np":
                    if not any(kw.arg == "allow_pickle" for kw in node.keywords):
                        problems.append(f"{where(node)} calls np.load without allow_pickle=False")
                if name == "load_model" and isinstance(node.func, ast.Attribute):
                    if not any(kw.arg == "safe_mode" for kw in node.keywords):
                        problems.append(f"{where(node)} calls {ast.unparse(node.func)} without safe_mode=True")
    assert not problems, "\n".join(problems)


def test_the_scan_would_catch_each_forbidden_use(tmp_path):
    """The AST scan above is only as good as its patterns: show that each one fires."""
    samples = ["import pickle", "from dill import loads", "x = eval('1')", "exec('pass')",
               "np.load(f, allow_pickle=True)", "np.load(f)", "keras.models.load_model(p, safe_mode=False)",
               "keras.models.load_model(p)", "keras.config.enable_unsafe_deserialization()"]
    for src in samples:
        tree = ast.parse(src)
        hit = False
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                hit = True
            elif isinstance(node, ast.Attribute) and node.attr == "enable_unsafe_deserialization":
                hit = True
            elif isinstance(node, ast.Call):
                name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
                hit |= name in FORBIDDEN_CALLS or name in ("load", "load_model")
        assert hit, src
