"""Checkpoints saved before vaeviewer's layers moved out of models/layers.py still load and compute the same.

tests/models/data/pre_split_*.keras were saved with `models.io.save_model` when every custom layer
lived in vaeviewer.models.layers (their config.json names that module); the layers are found by
their registered names ("vaeviewer>ClassName"), which moving them must not change. Made with
the fast (bfloat16-form) decoder forced on, built at float32, so that every registered layer is in
one of the two: conv3d (ZeroPadEnd, MirroredDense) and convlstm (FoldTime, UnfoldTime); both
have FrameNorm, FrameBias, SubPixelConvTranspose and the VAE. The zips were re-packed with
deflate (same entries, byte for byte) to keep them small. `*_io.npz`: an input and the
reconstruction the model gave before it was saved.
"""

import json
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest

from vaeviewer.models import io
from vaeviewer.models.io import load_model

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize("name", ["conv3d", "convlstm"])
def test_a_checkpoint_saved_before_the_split_loads_and_computes_the_same(name):
    path = DATA / f"pre_split_{name}.keras"
    saved = json.loads(zipfile.ZipFile(path).read("config.json"))
    assert '"module": "vaeviewer.models.layers"' in json.dumps(saved)   # written before the move
    model = load_model(path)
    assert model.variant == name
    io_pair = np.load(DATA / f"pre_split_{name}_io.npz")
    got = model.encode_decode(io_pair["x"])[1].numpy()
    np.testing.assert_allclose(got, io_pair["y"], atol=1e-6)


def test_every_custom_class_keeps_its_registered_name():
    for registered, cls in io.CUSTOM_OBJECTS.items():
        assert keras.saving.get_registered_name(cls) == registered == f"vaeviewer>{cls.__name__}"
        assert keras.saving.get_registered_object(registered) is cls
