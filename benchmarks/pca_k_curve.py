"""Reconstruction error vs code size K: PCA, a linear AE and a nonlinear AE (seed 001).

    python benchmarks/pca_k_curve.py --out=runs/k_curve [--ks=2,4,8,16,32,64,128] \
        [--num_epochs=10] [--data=fashion_mnist] [--train_limit=0]

For every K:
  pca        the closed form (`ae_jax.models.pca.fit_pca` on the training split), the best
             any rank-K affine map can do;
  linear     configs/linear_ae.py: 784 -> K -> 784, no activations, MSE;
  nonlinear  784 -> 256 (relu) -> K (linear) -> 256 (relu) -> 784 (sigmoid), MSE;
both autoencoders trained with train.py's code (`train_and_evaluate`, Adam 1e-3, batch 128)
in <out>/<model>_k<K>/ (rerunning resumes them). The error is the mean squared error per
pixel on the test split, in [0, 1] pixel units; the compression ratio is D / K (784 / K on
Fashion-MNIST).

Writes <out>/k_curve.md (the table), <out>/k_curve.json and <out>/k_curve.png, and prints the
table.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys

import jax.numpy as jnp
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # so `configs` imports as in train.py

from ae_jax.data import load_dataset, to_float  # noqa: E402
from ae_jax.engine import train_and_evaluate  # noqa: E402
from ae_jax.metric_writers import read_metrics  # noqa: E402
from ae_jax.models.pca import PCA, fit_pca  # noqa: E402
from configs import linear_ae  # noqa: E402

MODELS = ("pca", "linear", "nonlinear")


def ae_config(kind: str, k: int, data: str, num_epochs: int, train_limit: int):
    """The linear or nonlinear autoencoder of code size k (see the module docstring)."""
    config = linear_ae.get_config()
    config.data.name = data
    config.data.train_limit = train_limit
    config.model.latent_dim = k
    config.num_epochs = num_epochs
    config.progress_bar = False
    config.tensorboard = False
    config.checkpoint_every_epochs = num_epochs  # only the last epoch matters here
    if kind == "nonlinear":
        config.model.hidden_sizes = (256,)
        config.model.activation = "relu"
        config.model.output_activation = "sigmoid"
    return config


def pca_errors(dataset, ks) -> dict[int, float]:
    """Test MSE per pixel of PCA with K components, for every K (one SVD for all)."""
    params, _ = fit_pca(to_float(dataset.train), max(ks))
    test = jnp.asarray(to_float(dataset.test))
    errors = {}
    for k in ks:
        model = PCA(dataset.example_shape, k)
        basis = params["basis"]
        sub = {"basis": {"mean": basis["mean"], "components": basis["components"][:, :k]}}
        x_hat, _ = model.apply({"params": sub}, test)
        errors[k] = float(jnp.mean(jnp.square(x_hat - test)))
    return errors


def ae_error(kind, k, data, num_epochs, train_limit, out) -> float:
    """Train (or resume) one autoencoder; its last test MSE per pixel."""
    workdir = os.path.join(out, f"{kind}_k{k}")
    train_and_evaluate(ae_config(kind, k, data, num_epochs, train_limit), workdir)
    test = [r for r in read_metrics(workdir) if r["split"] == "test"]
    return float(test[-1]["mse"])


def k_curve(out: str, ks=(2, 4, 8, 16, 32, 64, 128), num_epochs: int = 10,
            data: str = "fashion_mnist", train_limit: int = 0) -> list[dict]:
    """Rows {K, ratio, pca, linear, nonlinear} of test MSE per pixel; also written to `out`."""
    os.makedirs(out, exist_ok=True)
    cfg = ae_config("linear", ks[0], data, num_epochs, train_limit).data
    dataset = load_dataset(cfg)
    dim = math.prod(dataset.example_shape)
    pca = pca_errors(dataset, ks)
    rows = []
    for k in ks:
        row = {"K": k, "ratio": dim / k, "pca": pca[k]}
        for kind in ("linear", "nonlinear"):
            row[kind] = ae_error(kind, k, data, num_epochs, train_limit, out)
        rows.append(row)
        print(f"K={k}: " + ", ".join(f"{m} {row[m]:.5f}" for m in MODELS), flush=True)
    write(out, rows, dict(data=dataset.describe(), num_epochs=num_epochs, dim=dim))
    return rows


def table(rows) -> str:
    lines = ["| K | compression D/K | PCA | linear AE | nonlinear AE |", "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['K']} | {r['ratio']:.1f} | {r['pca']:.5f} | {r['linear']:.5f} | "
                     f"{r['nonlinear']:.5f} |")
    return "\n".join(lines)


def write(out: str, rows, meta: dict) -> None:
    text = (f"Test MSE per pixel vs code size K ({meta['data']}; autoencoders trained "
            f"for {meta['num_epochs']} epochs)\n\n{table(rows)}\n")
    with open(os.path.join(out, "k_curve.md"), "w") as f:
        f.write(text)
    with open(os.path.join(out, "k_curve.json"), "w") as f:
        json.dump({**meta, "rows": rows}, f, indent=2)
    fig, ax = plt.subplots(figsize=(6, 4))
    ks = [r["K"] for r in rows]
    for m, label in zip(MODELS, ("PCA", "linear AE", "nonlinear AE"), strict=True):
        ax.plot(ks, [r[m] for r in rows], marker="o", label=label)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(ks, [f"{k}\n({meta['dim'] / k:.0f}x)" for k in ks])
    ax.set_xlabel("code size K (compression D/K)")
    ax.set_ylabel("test MSE per pixel")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out, "k_curve.png"), dpi=100)
    plt.close(fig)
    print(text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="output folder (workdirs and table)")
    parser.add_argument("--ks", default="2,4,8,16,32,64,128", help="comma-separated K")
    parser.add_argument("--num_epochs", type=int, default=10)
    parser.add_argument("--data", default="fashion_mnist")
    parser.add_argument("--train_limit", type=int, default=0, help="0: all training examples")
    args = parser.parse_args(argv)
    ks = tuple(int(k) for k in args.ks.split(","))
    k_curve(args.out, ks, args.num_epochs, args.data, args.train_limit)


if __name__ == "__main__":
    main()
