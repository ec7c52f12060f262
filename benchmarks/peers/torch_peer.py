"""Idiomatic PyTorch peer (eager; `--compile` for torch.compile): the four workloads.

    python benchmarks/peers/torch_peer.py --model deep --epochs 3 [--loader index] [--compile]

nn.Module models emitting logits, BCE-with-logits (the sigmoid folded into the loss),
torch.optim.Adam 1e-3, all training images every epoch (the last batch partial). Batches from
`--loader dataloader` (the default: DataLoader over a TensorDataset, shuffle=True) or
`--loader index` (a randperm, then tensor indexing). Validation in batches of 128 under
no_grad. Prints one JSON line.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import torch
import torch.nn.functional as F
from _idx import parser, report, workload_data
from torch import nn


def mlp(sizes: list[int]) -> nn.Sequential:
    """Linear layers with ReLU between them; the last emits logits."""
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def conv_dae() -> nn.Sequential:
    """Conv32-pool-Conv32-pool -> Conv32-up-Conv32-up-Conv1 (logits), 3x3 'same', NCHW."""
    def conv(cin, cout):
        return nn.Conv2d(cin, cout, 3, padding=1)

    def up():
        return nn.Upsample(scale_factor=2, mode="nearest")

    return nn.Sequential(conv(1, 32), nn.ReLU(), nn.MaxPool2d(2),
                         conv(32, 32), nn.ReLU(), nn.MaxPool2d(2),
                         conv(32, 32), nn.ReLU(), up(), conv(32, 32), nn.ReLU(), up(),
                         conv(32, 1))


class VAE(nn.Module):
    """784 -> 256 (relu) -> mean, log-variance (2); z -> 256 (relu) -> 784 logits."""

    def __init__(self, hidden: int = 256, latent: int = 2):
        super().__init__()
        self.enc, self.mean, self.logvar = (nn.Linear(784, hidden), nn.Linear(hidden, latent),
                                            nn.Linear(hidden, latent))
        self.dec = nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, 784))

    def forward(self, x):
        h = F.relu(self.enc(x))
        mean, logvar = self.mean(h), self.logvar(h)
        z = mean + torch.exp(0.5 * logvar) * torch.randn_like(mean)
        return self.dec(z), mean, logvar


def make_model(name: str) -> nn.Module:
    return {"dense": lambda: mlp([784, 32, 784]),
            "deep": lambda: mlp([784, 128, 64, 32, 64, 128, 784]),
            "vae": VAE, "conv_dae": conv_dae}[name]()


def make_loss(name: str, model: Callable) -> Callable:
    """loss(inputs, targets) -> the batch mean: BCE per pixel for the autoencoders; for the
    VAE, BCE summed over pixels + KL(q(z|x) || N(0, I)) per example."""
    def loss(inputs, targets):
        if name == "vae":
            logits, mean, logvar = model(inputs)
            rec = F.binary_cross_entropy_with_logits(logits, targets, reduction="none").sum(1)
            kl = -0.5 * torch.sum(1 + logvar - mean.pow(2) - logvar.exp(), dim=1)
            return (rec + kl).mean()
        return F.binary_cross_entropy_with_logits(model(inputs), targets)
    return loss


def batches(loader: str, inputs: torch.Tensor, targets: torch.Tensor, batch: int
            ) -> Callable[[], Iterator[tuple[torch.Tensor, torch.Tensor]]]:
    """A function giving one epoch's shuffled (inputs, targets) batches."""
    if loader == "dataloader":
        data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(inputs, targets),
                                           batch_size=batch, shuffle=True)
        return lambda: iter(data)

    def index():
        perm = torch.randperm(len(inputs))
        for i in range(0, len(inputs), batch):
            idx = perm[i:i + batch]
            yield inputs[idx], targets[idx]
    return index


def train_epoch(loss: Callable, opt: torch.optim.Optimizer, epoch_batches: Iterator) -> float:
    """One pass of Adam steps; the mean training loss (one sync, at the end)."""
    total, count = torch.zeros(()), 0
    for inputs, targets in epoch_batches:
        value = loss(inputs, targets)
        opt.zero_grad(set_to_none=True)
        value.backward()
        opt.step()
        total += value.detach() * len(inputs)
        count += len(inputs)
    return total.item() / count


@torch.no_grad()
def validate(loss: Callable, inputs: torch.Tensor, targets: torch.Tensor, batch: int) -> float:
    total = 0.0
    for i in range(0, len(inputs), batch):
        total += loss(inputs[i:i + batch], targets[i:i + batch]).item() * len(inputs[i:i + batch])
    return total / len(inputs)


def main():
    ap = parser(__doc__.split("\n\n")[0])
    ap.add_argument("--loader", choices=["dataloader", "index"], default="dataloader")
    ap.add_argument("--compile", action="store_true", help="torch.compile the model")
    args = ap.parse_args()
    t_start = time.perf_counter()
    torch.manual_seed(args.seed)
    arrays = workload_data(args, image_shape=(1, 28, 28))
    in_train, x_train, in_test, x_test = map(torch.from_numpy, arrays)
    model = make_model(args.model)
    num_params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss = make_loss(args.model, torch.compile(model) if args.compile else model)
    epoch_batches = batches(args.loader, in_train, x_train, args.batch)

    train_s, epoch_s, train_losses, val_losses = [], [], [], []
    t_fit = time.perf_counter()
    for _ in range(args.epochs):
        t0 = time.perf_counter()
        model.train()
        train_losses.append(train_epoch(loss, opt, epoch_batches()))
        t1 = time.perf_counter()
        model.eval()
        val_losses.append(validate(loss, in_test, x_test, args.batch))
        train_s.append(t1 - t0)
        epoch_s.append(time.perf_counter() - t0)
    fit_total = time.perf_counter() - t_fit
    framework = f"torch-{args.loader}" + ("+compile" * args.compile)
    report(framework, {"torch": torch.__version__, "threads": torch.get_num_threads()}, args,
           params=num_params, train_samples=len(x_train), val_samples=len(x_test),
           train_s=train_s, epoch_s=epoch_s, train_losses=train_losses,
           val_losses=val_losses, setup_s=t_fit - t_start, fit_total_s=fit_total)


if __name__ == "__main__":
    main()
