"""Pure plotting functions: arrays in, matplotlib figures out; `save` is the only I/O."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def pyplot():
    """matplotlib.pyplot on the Agg backend, imported on first use: a command that draws no
    figure does not pay its import (about 0.5 s)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def image_grid(images: np.ndarray, rows: int, cols: int, pad: int = 1) -> np.ndarray:
    """Tile (N, H, W, C) images in [0, 1] into one (rows*(H+pad), cols*(W+pad), C) array."""
    n, h, w, c = images.shape
    grid = np.ones((rows * (h + pad) - pad, cols * (w + pad) - pad, c), np.float32)
    for i in range(min(n, rows * cols)):
        r, q = divmod(i, cols)
        grid[r * (h + pad): r * (h + pad) + h, q * (w + pad): q * (w + pad) + w] = images[i]
    return grid


def _show(ax, img):
    if img.shape[-1] == 1:
        ax.imshow(img[..., 0], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    else:
        ax.imshow(np.clip(img, 0, 1), interpolation="nearest")
    ax.axis("off")


def reconstructions(rows: dict[str, np.ndarray], title: str = "") -> Figure:
    """One row of images per entry (e.g. input / noisy / reconstruction), same columns."""
    n = min(len(v) for v in rows.values())
    fig, axes = pyplot().subplots(len(rows), 1, figsize=(max(4, n * 0.8), 1.0 * len(rows) + 0.4),
                             squeeze=False)
    for ax, (name, imgs) in zip(axes[:, 0], rows.items(), strict=True):
        _show(ax, image_grid(np.asarray(imgs[:n], np.float32), 1, n))
        ax.set_title(name, fontsize=9, loc="left")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def loss_curves(records: list[dict], keys: tuple[str, ...] = ("loss",), unit: str = "",
                title: str = "") -> Figure:
    """One panel per metric in `keys` (those the records have; the loss and each of its
    terms), one line per split, and for several vmapped runs one line per run and split.
    `unit` labels the y axes (e.g. "nats per image")."""
    from matplotlib.ticker import MaxNLocator

    available = {k for r in records for k in r} - {"epoch", "split", "seconds"}
    keys = [k for k in dict.fromkeys(keys) if k in available] or sorted(available)[:1]
    fig, axes = pyplot().subplots(1, len(keys), figsize=(4.2 * len(keys), 3.4), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        for split in sorted({r["split"] for r in records}):
            _plot_split(ax, [r for r in records if r["split"] == split], key, split)
        ax.set_xlabel("epoch")
        ax.set_ylabel(f"{key} ({unit})" if unit else key)
        ax.set_title(key, fontsize=10)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def _plot_split(ax, rows: list[dict], key: str, split: str) -> None:
    """One line for a scalar metric; one per run for a per-run list (num_runs > 1)."""
    pts = [(r["epoch"], r[key]) for r in rows if isinstance(r.get(key), (int, float, list))]
    if not pts:
        return
    epochs = [e for e, _ in pts]
    values = np.array([np.ravel(v) for _, v in pts], np.float64)  # (epochs, runs)
    marker = "." if len(pts) < 30 else None
    for run in range(values.shape[1]):
        label = split if values.shape[1] == 1 else (f"{split}, run {run}" if run < 4 else None)
        ax.plot(epochs, values[:, run], marker=marker, label=label,
                linestyle="-" if split == "train" else "--", alpha=1.0 if run == 0 else 0.6)


def sample_grid(images: np.ndarray, title: str) -> Figure:
    """A square-ish grid of (N, H, W, C) images in [0, 1] as one figure."""
    n = len(images)
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    grid = image_grid(np.asarray(images, np.float32), rows, cols)
    fig, ax = pyplot().subplots(figsize=(0.5 * cols + 0.4, 0.5 * rows + 0.7))
    _show(ax, grid)
    ax.axis("off")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def save(fig: Figure, path: str) -> str:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fig.savefig(path, dpi=100)
    pyplot().close(fig)
    return path
