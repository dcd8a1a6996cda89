"""RunConfig: every knob of a training run, validated, with a JSON round trip."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Iterable, Optional

from vaeviewer.errors import VaeViewerError

VARIANTS = ("conv2d", "conv3d", "convlstm")
WINDOWED_VARIANTS = ("conv3d", "convlstm")
LOSSES = ("mse", "bce")
PRECISIONS = ("auto", "float32", "bfloat16", "float16")
SPLITS = ("auto", "time", "sequence")
BETA_SCALES = ("data", "none")
INTENSITIES = ("auto", "none")
CONV3D_HEADS = ("pool", "flatten")
CONV3D_HEAD_DEFAULT = "pool"      # new runs; a run written before the setting existed is "flatten"


def parse_frame_size(text: str | None) -> tuple[int, int] | None:
    """Parse 'HxW' (e.g. '64x80') into (H, W); None or '' means keep the native size."""
    if text is None or text == "":
        return None
    parts = str(text).lower().replace(",", "x").split("x")
    try:
        h, w = (int(p) for p in parts)
    except ValueError:
        raise VaeViewerError(f"frame size {text!r}: write it as HEIGHTxWIDTH, e.g. 64x80") from None
    if h < 4 or w < 4 or h > 4096 or w > 4096:
        raise VaeViewerError(f"frame size {text!r}: height and width must be between 4 and 4096")
    return (h, w)


# Command-line spellings that differ from the setting's name.
_RENAMED_FLAGS = {"lr": "learning_rate", "kl_warmup": "kl_warmup_epochs"}
_FLAG_NAMES = {**_RENAMED_FLAGS, "config": None, "resume": None}

# The setting each command-line flag sets (argparse dest -> RunConfig field), for `train`,
# `compare` and the app's `gui`.
FLAG_SETTINGS = {dest: _RENAMED_FLAGS.get(dest, dest) for dest in (
    "paths", "demo", "frame_size", "variant", "window", "stride", "stateful", "epochs", "steps_per_epoch",
    "batch_size", "latent_dim", "filters", "inner_dim", "beta", "beta_scale", "dropout", "conv3d_head", "loss", "intensity",
    "kl_warmup", "lr", "precision", "valid_fraction", "split", "seed", "out", "tensorboard")}


def _near_miss(key: str, known) -> str:
    """'key' with the setting it probably meant ('lr (did you mean learning_rate?)'), else just 'key'."""
    import difflib

    guess = _FLAG_NAMES.get(key.replace("-", "_")) if key.replace("-", "_") in _FLAG_NAMES else None
    if guess is None:
        close = difflib.get_close_matches(key.replace("-", "_"), list(known), n=1, cutoff=0.6)
        guess = close[0] if close else None
    return f"{key!r} (did you mean {guess}?)" if guess else repr(key)


@dataclass
class RunConfig:
    """All settings of one run. `validate()` raises VaeViewerError naming the bad setting."""

    # data
    paths: list[str] = field(default_factory=list)
    demo: bool = False
    demo_sequences: int = 4         # size of the built-in demo data set
    demo_frames: int = 1500
    frame_size: tuple[int, int] | None = None
    valid_fraction: float = 0.2
    split: str = "auto"             # "auto": by time when every sequence's validation part holds two
                                    # windows (and 10 frames), else by whole sequences; "time"; "sequence"
    intensity: str = "auto"         # "auto": dim or low-contrast data (values spanning under half of 0..1)
                                    # is stretched to 0..1 for training, linearly; "none": as loaded
    # model
    variant: str = "conv2d"
    window: int = 10
    stride: int = 1
    stateful: bool = False
    latent_dim: int = 6
    filters: tuple[int, ...] = (32, 64)
    inner_dim: int = 128            # the original's 16 squeezes too hard: the latents collapse
    loss: str = "mse"
    beta: float = 4.0               # KL weight; with beta_scale "data", relative to the data's variance
    beta_scale: str = "data"        # "data": the KL weight is beta x the training frames' variance about
                                    # their mean frame (see README); "none": beta as it is (the original)
    kl_warmup_epochs: int = 2
    dropout: float = 0.25           # encoder dropout around its dense layer: short clips are memorised
    conv3d_head: str = CONV3D_HEAD_DEFAULT   # conv3d: "pool" averages the time steps left before the encoder's
                                    # dense layer (gt x fewer weights); "flatten" feeds them all (runs before it)
    restore_best: bool = True       # end with the weights of the epoch with the lowest validation loss
    # optimisation
    batch_size: int = 64
    learning_rate: float = 1e-3
    epochs: int = 10
    steps_per_epoch: int | None = None   # None: one pass over the data, but at least min_steps_per_epoch
    min_steps_per_epoch: int = 100       # small data sets are walked again within an epoch
    precision: str = "auto"
    seed: int = 0
    # output
    out: str | None = None
    tensorboard: bool = False
    snapshot_interval_s: float = 1.0
    first_look_s: float = 40.0      # seconds after Start: if no epoch has ended by then, validate once early
                                    # for a first verdict (training is unchanged); 0 = off
    max_scatter_points: int = 2000

    @property
    def uses_windows(self) -> bool:
        """True when the model sees windows of T frames rather than single frames."""
        return self.variant in WINDOWED_VARIANTS

    @property
    def model_window(self) -> int:
        """Frames per model input: 1 for conv2d, T otherwise."""
        return self.window if self.uses_windows else 1

    def validate(self) -> "RunConfig":
        """Check every setting and every combination; return self so calls can chain."""

        def bad(name: str, msg: str) -> VaeViewerError:
            return VaeViewerError(f"setting {name}: {msg}")

        for name in ("demo", "stateful", "tensorboard", "restore_best"):
            if not isinstance(getattr(self, name), bool):
                raise bad(name, f"{getattr(self, name)!r} must be true or false")
        if self.demo and self.paths:
            raise bad("paths", "use either the demo data or data paths, not both")
        if self.out is not None and (not isinstance(self.out, str) or not self.out.strip()):
            raise bad("out", f"{self.out!r} must be a folder path (text), or empty for no run directory")

        if self.variant not in VARIANTS:
            raise bad("variant", f"{self.variant!r} is not one of {', '.join(VARIANTS)}")
        if self.loss not in LOSSES:
            raise bad("loss", f"{self.loss!r} is not one of {', '.join(LOSSES)}")
        if self.precision not in PRECISIONS:
            raise bad("precision", f"{self.precision!r} is not one of {', '.join(PRECISIONS)}")
        if self.beta_scale not in BETA_SCALES:
            raise bad("beta_scale", f"{self.beta_scale!r} is not one of {', '.join(BETA_SCALES)}")
        if self.intensity not in INTENSITIES:
            raise bad("intensity", f"{self.intensity!r} is not one of {', '.join(INTENSITIES)}")
        if self.split not in SPLITS:
            raise bad("split", f"{self.split!r} is not one of {', '.join(SPLITS)}")
        if self.conv3d_head not in CONV3D_HEADS:
            raise bad("conv3d_head", f"{self.conv3d_head!r} is not one of {', '.join(CONV3D_HEADS)}")
        for name, lo, hi in (
            ("window", 1, 1000),
            ("stride", 1, 100000),
            ("latent_dim", 1, 1024),
            ("inner_dim", 1, 65536),
            ("batch_size", 1, 65536),
            ("epochs", 1, 100000),
            ("kl_warmup_epochs", 0, 100000),
            ("max_scatter_points", 10, 1000000),
            ("demo_sequences", 1, 64),
            ("demo_frames", 2, 100000),
            ("min_steps_per_epoch", 1, 1000000),
            ("seed", 0, 2**32 - 1),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                raise bad(name, f"{value!r} must be a whole number from {lo} to {hi}")
        if self.steps_per_epoch is not None and (
            isinstance(self.steps_per_epoch, bool) or not isinstance(self.steps_per_epoch, int) or self.steps_per_epoch < 1
        ):
            raise bad("steps_per_epoch", f"{self.steps_per_epoch!r} must be a whole number >= 1 or empty")
        for name, lo, hi in (("beta", 0.0, 1e6), ("learning_rate", 1e-8, 10.0), ("snapshot_interval_s", 0.0, 3600.0),
                             ("first_look_s", 0.0, 86400.0)):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or not lo <= value <= hi:
                raise bad(name, f"{value!r} must be a number from {lo:g} to {hi:g}")
        if (not isinstance(self.dropout, (int, float)) or isinstance(self.dropout, bool)
                or not math.isfinite(self.dropout) or not 0.0 <= self.dropout < 1.0):
            raise bad("dropout", f"{self.dropout!r} must be a number from 0 to below 1 (0 = no dropout)")
        if not isinstance(self.valid_fraction, (int, float)) or not 0.0 <= self.valid_fraction < 0.9:
            raise bad("valid_fraction", f"{self.valid_fraction!r} must be from 0 to 0.9 (0 = no validation)")
        if not self.filters or any(not isinstance(f, int) or f < 1 or f > 4096 for f in self.filters):
            raise bad("filters", f"{self.filters!r} must be one or more whole numbers from 1 to 4096, e.g. 32,64")
        if len(self.filters) > 6:
            raise bad("filters", "at most 6 convolution stages")
        if self.frame_size is not None:
            fs = self.frame_size
            if not isinstance(fs, (tuple, list)) or len(fs) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in fs):
                raise bad("frame_size", f"{fs!r} must be [height, width], two whole numbers, e.g. [64, 80] (64x80)")
            parse_frame_size(f"{fs[0]}x{fs[1]}")
        if self.stride > self.window and self.uses_windows:
            raise bad("stride", f"{self.stride} is larger than the window {self.window}: frames would be skipped; use stride <= window")
        if self.stateful:
            if self.variant != "convlstm":
                raise bad("stateful", f"only the convlstm variant has recurrent state to carry, not {self.variant}; "
                          "choose --variant convlstm or turn stateful off")
            if self.stride != self.window:
                raise bad("stride", f"stateful training needs non-overlapping windows: stride must equal window ({self.window}), not {self.stride}")
        if not self.demo and not self.paths:
            raise bad("paths", "no data: give one or more files or folders, or use the demo data (--demo)")
        return self

    # ---- JSON -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["filters"] = list(self.filters)
        d["frame_size"] = list(self.frame_size) if self.frame_size else None
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config") -> "RunConfig":
        """Build from a dict (e.g. parsed JSON); unknown keys and wrong types are refused."""
        if not isinstance(data, dict):
            raise VaeViewerError(f"{source}: expected a JSON object of settings")
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise VaeViewerError(f"{source}: unknown setting(s) " + "; ".join(_near_miss(k, known) for k in unknown))
        kwargs = dict(data)
        try:
            if kwargs.get("frame_size") is not None:
                fs = kwargs["frame_size"]
                if isinstance(fs, str):
                    kwargs["frame_size"] = parse_frame_size(fs)
                elif isinstance(fs, list) and len(fs) == 2 and all(isinstance(v, int) and not isinstance(v, bool) for v in fs):
                    kwargs["frame_size"] = tuple(fs)
                else:
                    raise VaeViewerError(f"{source}: setting frame_size: {fs!r} must be [height, width], two whole numbers, or \"HxW\"")
            if "filters" in kwargs:
                kwargs["filters"] = tuple(kwargs["filters"])
            if "paths" in kwargs:
                if not isinstance(kwargs["paths"], list) or not all(isinstance(p, str) for p in kwargs["paths"]):
                    raise VaeViewerError(f"{source}: setting paths must be a list of strings")
        except (TypeError, ValueError, OverflowError):
            raise VaeViewerError(f"{source}: frame_size/filters have the wrong form") from None
        if "max_scatter_points" in kwargs:
            # A file vaeviewer wrote lists every setting; one it wrote before a setting existed
            # keeps the meaning its run had. Hand-written files get today's defaults.
            older = {"split": "time",          # before `auto`, a missing split meant "time"
                     "intensity": "none"}      # before `intensity`, runs trained on the frames as loaded
            if "beta" in kwargs:
                older["beta_scale"] = "none"   # before beta_scale, beta was meant as it is
            if kwargs.get("variant") == "conv3d":
                older["conv3d_head"] = "flatten"   # before the head was a setting, conv3d flattened
            for name, value in older.items():
                kwargs.setdefault(name, value)
        return cls(**kwargs)

    @classmethod
    def from_json(cls, text: str, source: str = "config") -> "RunConfig":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise VaeViewerError(f"{source}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
        return cls.from_dict(data, source)

    @classmethod
    def load(cls, path: str | Path) -> "RunConfig":
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise VaeViewerError(f"{p}: cannot read config ({exc.strerror})") from None
        except UnicodeDecodeError:
            raise VaeViewerError(f"{p}: not a settings file (not UTF-8 JSON text)") from None
        return cls.from_json(text, str(p))

    def replace(self, **changes: Any) -> "RunConfig":
        return dataclasses.replace(self, **changes)


def adopt_model_spec(cfg: RunConfig, spec: dict[str, Any]) -> RunConfig:
    """`cfg` with the architecture a saved model was built with (variant, window, latent, ...)."""
    changes: dict[str, Any] = {}
    for name in ("variant", "latent_dim", "inner_dim", "loss", "dropout"):
        if spec.get(name) is not None:
            changes[name] = spec[name]
    if spec.get("filters"):
        changes["filters"] = tuple(int(f) for f in spec["filters"])
    variant = changes.get("variant", cfg.variant)
    stateful = bool(spec.get("stateful", False))
    changes["stateful"] = stateful
    if variant != "conv2d" and spec.get("window"):
        changes["window"] = int(spec["window"])
        window = changes["window"]
        changes["stride"] = window if stateful else min(cfg.stride, window)
    if stateful and spec.get("batch_size"):
        changes["batch_size"] = int(spec["batch_size"])
    if variant == "conv3d" and spec.get("variant"):
        # A conv3d model saved before the head was a setting has none in its spec: it flattens.
        changes["conv3d_head"] = spec.get("conv3d_head") or "flatten"
    return cfg.replace(**changes)


def settings_from_args(args: Any, given: Iterable[str]) -> dict[str, Any]:
    """{setting: value} for the flags in `given` (argparse dests), converted as RunConfig holds them.

    Data paths replace the demo data and the demo data replaces paths; empty paths change nothing.

    Raises:
        VaeViewerError: a frame size or filter list that does not parse.
    """
    changes: dict[str, Any] = {}
    for dest, name in FLAG_SETTINGS.items():
        if dest not in given:
            continue
        value = getattr(args, dest)
        if dest == "frame_size":
            value = parse_frame_size(value) if isinstance(value, str) or value is None else tuple(value)
        elif dest == "filters" and isinstance(value, str):
            try:
                value = tuple(int(v) for v in value.split(",") if v.strip())
            except ValueError:
                raise VaeViewerError(f"setting filters: {value!r} must be whole numbers separated by commas, e.g. 32,64") from None
        elif dest == "paths":
            value = list(value)
            if not value:
                continue
            changes["demo"] = False
        elif dest == "demo" and value:
            changes["paths"] = []
        changes[name] = value
    return changes


def config_from_args(args: Any, given: Optional[Iterable[str]] = None, base: Optional[RunConfig] = None,
                     **changes: Any) -> RunConfig:
    """The validated settings of parsed command-line arguments: `base` with the flags given on top.

    The one place where flags become a RunConfig, for the CLI's `train` and `compare` and the
    app's `gui` (whose arguments are a subset of train's).

    Args:
        args: an argparse Namespace (or any object); attributes it lacks keep their setting.
        given: the flags (argparse dests) the user typed; None: every one that `args` holds and
            is not None.
        base: the settings the flags change (a --config file's); None: the defaults, and then
            no data paths mean the demo data.
        changes: settings to set after the flags (a command's own options).

    Raises:
        VaeViewerError: a bad setting.
    """
    if given is None:
        given = {dest for dest in FLAG_SETTINGS if getattr(args, dest, None) is not None}
    given = set(given)
    cfg = (base or RunConfig()).replace(**{**settings_from_args(args, given), **changes})
    if "stride" not in given and cfg.stateful and ({"stateful", "window"} & given):
        cfg.stride = cfg.window   # stateful means non-overlapping windows unless a stride is given
    if base is None and not cfg.demo and not cfg.paths:
        cfg.demo = True   # no data means the demo data; a settings file must say
    return cfg.validate()
