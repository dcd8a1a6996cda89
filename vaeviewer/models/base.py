"""The VAE base shared by every variant: sampling, losses, KL warm-up, trackers, train/test steps.

Data convention: inputs are float32 in [0, 1]; conv2d models take (B, H, W, 1), windowed
models (conv3d, convlstm) take (B, T, H, W, 1).

The encoder is a Keras model ``x -> [z_mean, z_log_var]`` (both float32) and the decoder a
Keras model ``z -> reconstruction`` (sigmoid, float32). Under a mixed policy the convolutions
run in bfloat16/float16, but the sampling, the reconstruction loss and the KL are computed in
float32 here.
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf
from keras import ops

from vaeviewer.errors import VaeViewerError

LOSS_KINDS = ("mse", "bce")


@keras.saving.register_keras_serializable(package="vaeviewer")
class Sampling(keras.layers.Layer):
    """Draw z = z_mean + exp(z_log_var / 2) * eps with eps ~ N(0, 1), always in float32.

    A registered layer (never a `Lambda`) so that a saved model loads with safe_mode=True.
    """

    def __init__(self, seed: int | None = None, **kwargs: Any) -> None:
        kwargs["dtype"] = "float32"
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        z_mean = ops.cast(z_mean, "float32")
        z_log_var = ops.cast(z_log_var, "float32")
        eps = keras.random.normal(ops.shape(z_mean), dtype="float32", seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * eps

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["seed"] = self.seed
        return config


def reconstruction_terms(x, reconstruction, kind: str):
    """Per-sample reconstruction loss in float32, shape (B,).

    'mse': squared error summed over every pixel (= per-pixel MSE x H x W [x T], the scale of
    the original model); 'bce': binary cross-entropy summed over every pixel.
    """
    x = ops.cast(x, "float32")
    reconstruction = ops.cast(reconstruction, "float32")
    if kind == "mse":
        per_pixel = ops.square(x - reconstruction)
    else:
        eps = 1e-7
        p = ops.clip(reconstruction, eps, 1.0 - eps)
        per_pixel = -(x * ops.log(p) + (1.0 - x) * ops.log(1.0 - p))
    axes = tuple(range(1, len(per_pixel.shape)))
    return ops.sum(per_pixel, axis=axes)


def kl_terms(z_mean, z_log_var):
    """KL(q(z|x) || N(0, I)) per sample and latent dimension, float32, shape (B, K)."""
    z_mean = ops.cast(z_mean, "float32")
    z_log_var = ops.cast(z_log_var, "float32")
    return -0.5 * (1.0 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var))


@keras.saving.register_keras_serializable(package="vaeviewer")
class VAE(keras.Model):
    """A variational autoencoder over frames or windows of frames.

    Loss = reconstruction + beta * kl_weight * KL, averaged over the batch. `kl_weight` is a
    non-trainable float32 variable (1.0 by default) that a training loop may ramp from 0 to 1
    for KL warm-up: ``model.kl_weight.assign(epoch / warmup_epochs)``.

    `call(x)` is deterministic: it decodes z_mean. `train_step` / `test_step` return
    ``{"loss", "reconstruction", "kl"}`` (KL unweighted) from Mean trackers listed in `metrics`.

    Args:
        encoder: Keras model x -> [z_mean, z_log_var].
        decoder: Keras model z -> reconstruction with the shape of x.
        loss: 'mse' or 'bce'.
        beta: weight of the KL term.
        seed: seed of the sampling noise.
        spec: the builder arguments (variant, frame_shape, window, ...) that rebuild this
            architecture; used by `inference_twin` and shown by the GUI. Optional.
    """

    def __init__(
        self,
        encoder: keras.Model,
        decoder: keras.Model,
        loss: str = "mse",
        beta: float = 1.0,
        seed: int | None = None,
        spec: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if loss not in LOSS_KINDS:
            raise VaeViewerError(f"setting loss: {loss!r} is not one of {', '.join(LOSS_KINDS)}")
        self.encoder = encoder
        self.decoder = decoder
        self.loss_kind = loss
        self.beta = float(beta)
        self.seed = seed
        self.spec = dict(spec) if spec else {}
        self.sampling = Sampling(seed=seed, name="sampling")
        self.kl_weight = self.add_weight(
            shape=(),
            initializer="ones",
            trainable=False,
            dtype="float32",
            name="kl_weight",
        )
        self.total_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction")
        self.kl_tracker = keras.metrics.Mean(name="kl")

    # ---- description -------------------------------------------------------------------
    @property
    def variant(self) -> str | None:
        return self.spec.get("variant")

    @property
    def stateful(self) -> bool:
        return bool(self.spec.get("stateful", False))

    @property
    def input_batch_size(self) -> int | None:
        """The batch size fixed in the encoder's Input (stateful models), else None."""
        return self.encoder.inputs[0].shape[0]

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """The shape of one model input without the batch axis, e.g. (64, 80, 1)."""
        return tuple(self.encoder.inputs[0].shape[1:])

    @property
    def latent_dim(self) -> int:
        return int(self.encoder.outputs[0].shape[-1])

    # ---- the model ---------------------------------------------------------------------
    def build(self, input_shape=None):
        # The encoder and decoder arrive built (functional models); only the sampler is left.
        if not self.sampling.built:
            k = self.latent_dim
            self.sampling.build([(None, k), (None, k)])
        self.built = True

    @property
    def metrics(self):
        return [self.total_tracker, self.reconstruction_tracker, self.kl_tracker]

    def call(self, inputs, training=False):
        z_mean, _ = self.encoder(inputs, training=training)
        return ops.cast(self.decoder(z_mean, training=training), "float32")

    def encode_decode(self, inputs):
        """(z_mean, reconstruction from z_mean) in one pass; both float32."""
        z_mean, _ = self.encoder(inputs, training=False)
        reconstruction = self.decoder(z_mean, training=False)
        return ops.cast(z_mean, "float32"), ops.cast(reconstruction, "float32")

    def _forward_losses(self, x, training: bool):
        z_mean, z_log_var = self.encoder(x, training=training)
        z = self.sampling([z_mean, z_log_var])
        reconstruction = self.decoder(z, training=training)
        rec = ops.mean(reconstruction_terms(x, reconstruction, self.loss_kind))
        kl = ops.mean(ops.sum(kl_terms(z_mean, z_log_var), axis=-1))
        total = rec + self.beta * ops.cast(self.kl_weight, "float32") * kl
        return total, rec, kl

    def _update_trackers(self, total, rec, kl) -> dict[str, Any]:
        self.total_tracker.update_state(total)
        self.reconstruction_tracker.update_state(rec)
        self.kl_tracker.update_state(kl)
        return {
            "loss": self.total_tracker.result(),
            "reconstruction": self.reconstruction_tracker.result(),
            "kl": self.kl_tracker.result(),
        }

    def train_step(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            total, rec, kl = self._forward_losses(x, training=True)
            # Identity for plain optimizers; a LossScaleOptimizer (mixed_float16) scales here
            # and unscales the gradients in apply_gradients.
            scaled = self.optimizer.scale_loss(total)
        weights = self.trainable_weights
        gradients = tape.gradient(scaled, weights)
        self.optimizer.apply_gradients(zip(gradients, weights))
        return self._update_trackers(total, rec, kl)

    def test_step(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        total, rec, kl = self._forward_losses(x, training=False)
        return self._update_trackers(total, rec, kl)

    # ---- serialization -----------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "encoder": keras.saving.serialize_keras_object(self.encoder),
                "decoder": keras.saving.serialize_keras_object(self.decoder),
                "loss": self.loss_kind,
                "beta": self.beta,
                "seed": self.seed,
                "spec": self.spec,
            }
        )
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects=None) -> "VAE":
        config = dict(config)
        encoder = keras.saving.deserialize_keras_object(config.pop("encoder"), custom_objects=custom_objects)
        decoder = keras.saving.deserialize_keras_object(config.pop("decoder"), custom_objects=custom_objects)
        spec = config.pop("spec", None)
        if spec and "frame_shape" in spec:
            spec["frame_shape"] = tuple(spec["frame_shape"])
        if spec and "filters" in spec:
            spec["filters"] = tuple(spec["filters"])
        return cls(encoder=encoder, decoder=decoder, spec=spec, **config)
