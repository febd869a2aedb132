"""MobileBERT with an extractive question-answering (span) head."""

import keras

from keras_mobilebert.layers.dense import make_dense
from keras_mobilebert.models.mobilebert.backbone_model import BackboneModel


@keras.saving.register_keras_serializable(package="keras_mobilebert")
class MobileBertQuestionAnswerer(BackboneModel):
    """MobileBERT with a span head: start and end logits for every token.

    A dense layer maps each token's `sequence_output` to two numbers, the
    logits of the answer starting and ending there (HF
    `MobileBertForQuestionAnswering`, GR `run_squad.py`). Converted SQuAD
    checkpoints load into it.

    Args:
        backbone: a `keras_mobilebert.MobileBertBackbone`.

    Example:
    ```python
    model = MobileBertQuestionAnswerer(backbone)
    outputs = model(backbone_inputs)
    outputs["start_logits"].shape  # (batch, sequence)
    ```
    """

    def __init__(self, backbone, **kwargs):
        self.backbone = backbone
        self.span_head = make_dense(
            2, backbone.initializer_range, backbone.dtype_policy, "qa_outputs"
        )
        inputs = dict(backbone.input)
        logits = self.span_head(backbone(inputs)["sequence_output"])
        outputs = {
            "start_logits": logits[..., 0],
            "end_logits": logits[..., 1],
        }
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
