from __future__ import annotations

import numpy as np
import pytest

from ae_jax.data import fonts

A_ART = "\n".join([".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"])
ZERO_ART = "\n".join([".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."])
LOWER_A_ART = "\n".join([".....", ".....", ".###.", "....#", ".####", "#...#", ".####"])


def _glyph(font: int, name: str) -> np.ndarray:
    images, _, _ = fonts.load_fonts((font,))
    return images[fonts.glyph_names(font).index(name)]


def test_shapes_and_dtypes():
    images, char_index, font_index = fonts.load_fonts()
    assert images.shape == (96, 7, 5, 1)
    assert images.dtype == np.uint8
    assert set(np.unique(images).tolist()) == {0, 255}
    assert char_index.shape == font_index.shape == (96,)
    assert char_index.dtype == np.int32 and font_index.dtype == np.int32


def test_font_names_and_glyph_names():
    assert fonts.FONT_NAMES == ("symbols_digits", "uppercase", "lowercase")
    assert fonts.glyph_names(0) == ["space"] + [chr(c) for c in range(0x21, 0x40)]
    assert fonts.glyph_names(1) == [chr(c) for c in range(0x40, 0x60)]
    assert fonts.glyph_names(2) == [chr(c) for c in range(0x60, 0x7F)] + ["DEL"]
    with pytest.raises(ValueError):
        fonts.glyph_names(3)


def test_render_known_glyphs():
    assert fonts.render(_glyph(1, "A")) == A_ART
    assert fonts.render(_glyph(0, "0")) == ZERO_ART
    assert fonts.render(_glyph(2, "a")) == LOWER_A_ART


def test_render_accepts_shapes_and_dtypes():
    img = _glyph(1, "A")
    as_float = img.astype(np.float32) / 255.0
    assert fonts.render(img[..., 0]) == A_ART
    assert fonts.render(img.reshape(35)) == A_ART
    assert fonts.render(as_float) == A_ART
    assert fonts.render(as_float.reshape(35) * 0.6) == A_ART  # 0.6 >= 0.5 is still on
    with pytest.raises(ValueError):
        fonts.render(np.zeros((5, 7)))


def test_glyphs_distinct_within_each_font():
    for f in range(3):
        images, _, _ = fonts.load_fonts((f,))
        flat = images.reshape(32, 35)
        assert len({row.tobytes() for row in flat}) == 32, fonts.FONT_NAMES[f]


def test_exactly_one_blank_glyph_is_space():
    images, char_index, font_index = fonts.load_fonts()
    blank = np.flatnonzero(images.reshape(96, -1).max(axis=1) == 0)
    assert blank.tolist() == [0]
    assert fonts.glyph_names(int(font_index[0]))[int(char_index[0])] == "space"


def test_indices():
    _, char_index, font_index = fonts.load_fonts()
    np.testing.assert_array_equal(char_index, np.tile(np.arange(32), 3))
    np.testing.assert_array_equal(font_index, np.repeat(np.arange(3), 32))


def test_single_font_and_order():
    all_images, _, _ = fonts.load_fonts()
    images, char_index, font_index = fonts.load_fonts((1,))
    assert images.shape == (32, 7, 5, 1)
    np.testing.assert_array_equal(images, all_images[32:64])
    np.testing.assert_array_equal(char_index, np.arange(32))
    assert (font_index == 1).all()
    images, _, font_index = fonts.load_fonts((2, 0))
    np.testing.assert_array_equal(images[:32], all_images[64:])
    np.testing.assert_array_equal(font_index, np.repeat([2, 0], 32))


def test_validation_names_the_bad_glyph():
    bad = list(map(list, fonts.GLYPHS))
    name, rows = bad[1][1]
    bad[1][1] = (name, rows[:-1] + ("#..x#",))
    with pytest.raises(ValueError, match="'A'"):
        fonts._validate(tuple(map(tuple, bad)))
    bad[1][1] = (name, rows[:-1])
    with pytest.raises(ValueError, match="'A'"):
        fonts._validate(tuple(map(tuple, bad)))
