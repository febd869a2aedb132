"""`TaskDistiller`: train a student classifier on a teacher's cached logits.

Task-specific distillation, as TinyBERT and Tang et al. (2019) do it
beyond the MobileBERT paper: a fine-tuned teacher classifier labels the
training text (and augmented text) once (`teacher_logits`), and the
student learns its soft labels at a temperature
(`losses.task_distillation_loss`), optionally mixed with the gold labels
where there are any, and optionally with MobileBERT's layer-wise losses
(the existing `Distiller` computes them; the teacher then runs every
step, since hidden states are too large to cache).

Batches are dicts: `token_ids`, `segment_ids`, `padding_mask` (trimmed
per batch, any width), `teacher_logits`, and optionally `labels` and
`label_weights` (0 where an example has no gold label). `task_dataset`
builds them from packed arrays, length-bucketed and resumable at a step.
"""

import keras
import numpy as np
import tensorflow as tf

from keras_mobilebert.data.length_buckets import bucketed_dataset
from keras_mobilebert.distillation import losses as L
from keras_mobilebert.distillation.distiller import MODEL_INPUTS
from keras_mobilebert.distillation.distiller import Distiller
from keras_mobilebert.distillation.task_checks import check_same_labels
from keras_mobilebert.distillation.task_checks import check_same_vocabulary
from keras_mobilebert.distillation.task_checks import num_classes
from keras_mobilebert.models.mobilebert.mobilebert_backbone import (
    make_backbone_inputs,
)
from keras_mobilebert.models.mobilebert.mobilebert_text_classifier import (
    MobileBertClassifier,
)


def task_dataset(
    packed,
    teacher_logits=None,
    labels=None,
    batch_size=32,
    seed=0,
    start_step=0,
    bucketed=True,
    repeat=True,
    class_weights=None,
):
    """Batches for `TaskDistiller`, length-bucketed, from global step on.

    Args:
        packed: dict of packed inputs (`data.length_buckets.pack_texts`).
        teacher_logits: `(examples, classes)` array, or None for plain
            fine-tuning on the gold labels.
        labels: `(examples,)` gold labels or None: int class ids, -1
            where there is no gold label (augmented text); or float
            scores (a regression task such as STS-B), NaN where there is
            none.
        batch_size: int. Global batch size.
        seed: int. Seed of the per-epoch batch plans.
        start_step: int. First global step (for a resumed run).
        bucketed: bool. Length-bucketed batches (False: plain shuffled).
        repeat: bool. Epoch after epoch.
        class_weights: `(classes,)` floats or None. Each gold label's
            loss weight by its class (e.g. `"balanced"` class weights).

    Example:
    ```python
    dataset = task_dataset(packed, logits, train.labels, batch_size=32)
    ```
    """
    arrays = {k: np.asarray(packed[k], dtype="int32") for k in MODEL_INPUTS}
    count = len(arrays["token_ids"])
    if teacher_logits is None and labels is None:
        raise ValueError("Give teacher logits, gold labels or both.")
    if teacher_logits is not None:
        arrays["teacher_logits"] = np.asarray(teacher_logits, "float32")
        if len(arrays["teacher_logits"]) != count:
            raise ValueError(
                f"{len(arrays['teacher_logits'])} rows of teacher logits "
                f"for {count} examples."
            )
    if labels is not None:
        labels = np.asarray(labels)
        if len(labels) != count:
            raise ValueError(f"{len(labels)} labels for {count} examples.")
        if np.issubdtype(labels.dtype, np.floating):
            known = ~np.isnan(labels)
            arrays["label_weights"] = known.astype("float32")
            arrays["labels"] = np.where(known, labels, 0.0).astype("float32")
        else:
            arrays["label_weights"] = (labels >= 0).astype("float32")
            arrays["labels"] = np.maximum(labels, 0).astype("int32")
            if class_weights is not None:
                weights = np.asarray(class_weights, "float32")
                arrays["label_weights"] *= weights[arrays["labels"]]
    return bucketed_dataset(
        arrays,
        batch_size,
        seed=seed,
        start_step=start_step,
        bucketed=bucketed,
        repeat=repeat,
    )


def _float(x):
    return keras.ops.cast(x, "float32")


def _classifier_head(classifier, pooled):
    """Apply a `MobileBertClassifier`'s head layers to a pooled vector."""
    if classifier.pooled_norm is not None:
        pooled = classifier.pooled_norm(pooled)
    return classifier.output_dense(classifier.output_dropout(pooled))


class TaskDistiller(keras.Model):
    """Train a student classifier against a teacher's logits.

    `train_step` computes, per batch, `(1 - w) * T^2 * KL(teacher ||
    student)` at temperature `T`, plus `w` times the cross-entropy on the
    gold labels where `label_weights` is 1, plus (with `layerwise=True`)
    `layerwise_weight` times MobileBERT's layer-wise transfer losses
    against the teacher's backbone; only the student (and the layer-wise
    projections) train. Reported metrics: `loss`, `kd_loss`, `hard_loss`
    and `accuracy` (on labelled examples, when batches carry labels),
    `teacher_agreement` (same argmax), and the layer-wise losses. Every
    value is a global-batch mean under `tf.distribute` strategies (see
    `losses`).

    A student with one output is a regression head (STS-B): the soft and
    gold terms are then squared errors (`losses.task_regression_loss`)
    and there is no accuracy. Batches without `teacher_logits` train on
    the gold labels alone, which is plain fine-tuning (with
    `hard_label_weight=1.0`): the GLUE job and the teacher's own
    fine-tuning run through here too.

    Args:
        student: a KerasHub text classifier taking `token_ids`,
            `segment_ids`, `padding_mask` (e.g. a
            `keras_mobilebert.MobileBertClassifier`); with
            `layerwise=True`, a `MobileBertClassifier`.
        teacher: the teacher classifier, or None. Checked against the
            student (same vocabulary, same number of classes); needed
            for `layerwise=True`, whose losses run its backbone.
        temperature: float. Softmax temperature `T` of both sides.
        hard_label_weight: float in [0, 1]. Weight `w` of the gold labels.
        layerwise: bool. Add the layer-wise losses (feature map, mean,
            variance, attention) of `distillation.Distiller`.
        layerwise_weight: float. Their weight in the total.
        teacher_label_names: sequence of strings or None. Checked against
            `label_names`.
        label_names: sequence of strings or None. The training data's
            class names (`GlueSplit.label_names`).
        distiller_kwargs: dict. More `Distiller` arguments for the
            layer-wise losses (`layer_map`, `transfer_layers`, weights).

    Example:
    ```python
    from keras_mobilebert.distillation import TaskDistiller, task_dataset

    distiller = TaskDistiller(student, teacher, temperature=2.0)
    distiller.compile(keras.optimizers.AdamW(1e-4))
    distiller.fit(task_dataset(packed, logits, labels), steps_per_epoch=100)
    student.save_to_preset("runs/sst2/student")
    ```
    """

    def __init__(
        self,
        student,
        teacher=None,
        temperature=L.TEMPERATURE,
        hard_label_weight=0.0,
        layerwise=False,
        layerwise_weight=1.0,
        teacher_label_names=None,
        label_names=None,
        distiller_kwargs=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not 0.0 <= hard_label_weight <= 1.0:
            raise ValueError(
                f"hard_label_weight must be in [0, 1]; got {hard_label_weight}."
            )
        if teacher is not None:
            check_same_vocabulary(teacher, student)
            check_same_labels(
                teacher, student, teacher_label_names, label_names
            )
            teacher.trainable = False
        self.student = student
        self.teacher = teacher
        self.temperature = float(temperature)
        self.hard_label_weight = float(hard_label_weight)
        self.layerwise = layerwise
        self.layerwise_weight = float(layerwise_weight)
        self.layer_distiller = None
        self.student_graph = student
        # One output is a score (STS-B): squared errors, no accuracy.
        self.regression = num_classes(student) == 1
        names = ["loss", "kd_loss", "hard_loss"]
        if not self.regression:
            names += ["accuracy", "teacher_agreement"]
        if layerwise:
            if teacher is None:
                raise ValueError("layerwise=True needs the teacher.")
            if not isinstance(student, MobileBertClassifier):
                raise TypeError(
                    "layerwise=True needs a MobileBertClassifier student; "
                    f"received {type(student).__name__}."
                )
            self.layer_distiller = Distiller(
                teacher.backbone,
                student.backbone,
                layerwise=True,
                pretraining=False,
                name="layerwise_distiller",
                **dict(distiller_kwargs or {}),
            )
            # One student pass gives the logits and every intermediate.
            inputs = make_backbone_inputs()
            outputs = dict(self.layer_distiller.student_model(inputs))
            outputs["logits"] = _classifier_head(
                student, outputs["pooled_output"]
            )
            self.student_graph = keras.Model(inputs, outputs)
            names += [n for n in self.layer_distiller.loss_names if n != "loss"]
        self.loss_names = names
        self._trackers = [keras.metrics.Mean(name=n) for n in names]

    @property
    def metrics(self):
        return list(self._trackers)

    def compile(self, optimizer="adam", **kwargs):
        """Configure the optimizer, built here on the student's variables.

        Args:
            optimizer: a Keras optimizer or its name.
            **kwargs: passed to `keras.Model.compile`.
        """
        with self.distribute_strategy.scope():
            super().compile(optimizer=optimizer, **kwargs)
            self.optimizer.build(self.student_variables())

    def student_variables(self):
        """What trains: the student's variables and any projections."""
        variables = list(self.student.trainable_variables)
        if self.layer_distiller is not None:
            variables += self.layer_distiller.projection_variables()
        return variables

    def call(self, inputs, training=False):
        x = {k: inputs[k] for k in MODEL_INPUTS}
        return self.student(x, training=training)

    def _forward(self, data, training):
        inputs = {k: data[k] for k in MODEL_INPUTS}
        outputs = self.student_graph(inputs, training=training)
        if self.layer_distiller is None:
            return {"logits": outputs}
        return outputs

    def compute_losses(self, data, student_outputs, teacher_outputs=None):
        """All losses and metrics of one batch (`"loss"` is the total)."""
        logits = _float(student_outputs["logits"])
        teacher_logits = data.get("teacher_logits")
        labels = data.get("labels")
        label_weights = data.get("label_weights")
        if teacher_logits is None and self.hard_label_weight != 1.0:
            raise ValueError(
                "The batches carry no teacher_logits: plain fine-tuning on "
                "gold labels needs hard_label_weight=1.0; received "
                f"{self.hard_label_weight}."
            )
        if self.regression:
            values = self._regression_losses(
                logits, teacher_logits, labels, label_weights
            )
        else:
            values = self._classification_losses(
                logits, teacher_logits, labels, label_weights
            )
        if self.layer_distiller is not None:
            layerwise = self.layer_distiller.compute_losses(
                data, teacher_outputs, student_outputs
            )
            layerwise.pop("loss")
            values.update(layerwise)
            values["loss"] = (
                values["loss"]
                + self.layerwise_weight * layerwise["layerwise_loss"]
            )
        return values

    def _classification_losses(
        self, logits, teacher_logits, labels, label_weights
    ):
        values = {}
        predicted = keras.ops.argmax(logits, axis=-1)
        ones = keras.ops.ones_like(logits[:, 0])
        if teacher_logits is not None:
            teacher_logits = _float(teacher_logits)
            values["loss"] = L.task_distillation_loss(
                logits,
                teacher_logits,
                labels,
                self.temperature,
                self.hard_label_weight,
                label_weights,
            )
            values["kd_loss"] = L.task_distillation_loss(
                logits, teacher_logits, temperature=self.temperature
            )
            agree = keras.ops.equal(
                predicted, keras.ops.argmax(teacher_logits, axis=-1)
            )
            values["teacher_agreement"] = L.weighted_mean(
                keras.ops.cast(agree, "float32"), ones
            )
        if labels is not None:
            weights = ones if label_weights is None else label_weights
            onehot = keras.ops.one_hot(
                keras.ops.cast(labels, "int32"), logits.shape[-1]
            )
            values["hard_loss"] = L.weighted_mean(
                L.soft_cross_entropy(onehot, logits), weights
            )
            correct = keras.ops.equal(
                predicted, keras.ops.cast(labels, predicted.dtype)
            )
            values["accuracy"] = L.weighted_mean(
                keras.ops.cast(correct, "float32"), weights
            )
            if teacher_logits is None:
                values["loss"] = values["hard_loss"]
        return values

    def _regression_losses(self, logits, teacher_logits, labels, weights):
        values = {
            "loss": L.task_regression_loss(
                logits, teacher_logits, labels, self.hard_label_weight, weights
            )
        }
        if teacher_logits is not None:
            values["kd_loss"] = L.task_regression_loss(logits, teacher_logits)
        if labels is not None:
            values["hard_loss"] = L.task_regression_loss(
                logits, labels=labels, label_weights=weights
            )
        return values

    def _teacher_outputs(self, data):
        if self.layer_distiller is None:
            return None
        inputs = {k: data[k] for k in MODEL_INPUTS}
        outputs = self.layer_distiller.teacher_model(inputs, training=False)
        return tf.nest.map_structure(tf.stop_gradient, outputs)

    def _update_metrics(self, values):
        results = {}
        for tracker in self._trackers:
            if tracker.name in values:
                # Each replica holds its share of the global-batch mean.
                tracker.update_state(L._replica_sum(values[tracker.name]))
                results[tracker.name] = tracker.result()
        return results

    def train_step(self, data):
        data, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        teacher_outputs = self._teacher_outputs(data)
        variables = self.student_variables()
        with tf.GradientTape() as tape:
            outputs = self._forward(data, training=True)
            values = self.compute_losses(data, outputs, teacher_outputs)
        gradients = tape.gradient(values["loss"], variables)
        self.optimizer.apply_gradients(zip(gradients, variables))
        return self._update_metrics(values)

    def test_step(self, data):
        data, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        outputs = self._forward(data, training=False)
        values = self.compute_losses(data, outputs, self._teacher_outputs(data))
        return self._update_metrics(values)
