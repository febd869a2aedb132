"""Teachers (and students) seen through one interface: their intermediates.

Distillation needs, from both sides, every layer's hidden states and masked
pre-softmax attention scores, and for pre-training distillation the MLM and
NSP logits. `as_teacher` wraps:

- a `keras_mobilebert.MobileBertBackbone` (an IB-BERT teacher, or any
  MobileBERT-family model) or a `MobileBertPreTrainingModel` (with heads);
- a KerasHub `keras_hub.models.BertBackbone` (for example a BERT converted
  from Hugging Face with `BertBackbone.from_preset(hf_snapshot_dir)`). Its
  encoder layers return only their output, so the hidden states are read
  from the functional graph (`layer.output` of each encoder layer) and the
  attention logits are recomputed from each layer's input with that
  layer's own query and key projections (KerasHub BERT is post-norm: the
  attention input is the layer input). BERT has no MLM/NSP head in
  KerasHub's backbone, so such a teacher has no pre-training logits.

Every wrapper builds, on request, a functional model that stops at a given
layer, so a progressive stage pays only for the layers in play.
"""

import math

import keras
from keras import ops

from keras_mobilebert.models.mobilebert.mobilebert_backbone import (
    MobileBertBackbone,
)
from keras_mobilebert.models.mobilebert.mobilebert_backbone import (
    make_backbone_inputs,
)
from keras_mobilebert.models.mobilebert.mobilebert_presets import (
    backbone_presets,
)
from keras_mobilebert.models.mobilebert.mobilebert_pretraining_model import (  # noqa: E501
    MobileBertPreTrainingModel,
)
from keras_mobilebert.utils.errors import ConfigError


def _mask_positions_input():
    return keras.Input(shape=(None,), dtype="int32", name="mask_positions")


class MobileBertTaps:
    """Intermediates of a MobileBERT-family model (teacher or student).

    Args:
        model: a `MobileBertBackbone` or a `MobileBertPreTrainingModel`.

    Example:
    ```python
    taps = MobileBertTaps(keras_mobilebert.MobileBertPreTrainingModel(bb))
    model = taps.intermediates_model(num_layers=2, with_heads=True)
    ```
    """

    def __init__(self, model):
        if isinstance(model, MobileBertPreTrainingModel):
            self.pretraining_model = model
            self.backbone = model.backbone
        elif isinstance(model, MobileBertBackbone):
            self.pretraining_model = None
            self.backbone = model
        else:
            raise TypeError(
                "Expected a MobileBertBackbone or MobileBertPreTrainingModel; "
                f"received {type(model).__name__}."
            )
        self.num_layers = self.backbone.num_layers
        self.hidden_dim = self.backbone.hidden_dim
        self.num_heads = self.backbone.num_heads
        self.has_pretraining_heads = self.pretraining_model is not None

    @property
    def root(self):
        """The model whose variables the caller owns (heads included)."""
        return self.pretraining_model or self.backbone

    def embedding_variables(self):
        return list(self.backbone.embeddings.variables)

    def head_variables(self):
        if self.pretraining_model is None:
            return []
        return list(self.pretraining_model.masked_lm_head.variables) + list(
            self.pretraining_model.next_sentence_head.variables
        )

    def pooler_variables(self):
        if self.backbone.pooled_dense is None:
            return []
        return list(self.backbone.pooled_dense.variables)

    def layer_variables(self, k):
        """Variables of block `k` (1-based)."""
        return list(self.backbone.transformer_layers[k - 1].variables)

    def intermediates_model(self, num_layers=None, with_heads=False):
        """A functional model returning hidden states, scores (and logits).

        Args:
            num_layers: int or None. Blocks to run; None means all.
            with_heads: bool. Also take `mask_positions` and return
                `mlm_logits` and `nsp_logits`.
        """
        if with_heads and self.pretraining_model is None:
            raise ValueError(
                "This model has no pre-training heads: pass a "
                "MobileBertPreTrainingModel."
            )
        if with_heads and num_layers not in (None, self.num_layers):
            raise ValueError("Heads need all layers (num_layers=None).")
        taps = self.backbone.intermediates_model(num_layers)
        inputs = make_backbone_inputs()
        outputs = dict(taps(inputs))
        if with_heads:
            inputs["mask_positions"] = _mask_positions_input()
            pt = self.pretraining_model
            outputs["mlm_logits"] = pt.masked_lm_head(
                outputs["sequence_output"], inputs["mask_positions"]
            )
            outputs["nsp_logits"] = pt.next_sentence_head(
                outputs["pooled_output"]
            )
        return keras.Model(inputs, outputs)


class BertAttentionScores(keras.layers.Layer):
    """Masked pre-softmax scores of a KerasHub `TransformerEncoder`.

    Recomputes `Q K^T / sqrt(key_dim)` from the encoder layer's input with
    the layer's own `MultiHeadAttention` query and key projections (public
    `query_dense` / `key_dense` properties); padded keys get -1e9. It owns
    no weights and is for frozen teachers.

    Args:
        encoder_layer: a built `keras_hub.layers.TransformerEncoder` with
            `normalize_first=False` (BERT).

    Example:
    ```python
    scores = BertAttentionScores(backbone.transformer_layers[0])(
        hidden, padding_mask
    )
    ```
    """

    def __init__(self, encoder_layer, **kwargs):
        super().__init__(**kwargs)
        if getattr(encoder_layer, "normalize_first", False):
            raise ValueError(
                "Only post-norm encoders (BERT, normalize_first=False) are "
                "supported: a pre-norm layer's attention input is not its "
                "input."
            )
        # A list hides the layer from Keras tracking: its weights belong to
        # the teacher backbone, not to this helper.
        self._encoder = [encoder_layer]

    def call(self, hidden, padding_mask):
        attention = self._encoder[0]._self_attention_layer
        query = attention.query_dense(hidden)  # (batch, seq, heads, dim)
        key = attention.key_dense(hidden)
        scale = 1.0 / math.sqrt(float(query.shape[-1]))
        scores = ops.einsum("bqnh,bknh->bnqk", query, key) * scale
        scores = ops.cast(scores, "float32")
        mask = ops.cast(padding_mask, "float32")[:, None, None, :]
        return scores + (1.0 - mask) * -1e9

    def compute_output_shape(self, hidden_shape, padding_mask_shape):
        heads = self._encoder[0].num_heads
        return (hidden_shape[0], heads, hidden_shape[1], hidden_shape[1])


class BertTaps:
    """Intermediates of a KerasHub `BertBackbone` teacher.

    Args:
        backbone: a `keras_hub.models.BertBackbone`.

    Example:
    ```python
    teacher = keras_hub.models.BertBackbone.from_preset(hf_snapshot_dir)
    model = BertTaps(teacher).intermediates_model(num_layers=3)
    ```
    """

    has_pretraining_heads = False

    def __init__(self, backbone):
        self.backbone = backbone
        self.num_layers = backbone.num_layers
        self.hidden_dim = backbone.hidden_dim
        self.num_heads = backbone.num_heads
        self.pretraining_model = None

    @property
    def root(self):
        return self.backbone

    def embedding_variables(self):
        return []

    def head_variables(self):
        return []

    def pooler_variables(self):
        return []

    def intermediates_model(self, num_layers=None, with_heads=False):
        if with_heads:
            raise ValueError(
                "A KerasHub BertBackbone has no MLM/NSP heads; pre-training "
                "distillation falls back to hard MLM labels for it."
            )
        num_layers = self.num_layers if num_layers is None else num_layers
        backbone = self.backbone
        hidden_states = [backbone.embeddings_dropout.output]
        hidden_states += [
            layer.output for layer in backbone.transformer_layers[:num_layers]
        ]
        padding_mask = backbone.input["padding_mask"]
        scores = [
            BertAttentionScores(layer, name=f"attention_scores_{i}")(
                hidden_states[i], padding_mask
            )
            for i, layer in enumerate(backbone.transformer_layers[:num_layers])
        ]
        outputs = {
            "sequence_output": hidden_states[-1],
            "hidden_states": hidden_states,
            "attention_scores": scores,
        }
        return keras.Model(backbone.input, outputs)


def as_teacher(model):
    """Wrap a teacher (or student) model in its intermediates interface.

    Args:
        model: a `MobileBertBackbone`, a `MobileBertPreTrainingModel`, a
            `keras_hub.models.BertBackbone`, or an already wrapped object.

    Example:
    ```python
    teacher = as_teacher(keras_hub.models.BertBackbone.from_preset(path))
    teacher.num_layers, teacher.hidden_dim, teacher.num_heads
    ```
    """
    if isinstance(model, (MobileBertTaps, BertTaps)):
        return model
    if isinstance(model, (MobileBertBackbone, MobileBertPreTrainingModel)):
        return MobileBertTaps(model)
    import keras_hub

    if isinstance(model, keras_hub.models.BertBackbone):
        return BertTaps(model)
    raise TypeError(
        "Unsupported teacher type "
        f"{type(model).__name__}: pass a MobileBertBackbone, a "
        "MobileBertPreTrainingModel or a keras_hub.models.BertBackbone."
    )


def ib_bert_teacher(with_heads=True, **overrides):
    """An IB-BERT teacher built from the `ib_bert_en_uncased` config.

    The real IB-BERT weights were never released: the model is randomly
    initialized, for a user to train (or load weights into). `overrides`
    change config fields, e.g. a miniature teacher for tests.

    Args:
        with_heads: bool. Return a `MobileBertPreTrainingModel` (MLM and NSP
            heads, needed for pre-training distillation) instead of the
            bare backbone.
        **overrides: config fields to change (`num_layers=2`, ...).

    Example:
    ```python
    teacher = ib_bert_teacher(num_layers=2, vocabulary_size=1000)
    ```
    """
    config = dict(backbone_presets["ib_bert_en_uncased"]["config"])
    unknown = set(overrides) - set(config) - {"dtype"}
    if unknown:
        raise ConfigError(f"Unknown IB-BERT config fields: {sorted(unknown)}.")
    config.update(overrides)
    backbone = MobileBertBackbone(**config)
    return MobileBertPreTrainingModel(backbone) if with_heads else backbone
