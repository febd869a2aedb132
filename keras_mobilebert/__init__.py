"""keras_mobilebert: MobileBERT for Keras 3 and KerasHub."""

# `convert` registers the Hugging Face converter with the models' preset
# sources (models/ never imports convert/): HF snapshot directories and
# hf:// handles load through `from_preset`, and built-in presets with an
# hf:// source convert on first use.
from keras_mobilebert import convert
from keras_mobilebert import data
from keras_mobilebert import distillation
from keras_mobilebert import layers
from keras_mobilebert import metrics
from keras_mobilebert import quantization
from keras_mobilebert.models.mobilebert import ConverterNotRegisteredError
from keras_mobilebert.models.mobilebert import MobileBertBackbone
from keras_mobilebert.models.mobilebert import MobileBertClassifier
from keras_mobilebert.models.mobilebert import MobileBertMaskedLM
from keras_mobilebert.models.mobilebert import MobileBertMaskedLMPreprocessor
from keras_mobilebert.models.mobilebert import MobileBertPreTrainingModel
from keras_mobilebert.models.mobilebert import MobileBertQuestionAnswerer
from keras_mobilebert.models.mobilebert import (
    MobileBertQuestionAnswererPreprocessor,
)
from keras_mobilebert.models.mobilebert import MobileBertTextClassifier
from keras_mobilebert.models.mobilebert import (
    MobileBertTextClassifierPreprocessor,
)
from keras_mobilebert.models.mobilebert import MobileBertTokenizer
from keras_mobilebert.models.mobilebert import PresetWeightsNotFoundError
from keras_mobilebert.models.mobilebert import backbone_presets as presets
from keras_mobilebert.version import __version__
