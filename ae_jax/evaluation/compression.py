"""Task `compression`: the code as a compressed image, against PCA and JPEG.

An image of H*W*C uint8 pixels (784 bytes for MNIST) is sent as its K-dimensional code:

  float32  4K bytes;  float16  2K bytes;
  uint8    K bytes: per-dimension affine quantisation with lo_j, hi_j = the min and max of
           dimension j over the training codes and s_j = (hi_j - lo_j) / 255,
               q_j = round((z_j - lo_j) / s_j),   z_hat_j = lo_j + q_j s_j
  entropy  an estimate of arithmetic-coding the uint8 symbols with a static per-dimension
           model p_j (training-code histograms, +1 smoothing): sum_j -log2 p_j(q_j) / 8 bytes.

compression ratio = H*W*C / bytes. Distortion of the decoded image: PSNR = 10 log10(1 / MSE)
per image (pixels in [0, 1]) and SSIM (ae_jax.image_metrics), averaged over the test images.
The decoder's weights, the quantiser's table and JPEG's tables are shared by all images and
are not counted.

Baselines at the same sizes: PCA codes of K dimensions (fitted on the training images) under
the same three precisions, and JPEG (Pillow) at several qualities, as whole files and as
"payload" (the bytes after the header, i.e. if the tables were shared). A rate-distortion
figure plots PSNR against bytes per image for all of them; `--option='workdirs=[...]'` adds the
autoencoders of other workdirs (other code sizes) as further points.

    python evaluate.py --workdir=runs/dense_ae --task=compression
"""

from __future__ import annotations

import io
import os

import jax
import numpy as np

from ae_jax import viz
from ae_jax.data import to_float
from ae_jax.evaluation import task
from ae_jax.evaluation.options import Option
from ae_jax.evaluation.retrieval import (
    PCA_FIT_LIMIT,
    RUNS,
    images,
    pca_model,
    require_encoder,
    runs_to_evaluate,
    stage,
)
from ae_jax.image_metrics import largest_window, psnr, ssim
from ae_jax.run import load

BYTES_PER_VALUE = {"float32": 4, "float16": 2, "uint8": 1}


_ssim = jax.jit(ssim, static_argnames=("window_size",))


def quality(x, x_hat) -> dict[str, float]:
    """Mean PSNR and SSIM (ae_jax.image_metrics) of decoded images against the originals,
    (N, H, W, C) in [0, 1]; SSIM's window shrinks to fit small images (7 for 8x8)."""
    x, x_hat = np.asarray(x, np.float32), np.asarray(x_hat, np.float32).reshape(np.shape(x))
    window = largest_window(x.shape[1], x.shape[2])
    return {"psnr": float(np.mean(psnr(x_hat, x))),
            "ssim": float(np.mean(_ssim(x_hat, x, window_size=window)))}


def quantiser(train_codes: np.ndarray):
    """(quantise, dequantise) of per-dimension 8-bit affine quantisation (module docstring)."""
    lo, hi = train_codes.min(0), train_codes.max(0)
    scale = np.where(hi > lo, (hi - lo) / 255.0, 1.0)

    def quantise(z):
        return np.clip(np.round((z - lo) / scale), 0, 255).astype(np.uint8)

    def dequantise(q):
        return (lo + q.astype(np.float32) * scale).astype(np.float32)

    return quantise, dequantise


def entropy_bytes(train_symbols: np.ndarray, test_symbols: np.ndarray) -> float:
    """Mean bytes per test example of uint8 symbols (N, K) under static per-dimension
    models p_j = (count_j + 1) / (N + 256) from the training symbols."""
    k = train_symbols.shape[1]
    counts = np.stack([np.bincount(train_symbols[:, j], minlength=256) for j in range(k)])
    logp = np.log2(counts + 1.0) - np.log2(len(train_symbols) + 256.0)  # (K, 256)
    bits = -logp[np.arange(k)[None], test_symbols.astype(np.int64)]  # (N, K)
    return float(bits.sum(1).mean() / 8.0)


def codec_points(train_codes, test_codes, decode, x_test, raw_bytes: int) -> dict:
    """Bytes, ratio, PSNR and SSIM of decoded test images at each code precision."""
    quantise, dequantise = quantiser(train_codes)
    k = test_codes.shape[1]
    versions = {"float32": test_codes,
                "float16": test_codes.astype(np.float16).astype(np.float32),
                "uint8": dequantise(quantise(test_codes))}
    out = {}
    for name, codes in versions.items():
        b = k * BYTES_PER_VALUE[name]
        out[name] = {"bytes": b, "ratio": raw_bytes / b, **quality(x_test, decode(codes))}
    eb = entropy_bytes(quantise(train_codes), quantise(test_codes))
    out["uint8_entropy_coded"] = {**out["uint8"], "bytes": eb, "ratio": raw_bytes / eb}
    return out


def jpeg_header_length(data: bytes) -> int:
    """Bytes before the entropy-coded scan: up to the end of the SOS (0xFFDA) segment."""
    sos = data.index(b"\xff\xda")
    return sos + 2 + int.from_bytes(data[sos + 2: sos + 4], "big")


def jpeg_points(x_uint8: np.ndarray, qualities) -> list[dict]:
    """JPEG (Pillow, 4:2:0 default, no optimisation) of (N, H, W, C) uint8 images."""
    from PIL import Image

    out = []
    x = to_float(x_uint8)
    for q in qualities:
        sizes, payloads, decoded = [], [], []
        for img in x_uint8:
            buf = io.BytesIO()
            Image.fromarray(img[..., 0] if img.shape[-1] == 1 else img).save(
                buf, format="JPEG", quality=int(q))
            data = buf.getvalue()
            sizes.append(len(data))
            payloads.append(len(data) - jpeg_header_length(data))
            dec = np.asarray(Image.open(io.BytesIO(data)), np.uint8)
            decoded.append(dec.reshape(img.shape))
        out.append({"quality": int(q), "bytes": float(np.mean(sizes)),
                    "payload_bytes": float(np.mean(payloads)),
                    **quality(x, to_float(np.stack(decoded)))})
    return out


def ae_codec(run):
    """(encode (N, ...) -> (N, K), decode (N, K) -> images in the output range) of a run."""
    code_shape = run.code_shape()

    def decode(codes):
        z = codes.reshape((len(codes), *code_shape))  # (N, K) -> the model's code shape
        return np.clip(run.decode(z), 0.0, 1.0)

    return run.encode, decode


def pca_codec(pca_encode, pca_decode, size: int, example_shape):
    """(encode (N, ...) -> (N, k), decode (N, k) -> images) of PCA truncated to its first k =
    `size` directions: with orthonormal V, decoding [z_1..z_k, 0, ..., 0] is rank-k PCA."""

    def decode(z):
        full = np.zeros((len(z), max_size), np.float32)
        full[:, :size] = z  # (N, k) -> (N, K_max)
        x_hat = np.clip(pca_decode(full), 0.0, 1.0)  # (N, D)
        return x_hat.reshape((len(z), *example_shape))

    max_size = pca_encode(np.zeros((1, int(np.prod(example_shape))), np.float32)).shape[1]
    return (lambda x: pca_encode(images(x))[:, :size]), decode


def rate_distortion_figure(points: dict[str, list[tuple[float, float]]], raw_bytes: int):
    """PSNR against bytes per image, one line per codec; points {name: [(bytes, psnr)]}."""
    fig, ax = viz.pyplot().subplots(figsize=(6.5, 4.2))
    for name, pts in points.items():
        pts = sorted(pts)
        ax.plot(*zip(*pts, strict=True), marker="o", ms=3, label=name)
    ax.axvline(raw_bytes, color="k", lw=0.8, ls=":", label="raw uint8 image")
    ax.set_xscale("log")
    ax.set_xlabel("bytes per image")
    ax.set_ylabel("PSNR (dB)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


WORKDIRS = Option("workdirs", (), "other autoencoder workdirs (same dataset) added to the "
                  "rate-distortion curve", kind="list")


def _ae_runs(run, out_dir, options):
    """[(name, Run)]: this workdir's runs (RUNS), then those of option `workdirs`."""
    multi = run.config.num_runs > 1
    out = [(f"ae_run{r}" if multi else "ae", one)
           for r, one in runs_to_evaluate(run, out_dir, options)]
    for w in options["workdirs"]:
        other = load(str(w))
        require_encoder(other, "compression")
        if other.dataset.name != run.dataset.name:
            raise ValueError(f"workdir {w} was trained on {other.dataset.name!r}, not "
                             f"{run.dataset.name!r}")
        out.append((f"ae:{w}", other))
    return out


@task("compression",
      WORKDIRS,
      Option("pca_sizes", (2, 4, 8, 16, 32, 64, 128), "PCA code sizes compared (components; "
             "the code's size is added)"),
      Option("jpeg_qualities", (1, 5, 10, 25, 50, 75, 90), "JPEG qualities compared (1-95)"),
      Option("num_images", 0, "test images scored (0: all)"),
      Option("jpeg_images", 1000, "of those, the first N compressed by JPEG"),
      PCA_FIT_LIMIT, RUNS)
def compression(run, out_dir: str, options: dict) -> dict:
    """The code as a compressed image: bytes, PSNR and SSIM against PCA and JPEG."""
    require_encoder(run, "compression")
    ds = run.dataset
    if ds.train.dtype != np.uint8:
        raise ValueError(f"task 'compression' compares with 8-bit pixels and JPEG, so it needs "
                         f"uint8 images; {ds.name!r} holds {ds.train.dtype}")
    n = options["num_images"]
    test_u8 = ds.test[:n] if n else ds.test
    x_test = to_float(test_u8)  # (N, H, W, C)
    raw = int(np.prod(ds.example_shape))
    result = {"epoch": run.epoch, "raw_bytes": raw, "num_images": len(test_u8)}
    sizes = {int(k) for k in options["pca_sizes"]}
    for name, one in _ae_runs(run, out_dir, options):
        with stage("compression", f"{name}: encode, decode and score {len(test_u8)} images "
                   "at 3 precisions"):
            encode, decode = ae_codec(one)
            train_codes, test_codes = encode(ds.train), encode(test_u8)  # (N, K)
            result[name] = {"code_size": int(test_codes.shape[1]),
                            **codec_points(train_codes, test_codes, decode, x_test, raw)}
        sizes.add(int(test_codes.shape[1]))
    sizes = sorted(k for k in sizes if k <= raw)
    x_train = images(ds.train)
    with stage("compression", f"PCA to {max(sizes)} components"):
        pca = pca_model(x_train, max(sizes), options["pca_fit_limit"])
    result["pca"] = {}
    for k in sizes:
        with stage("compression", f"PCA-{k}: encode, decode and score {len(test_u8)} images"):
            encode, decode = pca_codec(*pca, k, ds.example_shape)
            result["pca"][str(k)] = codec_points(encode(ds.train), encode(test_u8), decode,
                                                 x_test, raw)
    m = options["jpeg_images"]
    qualities = options["jpeg_qualities"]
    with stage("compression", f"JPEG of {min(m, len(test_u8))} images at {len(qualities)} "
               "qualities"):
        result["jpeg"] = jpeg_points(test_u8[:m], qualities)
    result["jpeg_images"] = min(m, len(test_u8))
    viz.save(rate_distortion_figure(_curves(result), raw),
             os.path.join(out_dir, "compression_rate_distortion.png"))
    return result


def _curves(result: dict) -> dict:
    curves = {}
    aes = [v for k, v in result.items() if k.startswith("ae")]
    for prec in ("float32", "uint8", "uint8_entropy_coded"):
        curves[f"AE {prec}"] = [(a[prec]["bytes"], a[prec]["psnr"]) for a in aes]
        curves[f"PCA {prec}"] = [(p[prec]["bytes"], p[prec]["psnr"])
                                 for p in result["pca"].values()]
    curves["JPEG file"] = [(j["bytes"], j["psnr"]) for j in result["jpeg"]]
    curves["JPEG payload"] = [(j["payload_bytes"], j["psnr"]) for j in result["jpeg"]]
    return curves
