"""vaeviewer's Keras layers, by the names saved models and older code use.

Every layer is registered as "vaeviewer>ClassName" (package "vaeviewer"), whichever module
defines it, so .keras files saved when they all lived here still load:
- `vaeviewer.models.frame_layers`: FrameNorm, FrameBias, FoldTime, UnfoldTime, ZeroPadEnd;
- `vaeviewer.models.subpixel`: the fast decoder's SubPixelConvTranspose and MirroredDense;
- `vaeviewer.models.conv_ops`: the TensorFlow ops under them (phase_taps, zero_pad, conv3d_stride1).
"""

from vaeviewer.models.conv_ops import conv3d_stride1, phase_taps, zero_pad
from vaeviewer.models.frame_layers import FoldTime, FrameBias, FrameNorm, UnfoldTime, ZeroPadEnd
from vaeviewer.models.subpixel import MirroredDense, SubPixelConvTranspose

__all__ = ["FoldTime", "FrameBias", "FrameNorm", "MirroredDense", "SubPixelConvTranspose", "UnfoldTime",
           "ZeroPadEnd", "conv3d_stride1", "phase_taps", "zero_pad"]
