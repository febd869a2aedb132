"""Quantization-aware training with TF-MOT, through a tf_keras twin.

TensorFlow Model Optimization (TF-MOT) quantizes tf_keras models only. This
package is the bridge from a Keras 3 MobileBERT:

1. `build_tf_keras_twin(model)` (`twin_builder.py`) builds a functional
   tf_keras model from the Keras 3 backbone's (or classifier's, or
   question answerer's) config and copies the weights. Its layers
   (`twin_layers.py`) compute with the same functions as the Keras 3
   layers (`keras_mobilebert.layers.layer_math`), so the float twin
   matches the Keras 3 model to float32 rounding.
2. `quantize_aware_tfmot(model)` (`qat.py`) annotates the twin with
   TF-MOT and the `QuantizeConfig`s of `quantize_configs.py` and runs
   `tfmot.quantization.keras.quantize_apply`; the result is a tf_keras
   model to `compile` and `fit`.
3. `keras_mobilebert.export.export_tfmot_int8(qat_model, path)` writes a
   verified full-integer LiteRT file (export is the consumer of this
   bridge; the bridge never imports export).
4. `copy_weights_back(qat_model, keras3_model)` (`copy_back.py`) returns
   the fine-tuned weights (and, for a `quantize_aware` model, the
   activation ranges) to a Keras 3 model.

The twin is flat: each dense layer, NoNorm and residual sum is a top-level
layer, because TF-MOT only wraps top-level layers and fake-quantizes their
weights and outputs. What gets quantized follows GR's QAT recipe, like
`keras_mobilebert.quantization.quantize_aware`:

- dense layers: TF-MOT's default 8-bit config (kernel symmetric, narrow
  range, per tensor; output 8-bit asymmetric with moving-average ranges),
  ReLU6 as a separate `ReLU` layer that TF-MOT fuses into the dense layer;
- residual sums: `Add` layers (default config: output quantized), which are
  the NoNorm inputs;
- NoNorm: `NoNormQuantizeConfig` (gamma symmetric, output quantized);
- the embedding: `EmbeddingQuantizeConfig` (the word table) and
  `PositionEmbeddingQuantizeConfig` (the table, the sum quantized);
- the attention: `AttentionQuantizeConfig` (query, key, value kernels and
  outputs, the masked scores, the probabilities, the context).

The bottlenecks are dense layers, sums and NoNorms in the flat twin, so the
dense, `Add` and NoNorm configs cover them.

TF-MOT is an extra (`pip install keras-mobilebert[tfmot]`). Importing it
sets `TF_USE_LEGACY_KERAS=1` for the whole process; `imports.py` pins
`tf.keras` to Keras 3 first and restores the variable after the import, so
Keras 3 code in the same process keeps working. `import keras_mobilebert`
does not import this package.
"""

from keras_mobilebert.quantization.tfmot.copy_back import copy_weights_back
from keras_mobilebert.quantization.tfmot.imports import INSTALL_HINT
from keras_mobilebert.quantization.tfmot.imports import LEGACY_KERAS_VARIABLE
from keras_mobilebert.quantization.tfmot.imports import import_tfmot
from keras_mobilebert.quantization.tfmot.imports import quantize
from keras_mobilebert.quantization.tfmot.imports import tf_keras
from keras_mobilebert.quantization.tfmot.imports import tfmot
from keras_mobilebert.quantization.tfmot.qat import TFMOT_EMA_DECAY
from keras_mobilebert.quantization.tfmot.qat import calibrate_ranges
from keras_mobilebert.quantization.tfmot.qat import quantize_aware_tfmot
from keras_mobilebert.quantization.tfmot.quantize_configs import CUSTOM_OBJECTS
from keras_mobilebert.quantization.tfmot.quantize_configs import (
    AttentionQuantizeConfig,
)
from keras_mobilebert.quantization.tfmot.quantize_configs import (
    EmbeddingQuantizeConfig,
)
from keras_mobilebert.quantization.tfmot.quantize_configs import (
    NoNormQuantizeConfig,
)
from keras_mobilebert.quantization.tfmot.quantize_configs import (
    PositionEmbeddingQuantizeConfig,
)
from keras_mobilebert.quantization.tfmot.quantize_configs import (
    activation_quantizer,
)
from keras_mobilebert.quantization.tfmot.quantize_configs import quantize_config
from keras_mobilebert.quantization.tfmot.quantize_configs import (
    weight_quantizer,
)
from keras_mobilebert.quantization.tfmot.twin_builder import ACTIVATIONS
from keras_mobilebert.quantization.tfmot.twin_builder import ATTENTION_DENSES
from keras_mobilebert.quantization.tfmot.twin_builder import SEPARATOR
from keras_mobilebert.quantization.tfmot.twin_builder import TwinGraph
from keras_mobilebert.quantization.tfmot.twin_builder import build_tf_keras_twin
from keras_mobilebert.quantization.tfmot.twin_builder import copy_float_weights
from keras_mobilebert.quantization.tfmot.twin_builder import float_variables
from keras_mobilebert.quantization.tfmot.twin_builder import twin_variables
from keras_mobilebert.quantization.tfmot.twin_builder import (
    twin_vocabulary_size,
)
from keras_mobilebert.quantization.tfmot.twin_layers import TwinAttention
from keras_mobilebert.quantization.tfmot.twin_layers import TwinClsToken
from keras_mobilebert.quantization.tfmot.twin_layers import TwinFloatMask
from keras_mobilebert.quantization.tfmot.twin_layers import TwinNoNorm
from keras_mobilebert.quantization.tfmot.twin_layers import (
    TwinPositionEmbedding,
)
from keras_mobilebert.quantization.tfmot.twin_layers import TwinSpanLogits
from keras_mobilebert.quantization.tfmot.twin_layers import TwinTokenEmbedding
from keras_mobilebert.quantization.tfmot.twin_layers import TwinTokenIds
