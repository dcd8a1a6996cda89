"""`vaeviewer export`: a finished run's per-frame errors, latents and an input | reconstruction |
error video, over its own data or other data, without training and without writing into the run.

Per-frame error (the `mse` column): conv2d scores each frame on its own; a window model gives a
frame the mean error of the windows, T/4 frames apart, that hold it (as the app's error
timeline), the last window of a sequence ending at its last frame; a stateful model scores the
frames in its carried-state walk over non-overlapping windows, the frames after the last whole
window by the window that ends at the last frame (from a reset state). `above_threshold`
compares with the threshold: by default the mean plus 3 standard deviations of the training
frames' error.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from vaeviewer.atomic import atomic_target, atomic_write_text
from vaeviewer.errors import VaeViewerError

SPLITS = ("all", "train", "valid")


@dataclass
class FrameTable:
    """Every frame of the exported parts: source name, file frame number, error, split."""

    sequence: list = field(default_factory=list)
    frame: list = field(default_factory=list)
    mse: list = field(default_factory=list)
    in_valid: list = field(default_factory=list)


def threshold_of(errors: np.ndarray) -> float:
    """The default anomaly threshold: mean + 3 standard deviations of `errors` (training frames)."""
    errors = np.asarray(errors, np.float64)
    errors = errors[np.isfinite(errors)]
    return float(errors.mean() + 3.0 * errors.std()) if len(errors) else float("inf")


def _parts(inspector, split: str) -> list[tuple[str, int, object]]:
    """(split name, index in that split's list, Sequence) of the parts to export, in file order."""
    d = inspector.data
    chosen = []
    if split in ("all", "train"):
        chosen += [("train", i, s) for i, s in enumerate(d.train)]
    if split in ("all", "valid"):
        chosen += [("valid", i, s) for i, s in enumerate(d.valid)]
    chosen.sort(key=lambda p: (p[2].source_index, p[2].offset))
    return chosen


def _walk(inspector, name: str, walks: Optional[dict]):
    """The Inspector's walk over split `name`, every frame covered; kept in `walks` (when given) so
    that the errors and the latents of one export share it (the latents of a covering walk are those
    of the plain one: the extra windows only score frames)."""
    if walks is None:
        return inspector.walk(name, cover_all=True)
    if name not in walks:
        walks[name] = inspector.walk(name, cover_all=True)
    return walks[name]


def frame_errors(inspector, split: str, walks: Optional[dict] = None) -> tuple[FrameTable, dict[str, np.ndarray]]:
    """The per-frame errors of `split`'s parts, and each split's raw errors (for the threshold)."""
    by_split: dict[str, tuple] = {}
    for name, seqs in (("train", inspector.data.train), ("valid", inspector.data.valid)):
        if not seqs or (split not in ("all", name) and name != "train"):
            continue
        result = _walk(inspector, name, walks)
        if result is not None:
            by_split[name] = result.frame_errors()
    table = FrameTable()
    for name, i, seq in _parts(inspector, split):
        if name not in by_split:
            continue
        s_idx, frame, err = by_split[name]
        mine = s_idx == i
        table.sequence += [seq.name] * int(mine.sum())
        table.frame += (frame[mine] + seq.offset).tolist()
        table.mse += err[mine].tolist()
        table.in_valid += [name == "valid"] * int(mine.sum())
    return table, {k: v[2] for k, v in by_split.items()}


def write_errors_csv(path: str | os.PathLike, table: FrameTable, threshold: float) -> int:
    lines = ["sequence,frame,mse,in_valid,above_threshold"]
    for s, f, e, v in zip(table.sequence, table.frame, table.mse, table.in_valid):
        lines.append(f"{_csv_text(s)},{f},{e:.8g},{int(v)},{int(e > threshold)}")
    atomic_write_text(Path(path), "\n".join(lines) + "\n")
    return len(table.frame)


def _csv_text(text: str) -> str:
    if any(c in text for c in ',"\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def latent_rows(inspector, split: str, walks: Optional[dict] = None) -> tuple[list, np.ndarray]:
    """([(split, sequence name, first frame, last frame)], z mean (N, K)) per frame or window."""
    rows, zs = [], []
    t = inspector.config.model_window
    for name, seqs in (("train", inspector.data.train), ("valid", inspector.data.valid)):
        if not seqs or split not in ("all", name):
            continue
        result = _walk(inspector, name, walks)
        if result is None:
            continue
        z, seq_i, first = result.latent_table()
        span = t if z.shape[0] == len(first) and inspector.config.uses_windows else 1
        for s, a in zip(seq_i.tolist(), first.tolist()):
            part = seqs[s]
            rows.append((name, part.name, part.offset + a, part.offset + a + span - 1))
        zs.append(z)
    if not zs:
        return [], np.zeros((0, inspector.model.latent_dim), np.float32)
    z = np.concatenate(zs).astype(np.float32)
    order = sorted(range(len(rows)), key=lambda i: (rows[i][1], rows[i][2]))
    return [rows[i] for i in order], z[order]


def write_latents(path: str | os.PathLike, rows: list, z: np.ndarray) -> int:
    """CSV: split, sequence, first_frame, last_frame, z0..z{K-1}; .npy: the (N, K) z mean array
    (rows in the CSV's order)."""
    path = Path(path)
    if path.suffix.lower() == ".npy":
        with atomic_target(path, ".npy") as tmp:
            np.save(tmp, z)
        return len(z)
    head = ["split", "sequence", "first_frame", "last_frame"] + [f"z{k}" for k in range(z.shape[1])]
    lines = [",".join(head)]
    for (split, name, a, b), zk in zip(rows, z):
        lines.append(",".join([split, _csv_text(name), str(a), str(b)] + [f"{v:.6g}" for v in zk]))
    atomic_write_text(path, "\n".join(lines) + "\n")
    return len(z)


def write_video(path: str | os.PathLike, inspector, split: str, fps: float = 25.0, scale: int = 2,
                progress: Optional[Callable[[int, int], None]] = None) -> int:
    """input | reconstruction | |error| side by side, the file frame number above; mp4 (ffmpeg) or gif.

    Written beside `path` and renamed onto it when complete. Returns the frames written.
    """
    target = Path(path)
    with atomic_target(target, target.suffix) as tmp:
        return _write_video(tmp, target.suffix.lower() == ".gif", inspector, split, fps, scale, progress)


def _write_video(path: Path, gif: bool, inspector, split: str, fps: float, scale: int,
                 progress: Optional[Callable[[int, int], None]]) -> int:
    from PIL import Image, ImageDraw

    from vaeviewer.training.runs import reconstruction_chunks

    parts = _parts(inspector, split)
    if not parts:
        raise VaeViewerError(f"nothing to write: the {split} split is empty")
    h, w = inspector.data.frame_shape
    scale = max(scale, -(-110 // w))   # panels at least 110 px wide, so the two label lines fit
    ph, pw = h * scale, w * scale
    label_h = 28
    width, height = _round_up(3 * pw, 16), _round_up(ph + label_h, 16)
    total = sum(len(p[2]) for p in parts)
    gain = None
    writer = None
    frames_gif: list = []
    written = 0
    try:
        if not gif:
            import imageio_ffmpeg

            writer = imageio_ffmpeg.write_frames(str(path), (width, height), pix_fmt_in="gray", fps=fps,
                                                 codec="libx264", quality=8, macro_block_size=1,
                                                 ffmpeg_log_level="error")
            writer.send(None)
        for name, _, seq in parts:
            for _, start, recon in reconstruction_chunks(inspector, [seq]):
                from vaeviewer.data.windows import frames_to_float

                x = frames_to_float(seq.frames[start:start + len(recon)])
                err = np.abs(x - recon)
                if gain is None:   # fixed for the whole video: the first chunk's 99.5th percentile to white
                    top = float(np.percentile(err, 99.5)) if err.size else 0.0
                    gain = 1.0 / top if top > 1e-6 else 1.0
                for k in range(len(recon)):
                    canvas = Image.new("L", (width, height), 0)
                    for col, img in enumerate((x[k], recon[k], np.clip(err[k] * gain, 0, 1))):
                        tile = Image.fromarray((np.clip(img, 0, 1) * 255).astype(np.uint8)).resize((pw, ph), Image.NEAREST)
                        canvas.paste(tile, (col * pw, label_h))
                    draw = ImageDraw.Draw(canvas)
                    draw.text((2, 1), f"{seq.name} frame {seq.offset + start + k} ({name})", fill=255)
                    for col, text in enumerate(("input", "reconstruction", f"|error| x{gain:.3g}")):
                        draw.text((col * pw + 2, 14), text, fill=200)
                    for col in (1, 2):   # a dark line between the panels
                        draw.line([(col * pw, label_h), (col * pw, label_h + ph - 1)], fill=0, width=1)
                    if gif:
                        frames_gif.append(np.asarray(canvas))
                    else:
                        writer.send(np.asarray(canvas).tobytes())
                    written += 1
                if progress is not None:
                    progress(written, total)
    finally:
        if writer is not None:
            writer.close()
    if gif:
        import imageio.v2 as imageio

        imageio.mimsave(str(path), frames_gif, duration=1000.0 / fps, loop=0)
    return written


def _round_up(n: int, m: int) -> int:
    return -(-int(n) // m) * m


def run_export(run_dir: str | os.PathLike, data_paths: Optional[list] = None, *, errors: Optional[str] = None,
               latents: Optional[str] = None, video: Optional[str] = None, split: str = "all",
               threshold: Optional[float] = None, frame_size: Optional[tuple[int, int]] = None,
               say: Optional[Callable[[str], None]] = print) -> dict:
    """Write what `vaeviewer export` asks for; returns what was written (paths, counts, threshold).

    Other data (`data_paths`) loads at its own frame size and must be the model's; `frame_size`
    (which must then be the model's) resizes it as it loads: a resize is asked for, never silent.
    """
    from vaeviewer.training.progress import LoadProgress
    from vaeviewer.training.runs import Run

    say = say or (lambda text: None)
    run = Run(run_dir)
    if split not in SPLITS:
        raise VaeViewerError(f"split {split!r}: must be one of {', '.join(SPLITS)}")
    if data_paths:
        if split == "valid":
            raise VaeViewerError("--split valid: other data has no validation part (all of it is scored); "
                                 "use --split all")
        from vaeviewer.data.sources import load_sequences

        h, w = run.frame_shape
        if frame_size is not None and tuple(frame_size) != (h, w):
            raise VaeViewerError(f"--frame-size {frame_size[0]}x{frame_size[1]}: the model takes {h}x{w} frames; "
                                 f"give --frame-size {h}x{w}")
        with LoadProgress() as progress:
            sequences = load_sequences(data_paths, frame_size, progress=progress)
        inspector = run.inspector(sequences, baselines=False)
        split = "train"   # other data lives in the training list, whole
    else:
        with LoadProgress() as progress:
            inspector = run.inspector(progress=progress, baselines=False)
    walks: dict = {}   # one walk per split, shared by --errors and --latents
    report: dict = {"run": str(run.path), "variant": run.config.variant, "window": run.config.model_window,
                    "stateful": run.config.stateful, "data": list(data_paths) if data_paths else "run"}
    if errors:
        table, raw = frame_errors(inspector, split, walks)
        if threshold is None:
            basis = raw.get("train")
            where = "the training frames" if not data_paths else "the given data's frames"
            if data_paths and not run.missing_data():
                own = run.inspector(baselines=False)
                basis = own.walk("train", cover_all=True).frame_errors()[2]
                where = "the run's training frames"
            threshold = threshold_of(basis if basis is not None else np.asarray(table.mse))
            say(f"threshold {threshold:.6g}: mean + 3 SD of the error on {where}")
        n = write_errors_csv(errors, table, threshold)
        above = int(np.sum(np.asarray(table.mse) > threshold))
        say(f"wrote {errors}: {n} frames, {above} above the threshold")
        report.update(errors=str(errors), frames=n, threshold=threshold, above_threshold=above)
    if latents:
        rows, z = latent_rows(inspector, "all" if data_paths else split, walks)
        n = write_latents(latents, rows, z)
        say(f"wrote {latents}: {n} rows of {z.shape[1]} latent dimensions")
        report.update(latents=str(latents), latent_rows=n)
    if video:
        with LoadProgress(label="writing video") as progress:
            n = write_video(video, inspector, split, progress=progress)
        say(f"wrote {video}: {n} frames")
        report.update(video=str(video), video_frames=n)
    return report
