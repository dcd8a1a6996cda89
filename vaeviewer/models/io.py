"""Save and load VAEs in the `.keras` format, atomically and safely.

A `.keras` file is a zip holding config.json (the architecture) and the weights. Loading runs
`keras.models.load_model(..., safe_mode=True)` with only our registered classes as custom objects,
after checking config.json ourselves: a file naming a `Lambda` layer, a Python function, or any
class that is neither a Keras builtin nor one of vaeviewer's is refused with a VaeViewerError
before anything in it is deserialized.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import keras

from vaeviewer.atomic import plain_file_mode
from vaeviewer.errors import VaeViewerError
from vaeviewer.models.base import VAE, Sampling
from vaeviewer.models.layers import (
    FoldTime,
    FrameBias,
    FrameNorm,
    MirroredDense,
    SubPixelConvTranspose,
    UnfoldTime,
    ZeroPadEnd,
)

CUSTOM_OBJECTS = {
    "vaeviewer>VAE": VAE,
    "vaeviewer>Sampling": Sampling,
    "vaeviewer>SubPixelConvTranspose": SubPixelConvTranspose,
    "vaeviewer>ZeroPadEnd": ZeroPadEnd,
    "vaeviewer>MirroredDense": MirroredDense,
    "vaeviewer>FrameBias": FrameBias,
    "vaeviewer>FrameNorm": FrameNorm,
    "vaeviewer>FoldTime": FoldTime,
    "vaeviewer>UnfoldTime": UnfoldTime,
}

# Serialization markers Keras writes for plain Python values (no code behind them).
_VALUE_MARKERS = {"__tuple__", "__numpy__", "__bytes__", "__ellipsis__", "__slice__", "__tensor__"}
_CODE_CLASSES = {"Lambda", "__lambda__", "function", "__function__"}


def save_model(model: keras.Model, path: str | os.PathLike) -> None:
    """Write `model` to `path` (.keras) atomically: a temp file in the same folder, then os.replace.

    A reader never sees a half-written file, and a failed save leaves any previous file intact.

    Raises:
        VaeViewerError: the path does not end in .keras, or the folder cannot be written.
    """
    target = Path(path)
    if target.suffix != ".keras":
        raise VaeViewerError(f"{target}: model files must end in .keras")
    folder = target.parent if str(target.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".tmp.keras", dir=folder)
    except OSError as exc:
        raise VaeViewerError(f"{target}: cannot write here ({exc.strerror})") from None
    os.close(fd)
    try:
        model.save(tmp_name)
        # mkstemp made the file private (0600); give it the mode the run's other files get.
        os.chmod(tmp_name, plain_file_mode())
        with open(tmp_name, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_name, target)
    except OSError as exc:
        raise VaeViewerError(f"{target}: cannot save the model ({exc.strerror})") from None
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)


def _unsafe_reason(node: Any) -> str | None:
    """Why a deserialized config must not be loaded, or None when everything in it is known."""
    if isinstance(node, list):
        for item in node:
            reason = _unsafe_reason(item)
            if reason:
                return reason
        return None
    if not isinstance(node, dict):
        return None
    class_name = node.get("class_name")
    if isinstance(class_name, str):
        module = node.get("module")
        registered = node.get("registered_name")
        if class_name in _CODE_CLASSES:
            return f"it holds a {class_name} layer, which would run arbitrary Python code"
        if isinstance(registered, str) and registered.startswith("vaeviewer>"):
            if registered not in CUSTOM_OBJECTS:
                return f"it names an unknown vaeviewer class {registered!r}"
            if module is not None and not (module == "vaeviewer" or str(module).startswith("vaeviewer.")):
                # Keras would take our class by its registered name; a file that also names
                # another module was not written by vaeviewer.
                return f"it names a class {class_name!r} from {module!r}, which is neither Keras nor vaeviewer"
        elif module is None:
            if class_name not in _VALUE_MARKERS and not class_name.startswith("__"):
                return f"it names a class {class_name!r} of unknown origin"
        elif not (module == "keras" or str(module).startswith("keras.")):
            return f"it names a class {class_name!r} from {module!r}, which is neither Keras nor vaeviewer"
    for value in node.values():
        reason = _unsafe_reason(value)
        if reason:
            return reason
    return None


def _read_config(target: Path) -> dict[str, Any]:
    try:
        with zipfile.ZipFile(target) as archive:
            bad = archive.testzip()
            if bad is not None:
                raise VaeViewerError(f"{target}: the file is corrupt ({bad} fails its checksum)")
            names = set(archive.namelist())
            if "config.json" not in names:
                raise VaeViewerError(f"{target}: not a Keras model file (no config.json inside)")
            return json.loads(archive.read("config.json"))
    except VaeViewerError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, UnicodeDecodeError):
        raise VaeViewerError(f"{target}: the file is corrupt or truncated (not a readable .keras archive)") from None


def load_model(path: str | os.PathLike) -> VAE:
    """Load a VAE saved by `save_model`, refusing anything that could run code.

    Raises:
        VaeViewerError: the file is missing, unreadable, corrupt or truncated, holds a Lambda or
            a class that is not Keras' or ours, or is not a vaeviewer VAE.
    """
    target = Path(path)
    if not target.exists():
        raise VaeViewerError(f"{target}: no such model file")
    if not target.is_file():
        raise VaeViewerError(f"{target}: not a file")
    if not zipfile.is_zipfile(target):
        raise VaeViewerError(f"{target}: not a .keras model file (corrupt, truncated, or another format)")
    config = _read_config(target)
    reason = _unsafe_reason(config)
    if reason:
        raise VaeViewerError(f"{target}: refused to load: {reason}")
    if config.get("registered_name") != "vaeviewer>VAE":
        raise VaeViewerError(f"{target}: not a vaeviewer VAE (it holds a {config.get('class_name')!r})")
    # load_model insists on the extension; a copy renamed by a user is still a valid archive.
    load_path = target
    tmp_name = None
    if target.suffix != ".keras":
        fd, tmp_name = tempfile.mkstemp(suffix=".keras")
        os.close(fd)
        with open(target, "rb") as src, open(tmp_name, "wb") as dst:
            dst.write(src.read())
        load_path = Path(tmp_name)
    try:
        model = keras.models.load_model(load_path, custom_objects=CUSTOM_OBJECTS, compile=True, safe_mode=True)
    except VaeViewerError:
        raise
    except Exception as exc:  # Keras raises many types for bad files; all are the user's file
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise VaeViewerError(f"{target}: cannot load the model ({message[:300]})") from None
    finally:
        if tmp_name and os.path.exists(tmp_name):
            os.unlink(tmp_name)
    if not isinstance(model, VAE):
        raise VaeViewerError(f"{target}: not a vaeviewer VAE")
    return model
