"""The MobileBERT family: backbone, tokenizer, preprocessors, tasks, presets."""

from keras_mobilebert.models.mobilebert.builtin_presets import (
    PresetWeightsNotFoundError,
)
from keras_mobilebert.models.mobilebert.builtin_presets import (
    register_builtin_presets,
)
from keras_mobilebert.models.mobilebert.mobilebert_backbone import (
    MobileBertBackbone,
)
from keras_mobilebert.models.mobilebert.mobilebert_masked_lm import (
    MobileBertMaskedLM,
)
from keras_mobilebert.models.mobilebert.mobilebert_masked_lm_head import (
    MobileBertMaskedLMHead,
)
from keras_mobilebert.models.mobilebert.mobilebert_masked_lm_preprocessor import (  # noqa: E501
    MobileBertMaskedLMPreprocessor,
)
from keras_mobilebert.models.mobilebert.mobilebert_presets import (
    backbone_presets,
)
from keras_mobilebert.models.mobilebert.mobilebert_pretraining_model import (  # noqa: E501
    MobileBertPreTrainingModel,
)
from keras_mobilebert.models.mobilebert.mobilebert_question_answerer import (  # noqa: E501
    MobileBertQuestionAnswerer,
)
from keras_mobilebert.models.mobilebert.mobilebert_question_answerer_preprocessor import (  # noqa: E501
    MobileBertQuestionAnswererPreprocessor,
)
from keras_mobilebert.models.mobilebert.mobilebert_text_classifier import (
    MobileBertClassifier,
)
from keras_mobilebert.models.mobilebert.mobilebert_text_classifier import (
    MobileBertTextClassifier,
)
from keras_mobilebert.models.mobilebert.mobilebert_text_classifier_preprocessor import (  # noqa: E501
    MobileBertTextClassifierPreprocessor,
)
from keras_mobilebert.models.mobilebert.mobilebert_tokenizer import (
    MobileBertTokenizer,
)
from keras_mobilebert.models.mobilebert.preset_sources import (
    ConverterNotRegisteredError,
)
from keras_mobilebert.models.mobilebert.span_decoding import Answer
from keras_mobilebert.models.mobilebert.span_decoding import AnswerSpan

register_builtin_presets(MobileBertBackbone)
