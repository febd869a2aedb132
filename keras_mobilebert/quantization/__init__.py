"""Quantization-aware training: native Keras 3 (default) and TF-MOT.

`keras_mobilebert.quantization.tfmot` (the TF-MOT bridge) is not imported
here: it needs the `tfmot` extra, and importing TF-MOT switches the process
to legacy Keras.
"""

from keras_mobilebert.quantization.fake_quant import MovingAverageQuantizer
from keras_mobilebert.quantization.fake_quant import QuantDense
from keras_mobilebert.quantization.fake_quant import QuantNoNorm
from keras_mobilebert.quantization.fake_quant import QuantSoftmax
from keras_mobilebert.quantization.fake_quant import fake_quant_scope
from keras_mobilebert.quantization.qat_copy import quantize_aware
from keras_mobilebert.quantization.quantized_models import (
    QuantizedMobileBertBackbone,
)
from keras_mobilebert.quantization.quantized_models import (
    QuantizedMobileBertClassifier,
)
from keras_mobilebert.quantization.quantized_models import (
    QuantizedMobileBertMaskedLM,
)
from keras_mobilebert.quantization.quantized_models import (
    QuantizedMobileBertQuestionAnswerer,
)
from keras_mobilebert.quantization.quantized_models import is_quantize_aware
