"""MobileBERT masked language model and the MLM + NSP pre-training model."""

import keras
from keras_hub.models import MaskedLM

from keras_mobilebert.layers.dense import make_dense
from keras_mobilebert.models.mobilebert.backbone_model import BackboneModel
from keras_mobilebert.models.mobilebert.builtin_tasks import BuiltinTaskMixin
from keras_mobilebert.models.mobilebert.mobilebert_backbone import (
    MobileBertBackbone,
)
from keras_mobilebert.models.mobilebert.mobilebert_masked_lm_head import (
    MobileBertMaskedLMHead,
)
from keras_mobilebert.models.mobilebert.mobilebert_masked_lm_preprocessor import (  # noqa: E501
    MobileBertMaskedLMPreprocessor,
)


def _masked_lm_head(backbone):
    return MobileBertMaskedLMHead(
        vocabulary_size=backbone.vocabulary_size,
        token_embedding=backbone.token_embedding,
        activation=backbone.activation,
        layer_norm_epsilon=backbone.layer_norm_epsilon,
        initializer_range=backbone.initializer_range,
        dtype=backbone.dtype_policy,
        name="mlm_head",
    )


def _masked_lm_inputs(backbone):
    return {
        **backbone.input,
        "mask_positions": keras.Input(
            shape=(None,), dtype="int32", name="mask_positions"
        ),
    }


@keras.saving.register_keras_serializable(package="keras_mobilebert")
class MobileBertMaskedLM(BuiltinTaskMixin, MaskedLM):
    """An end-to-end MobileBERT model for masked language modeling.

    Adds `MobileBertMaskedLMHead` (tied, widened output matrix) on the
    backbone's sequence output and predicts the tokens at
    `mask_positions`. With a preprocessor, `fit` takes raw strings and masks
    them dynamically.

    Args:
        backbone: a `keras_mobilebert.MobileBertBackbone`.
        preprocessor: a `keras_mobilebert.MobileBertMaskedLMPreprocessor` or
            None.

    Examples:
    ```python
    import keras_mobilebert

    masked_lm = keras_mobilebert.MobileBertMaskedLM.from_preset(
        "mobilebert_en_uncased", load_weights=False
    )
    masked_lm.fit(x=["The quick brown fox jumped."], batch_size=1)
    ```
    """

    backbone_cls = MobileBertBackbone
    preprocessor_cls = MobileBertMaskedLMPreprocessor

    def __init__(self, backbone, preprocessor=None, **kwargs):
        # === Layers ===
        self.backbone = backbone
        self.preprocessor = preprocessor
        self.masked_lm_head = _masked_lm_head(backbone)

        # === Functional Model ===
        inputs = _masked_lm_inputs(backbone)
        sequence = backbone(backbone.input)["sequence_output"]
        outputs = self.masked_lm_head(sequence, inputs["mask_positions"])
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)


@keras.saving.register_keras_serializable(package="keras_mobilebert")
class MobileBertPreTrainingModel(BackboneModel):
    """MobileBERT with both pre-training heads: masked LM and next sentence.

    Outputs `{"mlm_logits": (batch, masks, vocabulary), "nsp_logits":
    (batch, 2)}`; the NSP head is a dense layer on the pooled output (GR
    `cls/seq_relationship`). Distillation uses it for the teacher's
    predictions and the pre-training distillation loss.

    Args:
        backbone: a `keras_mobilebert.MobileBertBackbone`.

    Example:
    ```python
    model = keras_mobilebert.MobileBertPreTrainingModel(backbone)
    outputs = model({**backbone_inputs, "mask_positions": positions})
    ```
    """

    def __init__(self, backbone, **kwargs):
        self.backbone = backbone
        self.masked_lm_head = _masked_lm_head(backbone)
        self.next_sentence_head = make_dense(
            2, backbone.initializer_range, backbone.dtype_policy, "nsp_head"
        )
        inputs = _masked_lm_inputs(backbone)
        backbone_outputs = backbone(backbone.input)
        outputs = {
            "mlm_logits": self.masked_lm_head(
                backbone_outputs["sequence_output"], inputs["mask_positions"]
            ),
            "nsp_logits": self.next_sentence_head(
                backbone_outputs["pooled_output"]
            ),
        }
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
