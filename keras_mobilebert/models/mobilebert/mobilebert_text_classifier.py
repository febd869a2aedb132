"""MobileBERT sentence (pair) classification."""

import keras
from keras_hub.models import TextClassifier

from keras_mobilebert.layers.dense import make_dense
from keras_mobilebert.models.mobilebert.builtin_tasks import BuiltinTaskMixin
from keras_mobilebert.models.mobilebert.mobilebert_backbone import (
    MobileBertBackbone,
)
from keras_mobilebert.models.mobilebert.mobilebert_text_classifier_preprocessor import (  # noqa: E501
    MobileBertTextClassifierPreprocessor,
)
from keras_mobilebert.models.mobilebert.text_checks import TextInputChecksMixin
from keras_mobilebert.models.task_weights import TaskWeightsMixin

POOLED_NORMALIZATIONS = ("layer_norm", None)


@keras.saving.register_keras_serializable(package="keras_mobilebert")
class MobileBertTextClassifier(
    TextInputChecksMixin, BuiltinTaskMixin, TaskWeightsMixin, TextClassifier
):
    """An end-to-end MobileBERT model for classification.

    A head on the backbone's `pooled_output`: by default a LayerNorm, then
    dropout, then a dense layer to `num_classes` logits.

    Why the LayerNorm: MobileBERT has no pooler, and the released weights
    put values of about 1e7 in the raw `[CLS]` vector (HF issues 8938,
    13990); a dense layer straight on it starts with logits around 1e5 and
    fine-tuning diverges. A tanh pooler would saturate at that scale (zero
    gradient), and GR's author reports it can hurt GLUE. LayerNorm is scale
    invariant: whatever the `[CLS]` magnitude, the head sees unit-variance
    features, so initial logits have a standard deviation of about
    `0.02 * sqrt(hidden_dim)` (0.45 at 512). Set `pooled_normalization=None`
    for the bare HF head (a converted HF classifier needs it to reproduce
    HF's logits).

    Accepts raw strings in `fit`, `evaluate` and `predict` when it has a
    preprocessor (the default from `from_preset`). Python texts (strings,
    lists, tuples of segments, NumPy arrays) are checked before tf.data
    sees them: an empty or whitespace-only text, or one that is not UTF-8,
    is a one-line `ValueError` naming its index (and segment); tensors and
    datasets are checked in the graph.

    Args:
        backbone: a `keras_mobilebert.MobileBertBackbone`.
        num_classes: int. Number of classes.
        preprocessor: a `keras_mobilebert.MobileBertTextClassifierPreprocessor`
            or None (then inputs must be preprocessed).
        activation: None, string or callable. Output activation; None gives
            logits (the default loss expects logits).
        dropout: float. Dropout rate before the output layer.
        pooled_normalization: `"layer_norm"` or None. See above.

    Examples:
    ```python
    import keras_mobilebert

    features = ["The movie was great!", "The movie was a dull mess."]
    labels = [1, 0]
    classifier = keras_mobilebert.MobileBertTextClassifier.from_preset(
        "mobilebert_en_uncased", num_classes=2, load_weights=False
    )
    classifier.fit(x=features, y=labels, batch_size=2)
    classifier.predict(features)
    ```
    """

    backbone_cls = MobileBertBackbone
    preprocessor_cls = MobileBertTextClassifierPreprocessor

    def __init__(
        self,
        backbone,
        num_classes,
        preprocessor=None,
        activation=None,
        dropout=0.1,
        pooled_normalization="layer_norm",
        **kwargs,
    ):
        if pooled_normalization not in POOLED_NORMALIZATIONS:
            raise ValueError(
                f"Unknown pooled_normalization {pooled_normalization!r}; "
                f"expected one of {POOLED_NORMALIZATIONS}."
            )
        # === Layers ===
        self.backbone = backbone
        self.preprocessor = preprocessor
        self.pooled_norm = None
        if pooled_normalization == "layer_norm":
            self.pooled_norm = keras.layers.LayerNormalization(
                epsilon=1e-12,
                dtype=backbone.dtype_policy,
                name="pooled_norm",
            )
        self.output_dropout = keras.layers.Dropout(
            dropout, dtype=backbone.dtype_policy, name="classifier_dropout"
        )
        self.output_dense = make_dense(
            num_classes,
            backbone.initializer_range,
            backbone.dtype_policy,
            "logits",
            activation=activation,
        )

        # === Functional Model ===
        inputs = backbone.input
        pooled = backbone(inputs)["pooled_output"]
        if self.pooled_norm is not None:
            pooled = self.pooled_norm(pooled)
        pooled = self.output_dropout(pooled)
        outputs = self.output_dense(pooled)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.num_classes = num_classes
        self.activation = keras.activations.get(activation)
        self.dropout = dropout
        self.pooled_normalization = pooled_normalization

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_classes": self.num_classes,
                "activation": keras.activations.serialize(self.activation),
                "dropout": self.dropout,
                "pooled_normalization": self.pooled_normalization,
            }
        )
        return config


# The name before KerasHub's (`BertTextClassifier`): the same class object,
# so `isinstance` holds both ways. Presets saved under it name
# "keras_mobilebert>MobileBertClassifier" in task.json; they still load.
MobileBertClassifier = MobileBertTextClassifier
keras.saving.get_custom_objects()["keras_mobilebert>MobileBertClassifier"] = (
    MobileBertTextClassifier
)
