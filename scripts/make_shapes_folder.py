"""Render a small image folder of shapes, one sub-folder (class) per shape, for the VAE of
seed 003 (whose 426 photographs are not available):

    python scripts/make_shapes_folder.py --out=runs/data/shapes [--num_images=426] [--size=96]
    python train.py --config=configs/vae_images_80.py --workdir=runs/vae_images_80

Each image is a filled light shape (circle, square, triangle, star, cross) of random size,
position, rotation and brightness on a black background, size x size pixels (the loader
resizes to data.image_size). The same seed gives the same files.
"""

from __future__ import annotations

import argparse
import math
import os

import numpy as np
from PIL import Image, ImageDraw

SHAPES = ("circle", "square", "triangle", "star", "cross")


def _polygon(shape: str, cx: float, cy: float, r: float, angle: float):
    """Vertices of a regular polygon, star or cross of radius r around (cx, cy)."""
    if shape == "square":
        radii, n = [r], 4
    elif shape == "triangle":
        radii, n = [r], 3
    elif shape == "star":
        radii, n = [r, 0.45 * r], 10
    else:  # cross: 12 vertices of a plus sign with arms of half-width r / 3
        a = r / 3
        pts = [(a, r), (a, a), (r, a), (r, -a), (a, -a), (a, -r), (-a, -r), (-a, -a),
               (-r, -a), (-r, a), (-a, a), (-a, r)]
        c, s = math.cos(angle), math.sin(angle)
        return [(cx + x * c - y * s, cy + x * s + y * c) for x, y in pts]
    return [(cx + radii[i % len(radii)] * math.cos(angle + 2 * math.pi * i / n),
             cy + radii[i % len(radii)] * math.sin(angle + 2 * math.pi * i / n))
            for i in range(n)]


def render(shape: str, size: int, rng: np.random.Generator) -> Image.Image:
    """One grayscale image of `shape`."""
    img = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(img)
    r = rng.uniform(0.22, 0.4) * size
    cx, cy = rng.uniform(r, size - r, size=2)
    fill = int(rng.integers(170, 256))
    if shape == "circle":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
    else:
        draw.polygon(_polygon(shape, cx, cy, r, rng.uniform(0, 2 * math.pi)), fill=fill)
    return img


def make_shapes_folder(out_dir: str, num_images: int = 426, size: int = 96,
                       seed: int = 0) -> list[str]:
    """Write `num_images` PNGs into out_dir/<shape>/NNNN.png (classes in turn); returns the
    paths."""
    rng = np.random.default_rng(seed)
    for shape in SHAPES:
        os.makedirs(os.path.join(out_dir, shape), exist_ok=True)
    paths = []
    for i in range(num_images):
        shape = SHAPES[i % len(SHAPES)]
        path = os.path.join(out_dir, shape, f"{i:04d}.png")
        render(shape, size, rng).save(path)
        paths.append(path)
    return paths


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="runs/data/shapes")
    parser.add_argument("--num_images", type=int, default=426)
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    paths = make_shapes_folder(args.out, args.num_images, args.size, args.seed)
    print(f"wrote {len(paths)} images of {args.size}x{args.size} into {args.out}")


if __name__ == "__main__":
    main()
