"""dSprites-like sprites (Matthey et al. 2017, "dSprites: disentanglement testing sprites
dataset"), rendered here with numpy: no download, the same pixels on every machine.

Five independent factors, each on a grid of indices 0 .. size - 1 (FACTOR_NAMES,
FACTOR_SIZES: dSprites' own grid, 3 * 6 * 40 * 32 * 32 = 737,280 combinations):

  shape     0 square, 1 ellipse, 2 heart (SHAPE_NAMES)
  scale     s = 0.5 .. 1 in 6 even steps; the sprite's half-size is s * HALF_SIZE * S pixels
            (S the image side)
  rotation  theta = 2 pi r / n_rot for r = 0 .. n_rot - 1 (40 steps of 9 degrees over
            [0, 2 pi); clockwise on screen, rows running down); the square looks the same
            at r and r + n_rot / 4 and the ellipse at r and r + n_rot / 2 (as in dSprites,
            these factor values are not identifiable from the image)
  pos_x     centre column c_x = (lo + (hi - lo) i / (n - 1)) * S, (lo, hi) = POSITION_RANGE
  pos_y     centre row, the same grid

A pixel (row y, column x) has its centre at (x + 1/2, y + 1/2). Mapped into the sprite's own
frame (u, v) = R(-theta) ((x + 1/2, y + 1/2) - (c_x, c_y)) / (s * HALF_SIZE * S), it is inside

  square    max(|u|, |v|) <= 1
  ellipse   u^2 + (v / ELLIPSE_MINOR)^2 <= 1
  heart     (a^2 + b^2 - 1)^3 - a^2 b^3 <= 0,  a = HEART_ZOOM u,  b = HEART_LIFT - HEART_ZOOM v
            (the classic heart curve: lobes up, point down in the image; zoomed into |u|, |v| < 1)

With `supersample` k > 1 each pixel is the fraction of k x k sub-pixel centres inside
(anti-aliased); with k = 1 (dSprites' setting) pixels are 0 or 1. Images are stored as uint8
0 .. 255 like every other image source (`to_float` divides by 255). The widest sprite (a
rotated square at scale 1, half-diagonal sqrt(2) * HALF_SIZE * S) stays inside the image
at every position.
"""

from __future__ import annotations

import numpy as np

from ae_jax.data.dataset import DATA_SOURCES, Dataset

FACTOR_NAMES = ("shape", "scale", "rotation", "pos_x", "pos_y")
FACTOR_SIZES = (3, 6, 40, 32, 32)
SHAPE_NAMES = ("square", "ellipse", "heart")
SCALE_RANGE = (0.5, 1.0)      # s of the smallest and the largest sprite
HALF_SIZE = 0.15              # half-size of a scale-1 sprite, as a fraction of the image side
POSITION_RANGE = (0.22, 0.78)  # sprite centres, as fractions of the image side
ELLIPSE_MINOR = 0.5           # the ellipse's semi-axes are 1 and ELLIPSE_MINOR (sprite units)
HEART_ZOOM, HEART_LIFT = 1.15, 0.118  # the heart curve spans a in +-1.14, b in [-1, 1.24]


def grid_size(sizes: tuple[int, ...] = FACTOR_SIZES) -> int:
    """prod_k sizes[k]: the number of factor combinations."""
    return int(np.prod(sizes))


def factor_grid(sizes: tuple[int, ...] = FACTOR_SIZES) -> np.ndarray:
    """Every factor combination as int32 indices (prod(sizes), K), the last factor fastest
    (row i is np.unravel_index(i, sizes))."""
    return index_to_factors(np.arange(grid_size(sizes)), sizes)


def index_to_factors(index: np.ndarray, sizes: tuple[int, ...] = FACTOR_SIZES) -> np.ndarray:
    """(N,) flat grid indices -> (N, K) int32 factor indices."""
    return np.stack(np.unravel_index(np.asarray(index), sizes), axis=1).astype(np.int32)


def sample_factors(n: int, seed: int = 0, sizes: tuple[int, ...] = FACTOR_SIZES,
                   replace: bool = False) -> np.ndarray:
    """(n, K) int32 factor indices of n combinations drawn uniformly from the grid with
    numpy's default_rng(seed); without replacement (distinct combinations) unless `replace`.
    Each factor is then uniform over its values and the factors are independent (exactly
    with replacement, up to the finite-population correction without)."""
    total = grid_size(sizes)
    if not replace and n > total:
        raise ValueError(f"{n} distinct combinations asked of a grid of {total}")
    rng = np.random.default_rng(seed)
    index = rng.choice(total, size=n, replace=replace)
    return index_to_factors(index, sizes)


def factor_values(factors: np.ndarray, sizes: tuple[int, ...] = FACTOR_SIZES
                  ) -> dict[str, np.ndarray]:
    """Factor indices (N, 5) -> the quantities they stand for: shape (index), scale s,
    rotation theta (radians), pos_x / pos_y (centres as fractions of the image side)."""
    f = np.asarray(factors)
    _, n_scale, n_rot, n_x, n_y = sizes
    lin = lambda i, n, lo, hi: lo + (hi - lo) * i / max(n - 1, 1)  # noqa: E731
    return {"shape": f[:, 0],
            "scale": lin(f[:, 1], n_scale, *SCALE_RANGE),
            "rotation": 2 * np.pi * f[:, 2] / n_rot,
            "pos_x": lin(f[:, 3], n_x, *POSITION_RANGE),
            "pos_y": lin(f[:, 4], n_y, *POSITION_RANGE)}


def _inside(shape: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Whether sprite-frame points (u, v) lie in sprite `shape` (module docstring's
    inequalities)."""
    if shape == 0:
        return np.maximum(np.abs(u), np.abs(v)) <= 1
    if shape == 1:
        return u * u + (v / ELLIPSE_MINOR) ** 2 <= 1
    a2, b = (HEART_ZOOM * u) ** 2, HEART_LIFT - HEART_ZOOM * v
    return (a2 + b * b - 1) ** 3 - a2 * b ** 3 <= 0


def window_size(image_size: int) -> int:
    """W: the side of the square of pixels that holds any sprite, 2 ceil(sqrt(2) *
    HALF_SIZE * S) + 2 (the half-diagonal of the largest square, both sides, plus a pixel of
    slack each side), at most S."""
    return min(image_size, 2 * int(np.ceil(np.sqrt(2) * HALF_SIZE * image_size)) + 2)


def _window_offsets(window: int, supersample: int) -> np.ndarray:
    """Offsets (W * W * k * k, 2) as (column, row), in pixels from a window's corner, of the
    k x k sub-pixel centres of its pixels, ordered (row, column, sub-row, sub-column)."""
    k = supersample
    sub = (np.arange(k) + 0.5) / k  # (k,) sub-pixel centres within a pixel
    pix = np.arange(window)
    shape = (window, window, k, k)  # (row, column, sub-row, sub-column)
    row = np.broadcast_to(pix[:, None, None, None] + sub[None, None, :, None], shape)
    col = np.broadcast_to(pix[None, :, None, None] + sub[None, None, None, :], shape)
    return np.stack([col.reshape(-1), row.reshape(-1)], axis=1).astype(np.float32)


def _render_chunk(factors: np.ndarray, sizes: tuple[int, ...], image_size: int,
                  supersample: int) -> np.ndarray:
    """(B, K) factor indices -> (B, S, S, 1) uint8 images: each sprite is rasterised in the
    W x W window around its centre (window_size) and pasted into an empty image."""
    b, s, w, k2 = len(factors), image_size, window_size(image_size), supersample ** 2
    val = factor_values(factors, sizes)
    cx, cy = val["pos_x"] * s, val["pos_y"] * s  # (B,) centres, pixels
    x0 = np.clip(np.floor(cx).astype(int) - w // 2, 0, s - w)  # (B,) window corners
    y0 = np.clip(np.floor(cy).astype(int) - w // 2, 0, s - w)
    off = _window_offsets(w, supersample)  # (P, 2), P = W W k k
    dx = (x0 - cx).astype(np.float32)[:, None] + off[None, :, 0]  # (B, P)
    dy = (y0 - cy).astype(np.float32)[:, None] + off[None, :, 1]
    radius = (val["scale"] * HALF_SIZE * s).astype(np.float32)[:, None]  # (B, 1)
    cos = (np.cos(val["rotation"]) / radius[:, 0]).astype(np.float32)[:, None]
    sin = (np.sin(val["rotation"]) / radius[:, 0]).astype(np.float32)[:, None]
    u = cos * dx + sin * dy  # R(-theta) (dx, dy) / radius: sprite units
    v = cos * dy - sin * dx
    inside = np.zeros(u.shape, bool)
    for shape in np.unique(val["shape"]):
        rows = val["shape"] == shape
        inside[rows] = _inside(int(shape), u[rows], v[rows])
    # (B, W W k k) -> (B, W, W, k k): the mean over a pixel's sub-samples
    cover = inside.reshape(b, w, w, k2).mean(axis=-1)
    out = np.zeros((b, s, s), np.uint8)
    rows = y0[:, None, None] + np.arange(w)[None, :, None]  # (B, W, 1)
    cols = x0[:, None, None] + np.arange(w)[None, None, :]  # (B, 1, W)
    out[np.arange(b)[:, None, None], rows, cols] = np.round(cover * 255).astype(np.uint8)
    return out[..., None]  # (B, S, S, 1)


def render(factors: np.ndarray, image_size: int = 64, supersample: int = 1,
           sizes: tuple[int, ...] = FACTOR_SIZES, chunk: int = 256) -> np.ndarray:
    """Images (N, S, S, 1) uint8 (0 / 255, or coverage * 255 with supersample > 1) of the
    sprites with factor indices `factors` (N, 5), rendered about `chunk` images at a time
    (fewer with supersampling)."""
    factors = np.asarray(factors)
    if factors.ndim != 2 or factors.shape[1] != len(FACTOR_NAMES):
        raise ValueError(f"factors must be (N, {len(FACTOR_NAMES)}); got {factors.shape}")
    if (factors < 0).any() or (factors >= np.asarray(sizes)).any():
        raise ValueError(f"factor indices must lie in 0 .. size - 1 for sizes {sizes}")
    chunk = max(1, chunk // (supersample * supersample))
    out = np.empty((len(factors), image_size, image_size, 1), np.uint8)
    for start in range(0, len(factors), chunk):
        out[start:start + chunk] = _render_chunk(factors[start:start + chunk], sizes,
                                                 image_size, supersample)
    return out


def load_shapes(num_examples: int, test_fraction: float = 0.2, seed: int = 0,
                image_size: int = 64, supersample: int = 1) -> Dataset:
    """`num_examples` distinct factor combinations drawn with `seed`, rendered, and split
    into test (the first round(test_fraction * N) of the draw, at least 1) and train.

    Labels are the shape index (class_names SHAPE_NAMES); all five factor indices are in
    `extra["train_factors"]` / `extra["test_factors"]`, int32 (N, 5), columns FACTOR_NAMES.
    """
    factors = sample_factors(num_examples, seed)  # (N, 5), already in random order
    n_test = max(1, int(round(num_examples * test_fraction)))
    if n_test >= num_examples:
        raise ValueError(f"test_fraction {test_fraction} leaves no training example of "
                         f"{num_examples}")
    images = render(factors, image_size, supersample)
    test, train = slice(0, n_test), slice(n_test, None)
    extra = {"train_factors": factors[train], "test_factors": factors[test]}
    return Dataset(images[train], images[test], factors[train, 0].copy(),
                   factors[test, 0].copy(), name="shapes",
                   source=f"ae_jax.data.shapes(seed={seed}, supersample={supersample})",
                   class_names=SHAPE_NAMES, extra=extra)


@DATA_SOURCES.register("shapes")
def shapes_from_config(cfg) -> Dataset:
    """data.name=shapes: shapes_num_examples, test_fraction, split_seed, shapes_image_size,
    shapes_supersample."""
    return load_shapes(cfg.shapes_num_examples, cfg.test_fraction, cfg.split_seed,
                       cfg.shapes_image_size, cfg.shapes_supersample)
