"""Checkpoint conversion: Hugging Face and original TF1 MobileBERT weights.

- `weights`: every name map between our variables and HF / TF1 names;
- `weight_files`: safetensors, `tf_model.h5` and `.bin` readers and writers;
- `hf_snapshot`: finding, downloading and reading HF snapshot directories;
- `hf_config`: HF `MobileBertConfig` fields to and from backbone configs;
- `assembly`: the core both converters share (`assemble`,
  `ConvertedModel`): a backbone and its heads, every weight checked;
- `hf_checkpoint`: an HF snapshot into a `ConvertedModel`
  (`convert_snapshot`);
- `tf1_checkpoint`: the original google-research TF1 checkpoints;
- `task_builders`: task models from a `ConvertedModel`;
- `converted_preset`: a `ConvertedModel` into a KerasHub preset;
- `hf_preset_source`: registers HF snapshots as a preset source for
  `from_preset`, and the conversion of built-in presets on first use;
- `hf_export`: a Keras model back into an HF snapshot.

Importing this package registers the converter with
`keras_mobilebert.models.mobilebert.preset_sources`; `import
keras_mobilebert` does it.
"""

from keras_mobilebert.convert import hf_preset_source
from keras_mobilebert.convert.assembly import ConvertedModel
from keras_mobilebert.convert.converted_preset import apply_preset_config
from keras_mobilebert.convert.converted_preset import save_preset
from keras_mobilebert.convert.hf_checkpoint import convert_snapshot
from keras_mobilebert.convert.hf_config import backbone_config_from_hf
from keras_mobilebert.convert.hf_export import export_to_huggingface
from keras_mobilebert.convert.task_builders import build_classifier
from keras_mobilebert.convert.task_builders import build_masked_lm
from keras_mobilebert.convert.task_builders import build_pretraining_model
from keras_mobilebert.convert.task_builders import build_question_answerer
from keras_mobilebert.convert.tf1_checkpoint import convert_tf1_checkpoint
from keras_mobilebert.convert.weights import ConversionError
