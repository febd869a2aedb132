"""The one writer of KerasHub preset directories.

Fine-tuning, conversion and the recipes all save presets through
`save_preset`: atomically (the directory appears whole or not at all) and
without optimizer state (`task_weights.TaskWeightsMixin`).
"""

import pathlib

from keras_hub.models import Task

from keras_mobilebert.models.task_weights import TaskWeightsMixin
from keras_mobilebert.utils.files import atomic_path


def save_preset(model, preset_dir, tokenizer=None, extra_files=None):
    """Write `model` as a KerasHub preset directory, atomically.

    A task is saved with its backbone and preprocessor, a backbone alone
    with `tokenizer` beside it if given. The optimizer's state is never
    saved: a preset is for inference and further fine-tuning, and the task
    it loads into compiles its own optimizer.

    Args:
        model: a keras_mobilebert task (`MobileBertTextClassifier`, ...),
            another KerasHub task without an optimizer (a teacher
            `BertTextClassifier` built with `compile=False`), or a
            backbone.
        preset_dir: str or path. The directory to write; an existing one is
            replaced only once the new one is complete.
        tokenizer: a `keras_mobilebert.MobileBertTokenizer` or None. Saved
            beside a backbone; a task saves its preprocessor's.
        extra_files: dict or None. File name (relative to the preset) to
            the bytes to write there, e.g. head weights that no KerasHub
            task holds.

    Returns:
        The preset directory as a `pathlib.Path`.

    Example:
    ```python
    classifier.fit(x=features, y=labels)
    save_preset(classifier, "my_preset")
    keras_mobilebert.MobileBertTextClassifier.from_preset("my_preset")
    ```
    """
    if (
        isinstance(model, Task)
        and not isinstance(model, TaskWeightsMixin)
        and getattr(model, "optimizer", None) is not None
    ):
        raise TypeError(
            f"{type(model).__name__} would save its optimizer's state in "
            "task.weights.h5; a keras_mobilebert task derives from "
            "TaskWeightsMixin (keras_mobilebert/models/task_weights.py), "
            "and another KerasHub task is saved uncompiled (compile=False, "
            "trained through a wrapper such as distillation.TaskDistiller)."
        )
    if isinstance(model, Task) and tokenizer is not None:
        raise ValueError(
            "A task saves its preprocessor's tokenizer; pass tokenizer only "
            "with a backbone."
        )
    with atomic_path(preset_dir) as tmp:
        model.save_to_preset(str(tmp))
        if tokenizer is not None:
            tokenizer.save_to_preset(str(tmp))
        for name, data in (extra_files or {}).items():
            path = tmp / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    return pathlib.Path(preset_dir)
