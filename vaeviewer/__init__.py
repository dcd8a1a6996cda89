"""vaeviewer: train and inspect variational autoencoders on image sequences."""

__version__ = "0.1.0"
