"""Quantization-aware training: native Keras 3 (default) and TF-MOT.

`keras_mobilebert.quantization.tfmot` (the TF-MOT bridge) is not imported
here: it needs the `tfmot` extra, and importing TF-MOT switches the process
to legacy Keras.
"""

from keras_mobilebert.quantization.fake_quant import MovingAverageQuantizer
from keras_mobilebert.quantization.fake_quant import QuantDense
from keras_mobilebert.quantization.fake_quant import QuantizedMobileBertBackbone
from keras_mobilebert.quantization.fake_quant import (
    QuantizedMobileBertClassifier,
)
from keras_mobilebert.quantization.fake_quant import QuantNoNorm
from keras_mobilebert.quantization.fake_quant import QuantSoftmax
from keras_mobilebert.quantization.fake_quant import fake_quant_scope
from keras_mobilebert.quantization.fake_quant import is_quantize_aware
from keras_mobilebert.quantization.fake_quant import quantize_aware
from keras_mobilebert.quantization.masked_lm import QuantizedMobileBertMaskedLM
