"""The core both checkpoint converters share: a backbone and its heads.

`assemble` builds a `MobileBertBackbone` from a config, detects the heads a
checkpoint has by their names, checks every weight (missing, unexpected,
shape) and only then assigns them; the Hugging Face converter
(`hf_checkpoint`) and the TF1 converter (`tf1_checkpoint`) differ only in
how they read the tensors and the config. The result is a
`ConvertedModel`, from which `task_builders` makes task models and
`converted_preset` writes a preset.
"""

import logging

import keras

from keras_mobilebert.convert.tfm_names import add_tfm_names
from keras_mobilebert.convert.weights import backbone_entries
from keras_mobilebert.convert.weights import check_and_assign
from keras_mobilebert.convert.weights import classifier_head_entries
from keras_mobilebert.convert.weights import masked_lm_head_entries
from keras_mobilebert.convert.weights import next_sentence_head_entries
from keras_mobilebert.convert.weights import question_answering_head_entries
from keras_mobilebert.models.mobilebert.mobilebert_backbone import (
    MobileBertBackbone,
)
from keras_mobilebert.models.mobilebert.mobilebert_masked_lm_head import (
    masked_lm_head_for,
)
from keras_mobilebert.models.mobilebert.mobilebert_pretraining_model import (  # noqa: E501
    MobileBertPreTrainingModel,
)

logger = logging.getLogger("keras_mobilebert.convert")


class ConvertedModel:
    """Everything one HF snapshot converts into.

    Attributes:
        backbone: the `MobileBertBackbone` with the checkpoint's weights.
        heads: set of the heads the checkpoint has: `"mlm"`, `"nsp"`,
            `"classifier"`, `"qa"`.
        pretraining_model: a `MobileBertPreTrainingModel` when the snapshot
            has MLM and NSP heads (else None); shares `backbone`.
        masked_lm_head_weights, nsp_weights, classifier_weights,
        qa_weights: the head weights as lists of arrays (Keras layout), or
            None.
        id2label: dict of class index to label name (sequence classifiers).
        vocabulary, lowercase, strip_accents: the tokenizer of the
            snapshot.
        hf_config: the parsed `config.json`.
        source: what was converted, for messages.
    """


_HEAD_PREFIXES = {
    "hf": {
        "mlm": "cls.predictions.",
        "nsp": "cls.seq_relationship.",
        "classifier": "classifier.",
        "qa": "qa_outputs.",
    },
    "gr": {
        "mlm": "cls/predictions/",
        "nsp": "cls/seq_relationship/",
        "classifier": "output_",
        "qa": "cls/squad/",
    },
    # Model Garden: only a Model Maker classifier's `Dense(name="output")`.
    "tfm": {"classifier": "output/"},
}


def assemble(
    backbone_config,
    tensors,
    scheme,
    source,
    ignored=(),
    num_labels=2,
    dtype=None,
    progress=None,
    optional=(),
):
    """Build a backbone and the heads `tensors` has, and load every weight.

    Shared by the HF and TF1 converters: the heads present are detected by
    name, every weight is checked (missing, unexpected, shape) before any is
    assigned.

    Args:
        backbone_config: dict of `MobileBertBackbone` arguments.
        tensors: dict of checkpoint name to array.
        scheme: `"hf"`, `"gr"` or `"tfm"`, the naming of `tensors`.
        source: string for messages.
        ignored: names known to be unused.
        num_labels: classes of a sequence-classification head, if any.
        dtype: optional dtype policy.
        progress: optional callable taking a message.
        optional: names that may be missing (see `check_and_assign`).

    Returns:
        A `ConvertedModel` without tokenizer fields.

    Example:
    ```python
    converted = assemble(config, tensors, "hf", "model.safetensors")
    ```
    """
    say = progress or (lambda message: logger.info(message))
    say("Building the Keras model")
    backbone = MobileBertBackbone(**backbone_config, dtype=dtype)
    entries = backbone_entries(backbone)
    prefixes = _HEAD_PREFIXES[scheme]
    heads = {
        head
        for head, prefix in prefixes.items()
        if any(name.startswith(prefix) for name in tensors)
    }
    pretraining_model = None
    mlm_head = nsp_dense = classifier_dense = qa_dense = None
    if "mlm" in heads and "nsp" in heads:
        pretraining_model = MobileBertPreTrainingModel(backbone)
        mlm_head = pretraining_model.masked_lm_head
        nsp_dense = pretraining_model.next_sentence_head
    elif "mlm" in heads:
        mlm_head = masked_lm_head_for(backbone)
        mlm_head.build((None, None, backbone.hidden_dim), (None, None))
    elif "nsp" in heads:
        nsp_dense = keras.layers.Dense(2, name="nsp_head")
        nsp_dense.build((None, backbone.hidden_dim))
    if mlm_head is not None:
        entries += masked_lm_head_entries(mlm_head)
    if nsp_dense is not None:
        entries += next_sentence_head_entries(nsp_dense)
    if "classifier" in heads:
        classifier_dense = keras.layers.Dense(num_labels, name="logits")
        classifier_dense.build((None, backbone.hidden_dim))
        entries += classifier_head_entries(classifier_dense)
    if "qa" in heads:
        qa_dense = keras.layers.Dense(2, name="qa_outputs")
        qa_dense.build((None, None, backbone.hidden_dim))
        entries += question_answering_head_entries(qa_dense)

    if scheme == "tfm":
        add_tfm_names(
            entries,
            backbone.num_layers,
            backbone.num_heads,
            backbone_config["num_feedforward_networks"],
        )
    say(f"Checking and assigning {len(entries)} weights")
    check_and_assign(entries, tensors, source, scheme, ignored, optional)

    converted = ConvertedModel()
    converted.backbone = backbone
    converted.heads = heads
    converted.pretraining_model = pretraining_model
    converted.masked_lm_head_weights = (
        mlm_head.get_weights() if mlm_head is not None else None
    )
    converted.nsp_weights = nsp_dense.get_weights() if nsp_dense else None
    converted.classifier_weights = (
        classifier_dense.get_weights() if classifier_dense else None
    )
    converted.qa_weights = qa_dense.get_weights() if qa_dense else None
    converted.id2label = None
    converted.vocabulary = None
    converted.lowercase = True
    converted.strip_accents = True
    converted.hf_config = {}
    converted.source = source
    return converted
