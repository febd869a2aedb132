"""A task's `task.weights.h5` without the optimizer's state.

KerasHub's `Task.save_task_weights` saves every weight outside the backbone,
and a compiled, fitted task's optimizer is one of them: a fine-tuned
MobileBERT classifier's `task.weights.h5` carried Adam's moments for every
backbone variable (60 MB beside a 30 MB `model.weights.h5`), and loading
the preset into a freshly compiled task warned "Skipping variable loading
for optimizer 'adam', because it has 2 variables whereas the saved
optimizer has 391 variables". A preset holds what inference and further
fine-tuning need; resuming training is a checkpoint's job.
"""

import keras


def _task_objects_to_skip(task):
    """The backbone's layers (saved in `model.weights.h5`) and optimizer."""
    skipped = list(task.backbone._flatten_layers())
    if getattr(task, "optimizer", None) is not None:
        skipped.append(task.optimizer)
    return skipped


def _check_weights_file_name(filepath):
    if not str(filepath).endswith(".weights.h5"):
        raise ValueError(
            f"The filename must end in `.weights.h5`; received {filepath}."
        )


class TaskWeightsMixin:
    """Task weights saved and loaded without the optimizer's state.

    Put before the KerasHub task class in the bases. Saving leaves the
    optimizer out of `task.weights.h5`; loading leaves the task's own
    optimizer untouched, so a preset written before this change (with an
    optimizer inside) loads without a warning too.

    Example:
    ```python
    class MyClassifier(TaskWeightsMixin, keras_hub.models.TextClassifier):
        ...

    classifier.fit(x, y)
    classifier.save_to_preset("preset")  # no optimizer in task.weights.h5
    ```
    """

    def save_task_weights(self, filepath):
        _check_weights_file_name(filepath)
        if not self.has_task_weights():
            raise ValueError(
                f"Task {self.name} has no weights outside its backbone; "
                "save_task_weights() has nothing to save."
            )
        keras.saving.save_weights(
            self, filepath, objects_to_skip=_task_objects_to_skip(self)
        )

    def load_task_weights(self, filepath):
        _check_weights_file_name(filepath)
        keras.saving.load_weights(
            self, filepath, objects_to_skip=_task_objects_to_skip(self)
        )
