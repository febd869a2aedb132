"""An inference copy of a NoNorm MobileBERT with every NoNorm folded away.

NoNorm is `x * gamma + beta` per channel, a change of basis. Write every
tensor `h` of the network as `h = a * z + c` (vectors `a`, `c` over the last
axis) and keep only `z`:

- a NoNorm on `h` only updates the basis: `(gamma * a, gamma * c + beta)`,
  with no op at all;
- a dense layer reading `h` absorbs the basis into its weights
  (`W' = diag(a) W`, `b' = b + c W`) and outputs exact values;
- a residual sum `Dense(x) + h` stays in `h`'s basis when the dense layer's
  output is divided by `a` (`W'' = W' / a`, `b'' = b' / a`): the sum is then
  `z + Dense''(x)`, a plain ADD.

So the 8 NoNorms of each block (16 element-wise ops on 128 x 128 and
128 x 512 tensors) disappear; the converter itself folds only the 2 that
directly follow a dense layer, not the 6 behind a residual sum, so a
24-block file loses 288 ops (3% of its float32 and dynamic-range time,
docs/performance.md). One affine map at the end restores the exact
sequence output (and, separately, the `[CLS]` vector, so a classifier's file
does not pay for the whole sequence). In real arithmetic the copy computes
the same function; in float32 it differs by rounding (checked by the tests
and by `to_litert`'s verification against the original model).

Meant for float32 and dynamic-range export. Not for full-integer int8: the
folded residual streams carry per-channel scales `a`, which per-tensor int8
activations represent worse (measured: twice the int8 error on 8 blocks).
"""

import keras
import numpy as np

from keras_mobilebert.layers.layer_math import attention_inputs
from keras_mobilebert.layers.no_norm import NoNorm
from keras_mobilebert.layers.substitution import layer_substitution
from keras_mobilebert.models.mobilebert.mobilebert_backbone import (
    MobileBertBackbone,
)

# A residual branch is divided by the basis scale `a`; below this magnitude
# (a NoNorm gamma of zero, or products of tiny gammas) the division would
# overflow float32, and the model is refused rather than silently broken.
MIN_SCALE = 1e-20


class _BasisChange(keras.layers.Layer):
    """Stands in for a NoNorm in the folded copy: the identity."""

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package="keras_mobilebert")
class NormFoldedMobileBertBackbone(MobileBertBackbone):
    """A `MobileBertBackbone` whose NoNorms are folded into its weights.

    Built from the same config as the backbone it replaces; every NoNorm is
    an identity and one `NoNorm` named `output_affine` at the end maps the
    last block's output back to exact values. Its weights only make sense
    when set by `fold_norms`; build it through that function. Its
    `intermediates_model` is refused: the hidden states live in the folded
    basis.

    Args:
        **kwargs: the `MobileBertBackbone` config (`normalization` must be
            `"no_norm"`).

    Example:
    ```python
    from keras_mobilebert.models.mobilebert.norm_folding import fold_norms

    folded = fold_norms(backbone)  # a NormFoldedMobileBertBackbone
    ```
    """

    def __init__(self, **kwargs):
        if kwargs.get("normalization", "no_norm") != "no_norm":
            raise ValueError(
                "Only NoNorm models fold; this one uses normalization="
                f"{kwargs['normalization']!r}."
            )
        self.output_affine = NoNorm(
            dtype=kwargs.get("dtype"), name="output_affine"
        )
        with layer_substitution(no_norm=_BasisChange):
            super().__init__(**kwargs)

    def _forward(self, inputs, num_layers, with_intermediates):
        if with_intermediates:
            raise ValueError(
                "A norm-folded backbone has no intermediates model: its "
                "hidden states are in the folded basis. Use the original."
            )
        x = self.embeddings(inputs["token_ids"], inputs["segment_ids"])
        for block in self.transformer_layers[:num_layers]:
            x, _ = block(
                x,
                padding_mask=inputs["padding_mask"],
                return_attention_scores=True,
            )
        # The [CLS] row is restored on its own: a classifier's graph then
        # keeps only this one and drops the whole-sequence map.
        pooled = self.output_affine(x[:, 0, :])
        if self.pooled_dense is not None:
            pooled = self.pooled_dense(pooled)
        return {
            "sequence_output": self.output_affine(x),
            "pooled_output": pooled,
        }


class _Basis:
    """`h = a * z + c`, per channel, in float64."""

    def __init__(self, a, c):
        self.a = np.asarray(a, "float64")
        self.c = np.asarray(c, "float64")

    @classmethod
    def exact(cls, dim):
        return cls(np.ones(dim), np.zeros(dim))

    def after_norm(self, gamma, beta):
        return _Basis(self.a * gamma, self.c * gamma + beta)


class _Folder:
    """Computes the folded weights from the original ones, by path."""

    def __init__(self, weights):
        self.source = {k: np.asarray(v, "float64") for k, v in weights.items()}
        self.folded = {}

    def norm(self, basis, path):
        gamma = self.source[path + "/gamma"]
        beta = self.source[path + "/beta"]
        return basis.after_norm(gamma, beta)

    def dense(self, path, reads=None, adds_to=None):
        """Fold the input basis `reads` (None: exact input) and, for a
        residual branch, the basis `adds_to` of the tensor it is added to."""
        kernel = self.source[path + "/kernel"]
        bias = self.source[path + "/bias"]
        if reads is not None:
            kernel, bias = kernel * reads.a[:, None], bias + reads.c @ kernel
        if adds_to is not None:
            small = np.abs(adds_to.a) < MIN_SCALE
            if small.any():
                raise ValueError(
                    f"Cannot fold the NoNorms before {path}: the residual "
                    f"stream's scale is below {MIN_SCALE} in channels "
                    f"{np.flatnonzero(small)[:5].tolist()} (a NoNorm gamma "
                    "of zero or a product of tiny gammas); export the "
                    "original model."
                )
            kernel = kernel / adds_to.a[None, :]
            bias = bias / adds_to.a
        self.folded[path + "/kernel"] = kernel
        self.folded[path + "/bias"] = bias


def _fold_embeddings(folder, embeddings):
    """The basis of the embedding output (its dense layer is exact)."""
    return folder.norm(_Basis.exact(embeddings.hidden_dim), "embeddings/norm")


def _fold_block(folder, block, prev):
    """Fold one `MobileBertTransformerBlock`; return its output's basis.

    Which tensor feeds the query, key and value is the block's own choice
    (`attention_inputs`, applied here to bases instead of tensors).
    """
    p = block.path + "/"
    shared = None
    if block.use_bottleneck:
        b = p + "bottleneck_input/"
        folder.dense(b + "input_dense", prev)
        exact = _Basis.exact(block.bottleneck_dim)
        layer_input = folder.norm(exact, b + "input_norm")
        if block.shares_query_key:
            folder.dense(b + "attention_dense", prev)
            shared = folder.norm(exact, b + "attention_norm")
    else:
        layer_input = prev
    query, key, value = attention_inputs(
        prev,
        layer_input,
        shared,
        block.shares_query_key,
        block.attention_variant,
    )
    folder.dense(p + "attention/query", query)
    folder.dense(p + "attention/key", key)
    folder.dense(p + "attention/value", value)
    folder.dense(p + "attention_output_dense", adds_to=layer_input)
    inner = folder.norm(layer_input, p + "attention_output_norm")
    for j in range(block.num_feedforward_networks):
        f = f"{p}stacked_ffn/ffn_{j}_"
        folder.dense(f + "intermediate", inner)
        folder.dense(f + "output", adds_to=inner)
        inner = folder.norm(inner, f + "norm")
    if not block.use_bottleneck:
        return inner
    folder.dense(p + "bottleneck_output/dense", inner, prev)
    return folder.norm(prev, p + "bottleneck_output/norm")


def folded_weights(backbone):
    """The weights of the norm-folded copy of a backbone.

    Args:
        backbone: a `MobileBertBackbone` with `normalization="no_norm"`.

    Returns:
        A dict of weight path to float32 array: every dense layer folded,
        the tables as they were, no NoNorm weights, and
        `output_affine/gamma` and `output_affine/beta` for the final map.

    Raises:
        ValueError: the model does not use NoNorm, or a residual stream's
            scale is too small to divide by.

    Example:
    ```python
    values = folded_weights(backbone)
    ```
    """
    if backbone.normalization != "no_norm":
        raise ValueError(
            "Only NoNorm models fold; this one uses normalization="
            f"{backbone.normalization!r}."
        )
    folder = _Folder({v.path: v.numpy() for v in backbone.weights})
    basis = _fold_embeddings(folder, backbone.embeddings)
    for block in backbone.transformer_layers:
        basis = _fold_block(folder, block, basis)
    folder.folded["output_affine/gamma"] = basis.a
    folder.folded["output_affine/beta"] = basis.c
    for path, value in folder.source.items():
        norm = path.endswith(("/gamma", "/beta"))
        if path not in folder.folded and not norm:
            folder.folded[path] = value  # Tables, the pooler.
    values = {k: v.astype("float32") for k, v in folder.folded.items()}
    bad = [k for k, v in values.items() if not np.all(np.isfinite(v))]
    if bad:
        raise ValueError(
            f"Folding the NoNorms overflows float32 in {bad[:3]}; export the "
            "original model."
        )
    return values


def fold_norms(model):
    """A copy of a NoNorm MobileBERT with its NoNorms folded into weights.

    For float32 and dynamic-range LiteRT export: the copy computes the same
    outputs up to float32 rounding with 12 fewer element-wise ops per block
    in the converted file (see the module docstring). The original is
    untouched; verify the export against it (`to_litert` compares with the
    model it is given, so compare the copy's file with the original's
    outputs).

    Args:
        model: a `MobileBertBackbone` with `normalization="no_norm"`, or a
            task built on one (classifier, masked LM, question answerer).

    Returns:
        A `NormFoldedMobileBertBackbone`, or a task of the same class
        around one (same preprocessor object, same head weights).

    Raises:
        ValueError: the model uses LayerNorm, or a NoNorm cannot be folded
            (see `folded_weights`).

    Example:
    ```python
    folded = fold_norms(classifier)
    to_litert(folded, "classifier.tflite", quantization="dynamic")
    ```
    """
    backbone = getattr(model, "backbone", model)
    if not isinstance(backbone, MobileBertBackbone):
        raise TypeError(
            "fold_norms takes a MobileBertBackbone or a task built on one; "
            f"received {type(backbone).__name__}."
        )
    values = folded_weights(backbone)
    folded = NormFoldedMobileBertBackbone.from_config(backbone.get_config())
    _assign(folded.weights, values, folded.name)
    if model is backbone:
        return folded
    task_config = model.get_config()
    task_config["backbone"] = folded
    if "preprocessor" in task_config:
        task_config["preprocessor"] = model.preprocessor
    copy = type(model).from_config(task_config)
    backbone_paths = {v.path for v in folded.weights}
    head = {v.path: v.numpy() for v in model.weights}
    _assign(
        [v for v in copy.weights if v.path not in backbone_paths],
        head,
        copy.name,
    )
    return copy


def _assign(variables, values, name):
    for variable in variables:
        if variable.path not in values:
            raise ValueError(
                f"{name}: no folded value for weight {variable.path}."
            )
        variable.assign(values[variable.path])
