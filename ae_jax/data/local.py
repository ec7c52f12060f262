"""Sources that need no network: scikit-learn's digits, the fonts, an image folder, .npz."""

from __future__ import annotations

import os

import numpy as np

from ae_jax.data.dataset import DATA_SOURCES, Dataset, DataUnavailableError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


def _split(x, y, test_fraction: float, seed: int, extra=None):
    """A fixed random train/test split (the same for every run with the same seed)."""
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = max(1, int(round(len(x) * test_fraction)))
    test, train = order[:n_test], order[n_test:]
    pick = lambda a, i: None if a is None else a[i]  # noqa: E731
    extras = {}
    for key, value in (extra or {}).items():
        extras[f"train_{key}"], extras[f"test_{key}"] = value[train], value[test]
    return x[train], pick(y, train), x[test], pick(y, test), extras


def load_digits(test_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """scikit-learn's bundled 1,797 8x8 digits; pixel values 0..16 rescaled to 0..255."""
    from sklearn.datasets import load_digits as sk_digits

    bunch = sk_digits()
    x = np.round(bunch.images * (255.0 / 16.0)).astype(np.uint8)[..., None]  # (N, 8, 8, 1)
    y = bunch.target.astype(np.int32)
    xtr, ytr, xte, yte, _ = _split(x, y, test_fraction, seed)
    return Dataset(xtr, xte, ytr, yte, name="digits", source="sklearn.datasets.load_digits",
                   class_names=tuple(str(d) for d in range(10)))


def load_fonts_dataset(fonts=(0, 1, 2), test_fraction: float = 0.0, seed: int = 0) -> Dataset:
    """The 5x7 font bitmaps. With test_fraction 0 (the course's setting) the test split is the
    training set itself; otherwise held-out characters. Labels are the character index; the
    font index is in `extra["<split>_font"]`."""
    from ae_jax.data import fonts as font_data

    x, chars, font_ids = font_data.load_fonts(tuple(fonts))
    names = tuple(f"{f}:{n}" for f in fonts for n in font_data.glyph_names(f))
    labels = np.arange(len(x), dtype=np.int32)  # one label per glyph; names in class_names
    if test_fraction <= 0:
        extra = {"train_font": font_ids, "test_font": font_ids,
                 "train_char": chars, "test_char": chars}
        return Dataset(x, x, labels, labels, name="fonts", source="ae_jax.data.fonts",
                       class_names=names, extra=extra)
    xtr, ytr, xte, yte, extra = _split(x, labels, test_fraction, seed,
                                       {"font": font_ids, "char": chars})
    return Dataset(xtr, xte, ytr, yte, name="fonts", source="ae_jax.data.fonts",
                   class_names=names, extra=extra)


def load_image_folder(directory: str, image_size, grayscale: bool = True,
                      test_fraction: float = 0.1, seed: int = 0) -> Dataset:
    """Every image under `directory`, resized to image_size (H, W), grayscale or RGB.

    Images in sub-folders get the sub-folder's name as their class; images directly in the
    folder get class 0.
    """
    from PIL import Image

    if not directory or not os.path.isdir(directory):
        raise DataUnavailableError(
            f"image folder {directory or ''!r} does not exist; set --config.data.data_dir to a "
            "folder of images (sub-folders become classes)"
        )
    paths = sorted(
        os.path.join(root, f)
        for root, _, files in os.walk(directory)
        for f in files
        if f.lower().endswith(IMAGE_SUFFIXES)
    )
    if not paths:
        raise DataUnavailableError(
            f"no images ({', '.join(IMAGE_SUFFIXES)}) found under {directory!r}"
        )
    class_of = lambda p: os.path.relpath(os.path.dirname(p), directory)  # noqa: E731
    classes = sorted({class_of(p) for p in paths})
    h, w = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    mode = "L" if grayscale else "RGB"
    images = []
    for p in paths:
        try:
            with Image.open(p) as im:
                im = im.convert(mode).resize((w, h), Image.BILINEAR)
                images.append(np.asarray(im, np.uint8).reshape(h, w, -1))
        except (OSError, SyntaxError, ValueError) as e:  # PIL's errors for damaged files
            raise ValueError(f"image {p} cannot be read ({type(e).__name__}: {e}); remove or "
                             "replace it (data.data_dir)") from None
    x = np.stack(images)  # (N, H, W, C)
    y = np.array([classes.index(class_of(p)) for p in paths], np.int32)
    xtr, ytr, xte, yte, _ = _split(x, y, test_fraction, seed)
    return Dataset(xtr, xte, ytr, yte, name="image_folder", source=f"folder:{directory}",
                   class_names=tuple(classes))


def load_npz(path: str) -> Dataset:
    """Arrays `x_train`, `x_test` (and optional `y_train`, `y_test`) from an .npz file.

    Examples may be (N, H, W, C), (N, H, W) or flat (N, D); uint8 is scaled by 1/255 in the
    step, floats are used as they are.
    """
    if not path or not os.path.exists(path):
        raise DataUnavailableError(f"npz file {path!r} does not exist (--config.data.path)")
    with np.load(path) as f:
        missing = [k for k in ("x_train", "x_test") if k not in f]
        if missing:
            raise ValueError(f"{path} lacks {missing}; it holds {sorted(f.files)}")
        arrays = {k: f[k] for k in f.files}

    def as_images(a):
        if a.ndim == 2:
            return a[:, None, :, None]  # (N, D) -> (N, 1, D, 1)
        if a.ndim == 3:
            return a[..., None]  # (N, H, W) -> (N, H, W, 1)
        return a

    y = lambda k: arrays[k].astype(np.int32) if k in arrays else None  # noqa: E731
    return Dataset(as_images(arrays["x_train"]), as_images(arrays["x_test"]),
                   y("y_train"), y("y_test"), name="npz", source=f"npz:{path}")


@DATA_SOURCES.register("digits")
def digits_from_config(cfg) -> Dataset:
    """data.name=digits: test_fraction, split_seed."""
    return load_digits(cfg.test_fraction, cfg.split_seed)


@DATA_SOURCES.register("fonts")
def fonts_from_config(cfg) -> Dataset:
    """data.name=fonts: fonts, test_fraction (0: test on the training set), split_seed."""
    return load_fonts_dataset(tuple(cfg.fonts), cfg.test_fraction, cfg.split_seed)


@DATA_SOURCES.register("image_folder")
def image_folder_from_config(cfg) -> Dataset:
    """data.name=image_folder: data_dir, image_size (pixels), grayscale, test_fraction,
    split_seed."""
    return load_image_folder(cfg.data_dir or None, cfg.image_size, cfg.grayscale,
                             cfg.test_fraction, cfg.split_seed)


@DATA_SOURCES.register("npz")
def npz_from_config(cfg) -> Dataset:
    """data.name=npz: path."""
    return load_npz(cfg.path)
