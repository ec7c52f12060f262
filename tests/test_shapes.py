"""The dSprites-like `shapes` source: the factor grid, seeded draws, the rasteriser (against
a per-pixel loop, and its geometry: mass, position, symmetry) and the registered source."""

import math

import numpy as np
import pytest

from ae_jax.data import load_dataset, shapes
from configs import default

SMALL = (3, 6, 8, 5, 4)  # a small grid for counting tests


def _sprite(shape=0, scale=5, rotation=0, pos_x=16, pos_y=16):
    return np.array([[shape, scale, rotation, pos_x, pos_y]])


def test_grid_counts():
    assert shapes.grid_size() == 3 * 6 * 40 * 32 * 32 == 737_280
    grid = shapes.factor_grid(SMALL)
    assert grid.shape == (math.prod(SMALL), 5) and grid.dtype == np.int32
    assert len(np.unique(grid, axis=0)) == len(grid)
    np.testing.assert_array_equal(grid.max(0), np.array(SMALL) - 1)
    for k, n in enumerate(SMALL):  # every value of a factor equally often
        np.testing.assert_array_equal(np.bincount(grid[:, k]), len(grid) // n)
    with pytest.raises(ValueError, match="distinct"):
        shapes.sample_factors(len(grid) + 1, sizes=SMALL)


def test_draws_and_images_are_deterministic():
    a, b = shapes.sample_factors(300, seed=3), shapes.sample_factors(300, seed=3)
    np.testing.assert_array_equal(a, b)
    assert len(np.unique(a, axis=0)) == 300  # distinct combinations
    assert not np.array_equal(a, shapes.sample_factors(300, seed=4))
    assert (a >= 0).all() and (a < np.array(shapes.FACTOR_SIZES)).all()
    x = shapes.render(a, 32)
    assert x.shape == (300, 32, 32, 1) and x.dtype == np.uint8
    assert set(np.unique(x)) == {0, 255}  # binary without supersampling
    np.testing.assert_array_equal(x, shapes.render(a, 32, chunk=7))  # chunking is invisible


def _reference(factor_row, image_size):
    """The module docstring's definition, one pixel at a time in float64."""
    v = {k: float(a[0]) for k, a in shapes.factor_values(factor_row[None]).items()}
    radius = v["scale"] * shapes.HALF_SIZE * image_size
    c, s = math.cos(v["rotation"]), math.sin(v["rotation"])
    img = np.zeros((image_size, image_size), np.uint8)
    for row in range(image_size):
        for col in range(image_size):
            dx, dy = col + 0.5 - v["pos_x"] * image_size, row + 0.5 - v["pos_y"] * image_size
            u, w = (c * dx + s * dy) / radius, (c * dy - s * dx) / radius
            if v["shape"] == 0:
                inside = max(abs(u), abs(w)) <= 1
            elif v["shape"] == 1:
                inside = u * u + (w / shapes.ELLIPSE_MINOR) ** 2 <= 1
            else:
                a, b = shapes.HEART_ZOOM * u, shapes.HEART_LIFT - shapes.HEART_ZOOM * w
                inside = (a * a + b * b - 1) ** 3 - a * a * b ** 3 <= 0
            img[row, col] = 255 * inside
    return img


def test_matches_a_per_pixel_loop():
    factors = shapes.sample_factors(12, seed=1)
    factors[:3, 3:] = [[0, 0], [31, 31], [0, 31]]  # sprites in the corners: no clipping
    fast = shapes.render(factors, 32)[..., 0]
    for f, img in zip(factors, fast, strict=True):
        ref = _reference(f, 32)
        assert ref.sum() > 0 and np.sum(ref != img) <= 1  # float32 vs float64 at an edge


@pytest.mark.parametrize("shape", [0, 1, 2])
def test_mass_grows_with_scale(shape):
    sprites = np.concatenate([_sprite(shape, scale=i, rotation=3) for i in range(6)])
    mass = shapes.render(sprites, 64, supersample=2).astype(float).sum(axis=(1, 2, 3)) / 255
    assert np.all(np.diff(mass) > 0)
    area = {0: 4.0, 1: math.pi * shapes.ELLIPSE_MINOR}[shape] if shape < 2 else None
    if area is not None:  # the scale-1 sprite covers area * (HALF_SIZE * S)^2 pixels
        assert mass[-1] == pytest.approx(area * (shapes.HALF_SIZE * 64) ** 2, rel=0.05)


def _centre_of_mass(img):
    w = img[..., 0].astype(float)
    rows, cols = np.indices(w.shape) + 0.5
    return (w * cols).sum() / w.sum(), (w * rows).sum() / w.sum()


@pytest.mark.parametrize("shape", [0, 1, 2])
def test_pos_x_moves_the_centre_of_mass(shape):
    size, n = 32, shapes.FACTOR_SIZES[3]
    images = shapes.render(np.concatenate([_sprite(shape, 3, 7, 4, 10),
                                           _sprite(shape, 3, 7, 24, 10)]), size, supersample=4)
    (x1, y1), (x2, y2) = _centre_of_mass(images[0]), _centre_of_mass(images[1])
    lo, hi = shapes.POSITION_RANGE
    expected = (hi - lo) * size * (24 - 4) / (n - 1)  # 0.56 * 32 * 20 / 31 = 11.56 pixels
    assert x2 - x1 == pytest.approx(expected, abs=0.1)
    assert y2 == pytest.approx(y1, abs=0.05)


def test_rotation_symmetries():
    n_rot = shapes.FACTOR_SIZES[2]
    quarter, half = n_rot // 4, n_rot // 2
    square = shapes.render(np.concatenate([_sprite(0, 5, 3), _sprite(0, 5, 3 + quarter)]), 32)
    assert np.sum(square[0] != square[1]) <= 2  # the same sprite, up to rounding at an edge
    ellipse = shapes.render(np.concatenate([_sprite(1, 5, 3), _sprite(1, 5, 3 + half),
                                            _sprite(1, 5, 3 + quarter)]), 32)
    assert np.sum(ellipse[0] != ellipse[1]) <= 2
    assert np.sum(ellipse[0] != ellipse[2]) > 20  # a quarter turn is a different image
    heart = shapes.render(np.concatenate([_sprite(2, 5, 3), _sprite(2, 5, 3 + half)]), 32)
    assert np.sum(heart[0] != heart[1]) > 20


def _shapes_data_cfg(**kw):
    cfg = default.get_config().data
    with cfg.unlocked():  # fields of configs/default.py's `data` once they are added there
        cfg.shapes_num_examples = 200
        cfg.shapes_image_size = 32
        cfg.shapes_supersample = 1
    cfg.update(dict(name="shapes", test_fraction=0.25, split_seed=5))
    cfg.update(kw)
    return cfg


def test_data_source():
    ds = load_dataset(_shapes_data_cfg())
    assert ds.train.shape == (150, 32, 32, 1) and ds.test.shape == (50, 32, 32, 1)
    assert ds.train.dtype == np.uint8 and ds.class_names == shapes.SHAPE_NAMES
    f_tr, f_te = ds.extra["train_factors"], ds.extra["test_factors"]
    assert f_tr.shape == (150, 5) and f_te.shape == (50, 5) and f_tr.dtype == np.int32
    np.testing.assert_array_equal(ds.train_labels, f_tr[:, 0])
    np.testing.assert_array_equal(ds.test, shapes.render(f_te, 32))  # images match factors
    both = np.concatenate([f_tr, f_te])
    assert len(np.unique(both, axis=0)) == 200  # train and test share no combination
    again = load_dataset(_shapes_data_cfg())
    np.testing.assert_array_equal(again.extra["test_factors"], f_te)
    cut = load_dataset(_shapes_data_cfg(train_limit=40, test_limit=10))
    assert len(cut.train) == len(cut.extra["train_factors"]) == 40
    assert len(cut.test) == len(cut.extra["test_factors"]) == 10
