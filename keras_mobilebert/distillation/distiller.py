"""`Distiller`: a Keras model that trains a student against a frozen teacher."""

import keras
import tensorflow as tf

from keras_mobilebert.distillation import losses as L
from keras_mobilebert.distillation.optimizers import scaled_optimizer
from keras_mobilebert.distillation.teachers import MobileBertTaps
from keras_mobilebert.distillation.teachers import as_teacher

MODEL_INPUTS = ("token_ids", "segment_ids", "padding_mask")


class Distiller(keras.Model):
    """Train a student backbone against a frozen teacher (MobileBERT KD).

    `train_step` runs the teacher (inference mode, under stop-gradient) and
    the student on the same batch, computes MobileBERT's knowledge-transfer
    losses for the layers in play, and applies the gradients to the
    student's variables only: those in `full_rate_variables` through the
    compiled optimizer, those in `lower_rate_variables` through a second
    optimizer at `lower_learning_rate_multiplier` times the rate
    (progressive transfer's "layers below at 0.1x"). Each loss is reported
    as a Keras metric (per layer for the layer-wise losses), so `fit` shows
    them and `CSVLogger` / `TensorBoard` record them.

    Layer-wise transfer pairs student block `k` (1-based) with teacher
    block `layer_map[k]` (uniform by default) on the block outputs
    (feature map, mean, variance) and the attention scores. When the widths
    differ, a learned linear projection (no bias) per transferred layer maps
    the student's feature map to the teacher's width; it trains with the
    student and is not part of it. When head counts differ, attention
    transfer compares head-averaged attention maps (see
    `losses.attention_transfer_loss`).

    Data: a dict with `token_ids`, `segment_ids`, `padding_mask`, and for
    pre-training distillation `mask_positions`, `mask_ids`, `mask_weights`,
    `next_sentence_labels` (what
    `keras_mobilebert.distillation.pretraining_dataset` yields).

    Args:
        teacher: a `MobileBertBackbone`, `MobileBertPreTrainingModel` or
            `keras_hub.models.BertBackbone`. Its variables are frozen.
        student: a `MobileBertBackbone`, or a `MobileBertPreTrainingModel`
            when `pretraining=True`.
        num_layers: int or None. Student blocks in play (the student model
            stops there); None means all.
        layerwise: bool. Compute the layer-wise transfer losses.
        pretraining: bool. Compute the pre-training distillation loss (MLM
            with soft targets + NSP). With a teacher that has no MLM head
            the MLM target is the hard label.
        transfer_layers: list of student block numbers (1-based) whose
            layer-wise losses count; default all blocks in play.
        layer_map: dict student block -> teacher block (1-based); default
            `losses.uniform_layer_map`.
        attention_head_mode: string. `"auto"`, `"match"` or `"average"`.
        feature_map_weight: float. Default 100.
        mean_weight: float. Default 5000.
        variance_weight: float. Default 5.
        attention_weight: float. Default 1.
        alpha: float. One-hot share of the MLM target. Default 0.5.
        temperature: float. Teacher softmax temperature. Default 1.
        projections: dict or None. `{k: keras.layers.Dense}` to reuse
            (e.g. across stages); missing ones are created.
        lower_learning_rate_multiplier: float. Rate factor of
            `lower_rate_variables`. Default 0.1.

    Example:
    ```python
    import keras
    import keras_mobilebert
    from keras_mobilebert.distillation import Distiller

    distiller = Distiller(teacher=teacher_backbone, student=student_backbone)
    distiller.compile(optimizer=keras.optimizers.Lamb(1.5e-3))
    distiller.fit(dataset, steps_per_epoch=100, epochs=1)
    ```
    """

    def __init__(
        self,
        teacher,
        student,
        num_layers=None,
        layerwise=True,
        pretraining=False,
        transfer_layers=None,
        layer_map=None,
        attention_head_mode="auto",
        feature_map_weight=L.FEATURE_MAP_WEIGHT,
        mean_weight=L.MEAN_WEIGHT,
        variance_weight=L.VARIANCE_WEIGHT,
        attention_weight=L.ATTENTION_WEIGHT,
        alpha=L.PRETRAINING_ALPHA,
        temperature=L.TEMPERATURE,
        projections=None,
        lower_learning_rate_multiplier=0.1,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not (layerwise or pretraining):
            raise ValueError("Enable `layerwise`, `pretraining` or both.")
        self.teacher = as_teacher(teacher)
        self.student = MobileBertTaps(student)
        if pretraining and not self.student.has_pretraining_heads:
            raise ValueError(
                "pretraining=True needs a MobileBertPreTrainingModel student."
            )
        student_layers = self.student.num_layers
        self.num_layers = student_layers if num_layers is None else num_layers
        if pretraining and self.num_layers != student_layers:
            raise ValueError("Pre-training distillation needs every layer.")
        self.layerwise = layerwise
        self.pretraining = pretraining
        self.layer_map = dict(
            layer_map
            or L.uniform_layer_map(student_layers, self.teacher.num_layers)
        )
        if transfer_layers is None:
            transfer_layers = range(1, self.num_layers + 1) if layerwise else ()
        self.transfer_layers = sorted(int(k) for k in transfer_layers)
        for k in self.transfer_layers:
            if not 1 <= k <= self.num_layers:
                raise ValueError(
                    f"Transfer layer {k} is outside the {self.num_layers} "
                    "student layers in play."
                )
            if not 1 <= self.layer_map.get(k, 0) <= self.teacher.num_layers:
                raise ValueError(
                    f"Student layer {k} has no teacher layer in layer_map "
                    f"{self.layer_map} (teacher has "
                    f"{self.teacher.num_layers})."
                )
        self.attention_head_mode = attention_head_mode
        self.feature_map_weight = feature_map_weight
        self.mean_weight = mean_weight
        self.variance_weight = variance_weight
        self.attention_weight = attention_weight
        self.alpha = alpha
        self.temperature = temperature
        self.lower_learning_rate_multiplier = lower_learning_rate_multiplier

        # === Teacher and student graphs ===
        self.teacher.root.trainable = False
        teacher_heads = pretraining and self.teacher.has_pretraining_heads
        teacher_layers = None
        if not pretraining:
            teacher_layers = max(
                [self.layer_map[k] for k in self.transfer_layers] or [1]
            )
        self.teacher_model = self.teacher.intermediates_model(
            None if teacher_heads else teacher_layers, with_heads=teacher_heads
        )
        self.teacher_model.trainable = False
        self.student_model = self.student.intermediates_model(
            None if pretraining else self.num_layers, with_heads=pretraining
        )

        # === Projections (student width -> teacher width) ===
        projections = dict(projections or {})
        self.projections = {}
        if self.student.hidden_dim != self.teacher.hidden_dim:
            for k in self.transfer_layers:
                layer = projections.get(k) or keras.layers.Dense(
                    self.teacher.hidden_dim,
                    use_bias=False,
                    name=f"projection_layer_{k}",
                )
                if not layer.built:
                    layer.build((None, None, self.student.hidden_dim))
                self.projections[str(k)] = layer

        # === Metrics ===
        names = ["loss"]
        if layerwise:
            names.append("layerwise_loss")
            for k in self.transfer_layers:
                names += [f"fm_l{k}", f"mean_l{k}", f"var_l{k}", f"att_l{k}"]
        if pretraining:
            names += ["mlm_loss", "nsp_loss"]
        self.loss_names = names
        self._trackers = [keras.metrics.Mean(name=n) for n in names]

        # === Variable groups ===
        self.full_rate_variables = self.default_trainable_variables()
        self.lower_rate_variables = []
        self.lower_optimizer = None
        self.built = True

    # --- variables -------------------------------------------------------

    def projection_variables(self):
        return [v for p in self.projections.values() for v in p.variables]

    def default_trainable_variables(self):
        """Every trainable student variable in play, plus projections."""
        seen = set()
        result = []
        for v in self.student_model.trainable_variables + (
            self.projection_variables()
        ):
            if id(v) not in seen:
                seen.add(id(v))
                result.append(v)
        return result

    def set_learning_rate_groups(self, full_rate, lower_rate=()):
        """Choose which variables train, and at which rate.

        Variables in neither list are not updated (frozen).

        Args:
            full_rate: list of variables for the compiled optimizer.
            lower_rate: list of variables for the lower-rate optimizer.
        """
        full_ids = {id(v) for v in full_rate}
        overlap = [v.path for v in lower_rate if id(v) in full_ids]
        if overlap:
            raise ValueError(f"Variables in both rate groups: {overlap}.")
        allowed = {id(v) for v in self.default_trainable_variables()}
        stray = [
            v.path
            for v in list(full_rate) + list(lower_rate)
            if id(v) not in allowed
        ]
        if stray:
            raise ValueError(
                f"Variables outside the student graph in play: {stray}."
            )
        self.full_rate_variables = list(full_rate)
        self.lower_rate_variables = list(lower_rate)

    def compile(self, optimizer="lamb", lower_optimizer=None, **kwargs):
        """Configure the optimizers (LAMB by default, as the paper).

        Args:
            optimizer: a Keras optimizer or its name.
            lower_optimizer: optimizer for `lower_rate_variables`; default a
                copy of `optimizer` at `lower_learning_rate_multiplier`
                times its learning rate.
            **kwargs: passed to `keras.Model.compile`.
        """
        with self.distribute_strategy.scope():
            super().compile(optimizer=optimizer, **kwargs)
            self.optimizer.build(self.full_rate_variables)
            if self.lower_rate_variables:
                if lower_optimizer is None:
                    lower_optimizer = scaled_optimizer(
                        self.optimizer,
                        self.lower_learning_rate_multiplier,
                        name=f"{self.optimizer.name}_lower",
                    )
                self.lower_optimizer = keras.optimizers.get(lower_optimizer)
                self.lower_optimizer.build(self.lower_rate_variables)

    def optimizer_variables(self):
        """The optimizers' state, in a fixed order (for checkpoints)."""
        variables = list(self.optimizer.variables)
        if self.lower_optimizer is not None:
            variables += list(self.lower_optimizer.variables)
        return variables

    # --- forward and losses ---------------------------------------------

    @property
    def metrics(self):
        return list(self._trackers)

    def _inputs(self, data, with_positions):
        keys = MODEL_INPUTS + (("mask_positions",) if with_positions else ())
        missing = [k for k in keys if k not in data]
        if missing:
            raise ValueError(f"The batch lacks {missing}; it has {list(data)}.")
        return {k: data[k] for k in keys}

    def call(self, inputs, training=False):
        return self.student_model(
            self._inputs(inputs, self.pretraining), training=training
        )

    def _teacher_outputs(self, data):
        with_heads = self.pretraining and self.teacher.has_pretraining_heads
        outputs = self.teacher_model(
            self._inputs(data, with_heads), training=False
        )
        return tf.nest.map_structure(tf.stop_gradient, outputs)

    def compute_losses(self, data, teacher_outputs, student_outputs):
        """All losses of one batch, as a dict of scalars (`"loss"` total).

        Under a multi-replica strategy each value is this replica's share
        of the global-batch loss (see `losses`).
        """
        mask = data["padding_mask"]
        values = {}
        total = 0.0
        if self.layerwise:
            layerwise = 0.0
            for k in self.transfer_layers:
                t = self.layer_map[k]
                t_hidden = teacher_outputs["hidden_states"][t]
                s_hidden = student_outputs["hidden_states"][k]
                if self.projections:
                    s_hidden = self.projections[str(k)](s_hidden)
                fm = L.feature_map_transfer_loss(t_hidden, s_hidden, mask)
                mean = L.mean_transfer_loss(t_hidden, s_hidden, mask)
                var = L.variance_transfer_loss(t_hidden, s_hidden, mask)
                att = L.attention_transfer_loss(
                    teacher_outputs["attention_scores"][t - 1],
                    student_outputs["attention_scores"][k - 1],
                    mask,
                    head_mode=self.attention_head_mode,
                )
                values.update(
                    {
                        f"fm_l{k}": fm,
                        f"mean_l{k}": mean,
                        f"var_l{k}": var,
                        f"att_l{k}": att,
                    }
                )
                layerwise += (
                    self.feature_map_weight * fm
                    + self.mean_weight * mean
                    + self.variance_weight * var
                    + self.attention_weight * att
                )
            values["layerwise_loss"] = layerwise
            total += layerwise
        if self.pretraining:
            teacher_mlm = None
            if self.teacher.has_pretraining_heads:
                teacher_mlm = teacher_outputs["mlm_logits"]
            mlm, nsp = L.pretraining_distillation_loss(
                student_outputs["mlm_logits"],
                data["mask_ids"],
                data["mask_weights"],
                student_outputs["nsp_logits"],
                data.get("next_sentence_labels"),
                teacher_mlm_logits=teacher_mlm,
                alpha=self.alpha,
                temperature=self.temperature,
            )
            values["mlm_loss"] = mlm
            values["nsp_loss"] = nsp
            total += mlm + nsp
        values["loss"] = total
        return values

    def _update_metrics(self, values):
        for tracker in self._trackers:
            # Each replica holds its share; the metric gets the global value.
            tracker.update_state(L._replica_sum(values[tracker.name]))
        return {t.name: t.result() for t in self._trackers}

    def train_step(self, data):
        data, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        teacher_outputs = self._teacher_outputs(data)
        variables = self.full_rate_variables + self.lower_rate_variables
        with tf.GradientTape() as tape:
            student_outputs = self.student_model(
                self._inputs(data, self.pretraining), training=True
            )
            values = self.compute_losses(data, teacher_outputs, student_outputs)
        gradients = tape.gradient(values["loss"], variables)
        unused = [v.path for v, g in zip(variables, gradients) if g is None]
        if unused:
            raise ValueError(
                f"No gradient reaches {unused}: they take no part in the "
                "losses of this distiller; leave them out of the rate groups."
            )
        n_full = len(self.full_rate_variables)
        self.optimizer.apply_gradients(
            zip(gradients[:n_full], self.full_rate_variables)
        )
        if self.lower_rate_variables:
            self.lower_optimizer.apply_gradients(
                zip(gradients[n_full:], self.lower_rate_variables)
            )
        return self._update_metrics(values)

    def test_step(self, data):
        data, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        teacher_outputs = self._teacher_outputs(data)
        student_outputs = self.student_model(
            self._inputs(data, self.pretraining), training=False
        )
        values = self.compute_losses(data, teacher_outputs, student_outputs)
        return self._update_metrics(values)
