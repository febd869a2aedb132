"""Writing a fine-tuned model as a KerasHub preset directory."""

import pathlib

from keras_mobilebert.utils.files import atomic_path


def save_preset(classifier, preset_dir):
    """Save a KerasHub preset atomically: all files appear, or none.

    Args:
        classifier: a KerasHub task (e.g. a `MobileBertClassifier`).
        preset_dir: path of the directory to write.

    Returns:
        The directory as a `pathlib.Path`.

    Example:
    ```python
    preset = save_preset(classifier, "runs/demo/preset")
    ```
    """
    with atomic_path(preset_dir) as tmp:
        classifier.save_to_preset(str(tmp))
    return pathlib.Path(preset_dir)
