"""MobileBERT masked language modeling, a KerasHub `MaskedLM` task."""

import keras
from keras_hub.models import MaskedLM

from keras_mobilebert.models.mobilebert.builtin_tasks import BuiltinTaskMixin
from keras_mobilebert.models.mobilebert.mobilebert_backbone import (
    MobileBertBackbone,
)
from keras_mobilebert.models.mobilebert.mobilebert_masked_lm_head import (
    masked_lm_head_for,
)
from keras_mobilebert.models.mobilebert.mobilebert_masked_lm_head import (
    masked_lm_inputs,
)
from keras_mobilebert.models.mobilebert.mobilebert_masked_lm_preprocessor import (  # noqa: E501
    MobileBertMaskedLMPreprocessor,
)
from keras_mobilebert.models.mobilebert.text_checks import TextInputChecksMixin
from keras_mobilebert.models.task_weights import TaskWeightsMixin


@keras.saving.register_keras_serializable(package="keras_mobilebert")
class MobileBertMaskedLM(
    TextInputChecksMixin, BuiltinTaskMixin, TaskWeightsMixin, MaskedLM
):
    """An end-to-end MobileBERT model for masked language modeling.

    Adds `MobileBertMaskedLMHead` (tied, widened output matrix) on the
    backbone's sequence output and predicts the tokens at
    `mask_positions`. With a preprocessor, `fit` takes raw strings and masks
    them dynamically; an empty or whitespace-only text (nothing to mask) or
    one that is not UTF-8 is a one-line `ValueError` naming its index.

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
        self.masked_lm_head = masked_lm_head_for(backbone)

        # === Functional Model ===
        inputs = masked_lm_inputs(backbone)
        sequence = backbone(backbone.input)["sequence_output"]
        outputs = self.masked_lm_head(sequence, inputs["mask_positions"])
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
