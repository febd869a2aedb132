"""The loss curves of a distillation run as a PNG (`losses.png`)."""

from keras_mobilebert.utils.files import atomic_path


def plot_losses(rows, path, stages=None):
    """Plot per-layer losses over the global step to a PNG (atomically).

    Four panels (feature map, mean, variance, attention), one line per
    layer, plus the pre-training losses, with stage boundaries marked.

    Args:
        rows: CSV rows (dicts) as written by `DistillationRun`.
        path: output PNG path.
        stages: list of `Stage` or None.

    Example:
    ```python
    rows = list(csv.DictReader(open("runs/pkt/losses.csv")))
    plot_losses(rows, "losses.png")
    ```
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    panels = [
        ("fm_l", "feature map"),
        ("mean_l", "mean"),
        ("var_l", "variance"),
        ("att_l", "attention KL"),
        ("", "pre-training (MLM, NSP)"),
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.4))
    for ax, (prefix, title) in zip(axes, panels):
        if prefix:
            keys = sorted(
                {k for r in rows for k in r if k.startswith(prefix) and r[k]},
                key=lambda k: int(k[len(prefix) :]),
            )
        else:
            keys = [
                k
                for k in ("mlm_loss", "nsp_loss")
                if any(r.get(k) for r in rows)
            ]
        for key in keys:
            points = [
                (int(r["global_step"]), float(r[key]))
                for r in rows
                if r.get(key) not in (None, "")
            ]
            if points:
                xs, ys = zip(*points)
                label = f"layer {key[len(prefix) :]}" if prefix else key
                ax.plot(xs, ys, marker=".", label=label)
        if stages:
            boundary = 0
            for stage in stages[:-1]:
                boundary += stage.steps
                ax.axvline(boundary, color="grey", linewidth=0.5)
        ax.set_title(title)
        ax.set_xlabel("step")
        if keys:
            ax.set_yscale("log")
            ax.legend(fontsize=6)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)
