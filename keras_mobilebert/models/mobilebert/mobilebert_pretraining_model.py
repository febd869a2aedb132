"""MobileBERT with both pre-training heads: masked LM and next sentence."""

import keras

from keras_mobilebert.layers.dense import make_dense
from keras_mobilebert.models.mobilebert.backbone_model import BackboneModel
from keras_mobilebert.models.mobilebert.mobilebert_masked_lm_head import (
    masked_lm_head_for,
)
from keras_mobilebert.models.mobilebert.mobilebert_masked_lm_head import (
    masked_lm_inputs,
)


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
        self.masked_lm_head = masked_lm_head_for(backbone)
        self.next_sentence_head = make_dense(
            2, backbone.initializer_range, backbone.dtype_policy, "nsp_head"
        )
        inputs = masked_lm_inputs(backbone)
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
