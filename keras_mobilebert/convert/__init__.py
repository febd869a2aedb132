"""Checkpoint conversion: Hugging Face and original TF1 MobileBERT weights.

The name maps live in `keras_mobilebert.convert.weights`; the readers in
`huggingface` (safetensors, `tf_model.h5`) and `tf1_checkpoint`.
"""

from keras_mobilebert.convert.huggingface import backbone_config_from_hf
from keras_mobilebert.convert.huggingface import convert_snapshot
from keras_mobilebert.convert.huggingface import export_to_huggingface
from keras_mobilebert.convert.huggingface import save_preset
from keras_mobilebert.convert.tf1_checkpoint import convert_tf1_checkpoint
from keras_mobilebert.convert.weights import ConversionError
