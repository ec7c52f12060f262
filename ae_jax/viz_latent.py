"""Latent-space figures, pure functions: arrays in, matplotlib figures out (save with
`ae_jax.viz.save`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ae_jax.viz import _show, image_grid, pyplot

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def latent_scatter(points, labels=None, class_names: Sequence[str] | None = None,
                   axis: str = "z", title: str = "") -> Figure:
    """(N, 2) codes as a scatter plot coloured by integer label (a legend names classes)."""
    points = np.asarray(points)
    fig, ax = pyplot().subplots(figsize=(7, 6))
    if labels is None:
        ax.scatter(points[:, 0], points[:, 1], s=3, alpha=0.6)
    else:
        labels = np.asarray(labels)
        classes = np.unique(labels)
        if len(classes) <= 10:
            colours = pyplot().get_cmap("tab10")(np.arange(len(classes)))
        else:
            colours = pyplot().get_cmap("viridis")(np.linspace(0, 1, len(classes)))
        for c, colour in zip(classes, colours, strict=True):
            sel = labels == c
            name = class_names[c] if class_names is not None and c < len(class_names) else c
            ax.scatter(points[sel, 0], points[sel, 1], s=3, alpha=0.6, label=str(name),
                       color=colour)
        if len(classes) <= 20:
            ax.legend(markerscale=4, fontsize=8, loc="best")
    ax.set_xlabel(f"{axis} 1")
    ax.set_ylabel(f"{axis} 2")
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def image_grid_figure(images, rows: int, cols: int, title: str = "",
                      row_values=None, col_values=None) -> Figure:
    """(rows*cols, H, W, C) images in [0, 1] as one grid; optional tick labels give the
    latent value of each column (z_1) and row (z_2)."""
    images = np.asarray(images, np.float32)
    h, w = images.shape[1:3]
    size = max(3.0, min(12.0, 0.6 * max(rows, cols)))
    fig, ax = pyplot().subplots(figsize=(size + 0.8, size + 0.6))
    _show(ax, image_grid(images, rows, cols, pad=0))
    if row_values is not None or col_values is not None:
        ax.axis("on")
        ax.set_xticks([(i + 0.5) * w for i in range(cols)])
        ax.set_yticks([(i + 0.5) * h for i in range(rows)])
        ax.set_xticklabels([f"{v:.2f}" for v in col_values] if col_values is not None else [],
                           rotation=90 if cols > 8 else 0, fontsize=7)
        ax.set_yticklabels([f"{v:.2f}" for v in row_values] if row_values is not None else [],
                           fontsize=7)
        ax.set_xlabel("z 1")
        ax.set_ylabel("z 2")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def labelled_images(images, labels: Sequence[str], title: str = "") -> Figure:
    """One row of images (N, H, W, C), each with its label above it."""
    n = len(images)
    fig, axes = pyplot().subplots(1, n, figsize=(1.6 * n + 0.4, 2.0), squeeze=False)
    for ax, img, label in zip(axes[0], np.asarray(images, np.float32), labels, strict=True):
        _show(ax, img)
        ax.set_title(label, fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def bound_curve(ks, values, title: str = "") -> Figure:
    """-L_k (nats) against the number of importance samples k, log-scaled k."""
    fig, ax = pyplot().subplots(figsize=(5, 3.5))
    ax.plot(ks, values, marker="o")
    ax.set_xscale("log")
    ax.set_xlabel("importance samples k")
    ax.set_ylabel("-L_k (nats)")
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig
