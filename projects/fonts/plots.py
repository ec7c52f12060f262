"""Figures of the font study: pure functions, arrays in, matplotlib figures out."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ae_jax.data.fonts import FONT_NAMES  # noqa: E402


def error_curves(curves: dict[str, np.ndarray], title: str, ylabel: str = "loss") -> plt.Figure:
    """One line per label: the mean over runs of an (epochs, R) array, shaded min to max."""
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for label, values in curves.items():
        epochs = np.arange(1, len(values) + 1)
        line, = ax.plot(epochs, values.mean(1), label=label, lw=1.4)
        ax.fill_between(epochs, values.min(1), values.max(1), color=line.get_color(),
                        alpha=0.18, lw=0)
    ax.set(xlabel="epoch", ylabel=ylabel, title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def per_font_bars(values: dict[str, dict[int, tuple[float, float]]], title: str,
                  ylabel: str) -> plt.Figure:
    """Grouped bars: label -> {font: (mean, std)}, one group of bars per label."""
    labels = list(values)
    fonts = sorted(next(iter(values.values())))
    width = 0.8 / len(fonts)
    fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(labels)), 4))
    for i, f in enumerate(fonts):
        means = [values[k][f][0] for k in labels]
        stds = [values[k][f][1] for k in labels]
        ax.bar(np.arange(len(labels)) + (i - (len(fonts) - 1) / 2) * width, means, width,
               yerr=stds, capsize=2, label=f"font {f}: {FONT_NAMES[f]}")
    ax.set_xticks(np.arange(len(labels)), labels, rotation=20, ha="right", fontsize=7)
    ax.set(ylabel=ylabel, title=title)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def latent_maps(codes: dict[str, np.ndarray], names: list[str], fonts: np.ndarray,
                title: str) -> plt.Figure:
    """One panel per label: 2-D codes (N, 2) of the characters, coloured by font, each point
    annotated with its character."""
    n = len(codes)
    cols = min(3, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 4.2 * rows), squeeze=False)
    for ax, (label, z) in zip(axes.flat, codes.items(), strict=False):
        for f in np.unique(fonts):
            m = fonts == f
            ax.scatter(z[m, 0], z[m, 1], s=10, label=FONT_NAMES[f])
        for (a, b), name in zip(z, names, strict=True):
            ax.annotate(name.split(":", 1)[-1], (a, b), fontsize=6, alpha=0.8)
        ax.set_title(label, fontsize=8)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=6)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def bitmap_grid(bitmaps: np.ndarray, rows: int, cols: int, new: np.ndarray | None = None,
                title: str = "", row_labels: list[str] | None = None) -> plt.Figure:
    """(rows * cols, 7, 5) images in [0, 1]; those flagged in `new` get a red frame."""
    fig, axes = plt.subplots(rows, cols, figsize=(0.55 * cols + 0.6, 0.75 * rows + 0.6),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if i >= len(bitmaps):
            ax.axis("off")
            continue
        ax.imshow(bitmaps[i], cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
        if new is not None and new[i]:
            for spine in ax.spines.values():
                spine.set(color="red", lw=2)
    if row_labels:
        for r, label in enumerate(row_labels):
            axes[r, 0].set_ylabel(label, fontsize=7, rotation=0, ha="right", va="center")
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig
