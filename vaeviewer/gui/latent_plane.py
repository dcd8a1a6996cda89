"""The latent scatter's plane and the latent space: PCA axes, and a point of the plane as a latent vector.

`pca_basis` fixes each principal axis' sign (its largest loading positive) so the picture does not
flip between snapshots. `PlaneMixin` gives LatentScatter `axis_values` (where a latent vector lies
on the shown axes) and `latent_at` (the latent vector at a point of the plane), used by the Probe
panel's decode-anywhere.
"""

from __future__ import annotations

import numpy as np
from PyQt6.QtWidgets import QComboBox


def pca_basis(z: np.ndarray, k: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """(mean (K,), axes (k, K)) of the rows of z: orthonormal principal axes, each axis' largest
    loading positive; rows of zeros where z has fewer than k axes (K < k, or fewer than 2 rows)."""
    mean = z.mean(axis=0) if len(z) else np.zeros(z.shape[1])
    axes = np.zeros((k, z.shape[1]))
    if len(z) < 2:
        return mean, axes
    _u, _s, vt = np.linalg.svd(z - mean, full_matrices=False)
    found = vt[:k]
    signs = np.sign(found[np.arange(len(found)), np.argmax(np.abs(found), axis=1)])
    axes[:len(found)] = found * np.where(signs == 0, 1, signs)[:, None]
    return mean, axes


def principal_components(z: np.ndarray, k: int = 2) -> np.ndarray:
    """Project rows of z on their first k principal axes (each axis' largest loading positive)."""
    if len(z) < 2:
        return np.zeros((len(z), k))
    mean, axes = pca_basis(z, k)
    return (z - mean) @ axes.T


class PlaneMixin:
    """Mapping between the scatter's two shown axes and latent vectors.

    The host provides `latents`, `x_axis` and `y_axis` (combos: PC1, PC2, then z0..zK-1) and keeps
    `pca_mean` / `pca_axes` (the PCA the PC axes show).
    """

    def _axis_vector(self, box: QComboBox, k: int) -> tuple[np.ndarray, float]:
        """(direction (K,), offset) with value on the axis = direction @ z - offset."""
        i = box.currentIndex()
        if i < 2:
            if self.pca_axes is None or self.pca_axes.shape[1] != k:
                self.pca_mean, self.pca_axes = pca_basis(self.latents)
            return self.pca_axes[i].copy(), float(self.pca_axes[i] @ self.pca_mean)
        unit = np.zeros(k)
        unit[i - 2] = 1.0
        return unit, 0.0

    def axis_values(self, z: np.ndarray) -> tuple[float, float]:
        """Where the latent vector z lies on the shown axes."""
        z = np.asarray(z, np.float64)
        (ax, ox), (ay, oy) = (self._axis_vector(b, len(z)) for b in (self.x_axis, self.y_axis))
        return float(ax @ z - ox), float(ay @ z - oy)

    def latent_at(self, x: float, y: float, base: np.ndarray) -> np.ndarray:
        """The latent vector at (x, y) on the shown axes, nearest to `base` otherwise.

        Two latent dimensions: those two are set, the others keep `base`'s values. PC axes: the
        point is moved along the PCA's axes only (z = base + (point - base's PCs) @ axes), so its
        shown coordinates are (x, y) and its coordinates off the plane stay `base`'s; with `base`
        at the PCA mean that is z = mean + point @ components. Mixed axes: the smallest change to
        `base` that puts it at (x, y) (least squares over the two constraints).
        """
        base = np.asarray(base, np.float64)
        (ax, ox), (ay, oy) = (self._axis_vector(b, len(base)) for b in (self.x_axis, self.y_axis))
        a = np.vstack([ax, ay])
        target = np.array([x + ox, y + oy])
        return (base + a.T @ np.linalg.pinv(a @ a.T) @ (target - a @ base)).astype(np.float32)

