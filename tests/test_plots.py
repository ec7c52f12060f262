"""The loss-curve figure: a panel per loss term, a line per split and run, labelled axes."""

from matplotlib.ticker import MaxNLocator

from ae_jax import viz


def _records(runs: int):
    rows = []
    for epoch in range(1, 4):
        for split in ("train", "test"):
            value = [1.0 / epoch + r for r in range(runs)] if runs > 1 else 1.0 / epoch
            rows.append({"epoch": epoch, "split": split, "loss": value, "bce": value,
                         "kl": value, "seconds": 0.1})
    return rows


def test_one_panel_per_term_and_one_line_per_split():
    fig = viz.loss_curves(_records(1), ("loss", "bce", "kl", "absent"), "per example", "t")
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == ["loss", "bce", "kl"]
    assert all(len(ax.lines) == 2 for ax in axes)
    assert axes[1].get_ylabel() == "bce (per example)" and axes[0].get_xlabel() == "epoch"
    assert isinstance(axes[0].xaxis.get_major_locator(), MaxNLocator)
    assert list(axes[0].lines[0].get_xdata()) == [1, 2, 3]


def test_every_vmapped_run_gets_its_lines():
    fig = viz.loss_curves(_records(3), ("loss",))
    (ax,) = fig.axes
    assert len(ax.lines) == 6  # 3 runs x 2 splits
    assert sorted(line.get_ydata()[0] for line in ax.lines) == [1.0, 1.0, 2.0, 2.0, 3.0, 3.0]
