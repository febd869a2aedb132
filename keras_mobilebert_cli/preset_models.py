"""The most specific model a preset directory holds (export, convert)."""

import json
import pathlib


def load_preset_model(preset):
    """The preset's task model (masked LM or text classifier), else backbone.

    Args:
        preset: path of a KerasHub preset directory.

    Raises:
        ConfigError: the preset's `task.json` holds another kind of task.

    Example:
    ```python
    model = load_preset_model("runs/finetune_rotten_tomatoes/preset")
    ```
    """
    import keras_hub

    from keras_mobilebert.utils.errors import ConfigError

    task_file = pathlib.Path(preset) / "task.json"
    if not task_file.is_file():
        return keras_hub.models.Backbone.from_preset(str(preset))
    task = json.loads(task_file.read_text(encoding="utf-8"))
    name = task.get("class_name", "")
    if "MaskedLM" in name:
        return keras_hub.models.MaskedLM.from_preset(str(preset))
    if "Classifier" in name:
        return keras_hub.models.TextClassifier.from_preset(str(preset))
    raise ConfigError(
        f"{task_file} holds a {name!r}: neither a masked LM nor a text "
        "classifier."
    )
