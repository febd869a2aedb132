"""Checkpoint conversion: Hugging Face and original TF1 MobileBERT weights.

- `weights`: every name map between our variables and HF / TF1 names;
- `weight_files`: safetensors, `tf_model.h5` and `.bin` readers and writers;
- `hf_snapshot`: finding, downloading and reading HF snapshot directories;
- `hf_config`: HF `MobileBertConfig` fields to and from backbone configs;
- `huggingface`: a snapshot into a backbone and task models, and presets;
- `hf_export`: a Keras model back into an HF snapshot;
- `tf1_checkpoint`: the original google-research TF1 checkpoints.
"""

from keras_mobilebert.convert.hf_config import backbone_config_from_hf
from keras_mobilebert.convert.hf_export import export_to_huggingface
from keras_mobilebert.convert.huggingface import convert_snapshot
from keras_mobilebert.convert.huggingface import save_preset
from keras_mobilebert.convert.tf1_checkpoint import convert_tf1_checkpoint
from keras_mobilebert.convert.weights import ConversionError
