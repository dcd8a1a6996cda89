"""The model layer: the VAE base, the three variant builders, inference helpers, save/load."""

from vaeviewer.models.base import VAE, Sampling
from vaeviewer.models.builders import build_from_config, build_vae
from vaeviewer.models.inference import (
    encode,
    encode_sequence_stateful,
    inference_twin,
    kl_per_dim,
    reconstruct,
    reset_states,
)
from vaeviewer.models.io import load_model, save_model
from vaeviewer.models.precision import apply_precision, device_description, resolve_precision

__all__ = [
    "VAE",
    "Sampling",
    "apply_precision",
    "build_from_config",
    "build_vae",
    "device_description",
    "encode",
    "encode_sequence_stateful",
    "inference_twin",
    "kl_per_dim",
    "load_model",
    "reconstruct",
    "reset_states",
    "resolve_precision",
    "save_model",
]
