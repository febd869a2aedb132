"""The loss curves of a distillation run as a PNG (`losses.png`)."""

from keras_mobilebert.utils.files import atomic_path

# A panel: (title, column prefix or None, column names or None, log scale).
# A prefix panel draws every `<prefix><layer>` column, one line per layer.
LAYERWISE_PANELS = (
    ("feature map", "fm_l", None, True),
    ("mean", "mean_l", None, True),
    ("variance", "var_l", None, True),
    ("attention KL", "att_l", None, True),
)
DISTILLATION_PANELS = LAYERWISE_PANELS + (
    ("pre-training (MLM, NSP)", None, ("mlm_loss", "nsp_loss"), True),
)
# Task distillation and fine-tuning (`task_run.TaskTrainingRun`): the
# total, soft and gold losses, the agreement with the gold labels and the
# teacher, and the layer-wise losses when there are any.
TASK_PANELS = (
    ("task losses", None, ("loss", "kd_loss", "hard_loss"), True),
    (
        "accuracy, teacher agreement",
        None,
        ("accuracy", "teacher_agreement", "val_accuracy", "val_macro_f1"),
        False,
    ),
) + LAYERWISE_PANELS


def _panel_keys(rows, prefix, names):
    if prefix:
        return sorted(
            {k for r in rows for k in r if k.startswith(prefix) and r[k]},
            key=lambda k: int(k[len(prefix) :]),
        )
    return [k for k in names if any(r.get(k) for r in rows)]


def plot_losses(rows, path, stages=None, panels=DISTILLATION_PANELS):
    """Plot losses over the global step to a PNG (atomically).

    One panel per entry of `panels` that has data (by default feature map,
    mean, variance and attention, one line per layer, plus the
    pre-training losses), with stage boundaries marked.

    Args:
        rows: CSV rows (dicts) as written by `DistillationRun` or
            `TaskTrainingRun`.
        path: output PNG path.
        stages: list of `Stage` or None.
        panels: sequence of `(title, prefix, names, log_scale)`:
            `DISTILLATION_PANELS` (default) or `TASK_PANELS`.

    Example:
    ```python
    rows = list(csv.DictReader(open("runs/pkt/losses.csv")))
    plot_losses(rows, "losses.png")
    ```
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    drawn = [p for p in panels if _panel_keys(rows, p[1], p[2])]
    drawn = drawn or list(panels[:1])
    fig, axes = plt.subplots(
        1, len(drawn), figsize=(4 * len(drawn), 3.4), squeeze=False
    )
    for ax, (title, prefix, names, log_scale) in zip(axes[0], drawn):
        keys = _panel_keys(rows, prefix, names)
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
            if log_scale:
                ax.set_yscale("log")
            ax.legend(fontsize=6)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)


def plot_confusion_matrix(matrix, label_names, path, title=""):
    """A confusion matrix as a PNG (atomically): rows true, columns
    predicted, each cell's count written in it.

    Args:
        matrix: `(classes, classes)` counts (`classification_report`).
        label_names: sequence of strings, one per class.
        path: output PNG path.
        title: string.

    Example:
    ```python
    plot_confusion_matrix(report["confusion_matrix"], names, "cm.png")
    ```
    """
    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    matrix = np.asarray(matrix)
    size = 1.5 + 0.45 * len(label_names)
    fig, ax = plt.subplots(figsize=(size + 1.5, size))
    image = ax.imshow(matrix, cmap="Blues")
    ticks = range(len(label_names))
    short = [n if len(n) <= 24 else n[:21] + "..." for n in label_names]
    ax.set_xticks(ticks, short, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(ticks, short, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)
    threshold = matrix.max() / 2 if matrix.size else 0
    for (row, column), count in np.ndenumerate(matrix):
        ax.text(
            column,
            row,
            str(count),
            ha="center",
            va="center",
            fontsize=6,
            color="white" if count > threshold else "black",
        )
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)
