"""Name maps between keras_mobilebert variables and checkpoint tensors.

One table, `weight_entries`, lists every variable of a backbone and its
heads together with its Hugging Face (PyTorch) name and its original TF1
(google-research) name, and how the stored tensor is laid out relative to
the Keras variable. Both converters and the Hugging Face exporter read it,
so the three name schemes cannot drift apart. The TF Model Garden names
follow from the GR names one to one (`tfm_names.add_tfm_names` fills
`Entry.tfm_name` and `Entry.tfm_shape`).
"""

import dataclasses
import logging

import numpy as np

from keras_mobilebert.utils.errors import UserInputError

logger = logging.getLogger("keras_mobilebert.convert")

# How many names an error message lists before it says "and N more".
_LIST_LIMIT = 25


class ConversionError(UserInputError):
    """A checkpoint does not match the model it is converted into."""


@dataclasses.dataclass
class Entry:
    """One variable and where it lives in each checkpoint format.

    Attributes:
        variable: the Keras variable.
        hf_name: its name in a Hugging Face PyTorch state dict.
        hf_transpose: whether the HF tensor is the transpose of the variable
            (`torch.nn.Linear` stores `[out, in]`).
        gr_name: its name in an original TF1 (google-research) checkpoint.
        gr_transpose: whether the TF1 tensor is the transpose.
        group: `"backbone"`, `"mlm"`, `"nsp"`, `"classifier"` or `"qa"`.
        tfm_name: its name in a TF Model Garden checkpoint (None until
            `tfm_names.add_tfm_names` sets it).
        tfm_shape: the Model Garden stored shape, which reshapes (never
            transposes) into the variable's.
    """

    variable: object
    hf_name: str
    hf_transpose: bool
    gr_name: str
    gr_transpose: bool
    group: str
    tfm_name: str = None
    tfm_shape: tuple = None


def _layout(entry, scheme):
    """(name, stored shape, stored -> variable) of an entry in a scheme."""
    want = tuple(entry.variable.shape)
    if scheme == "tfm":
        stored = entry.tfm_shape or want
        return entry.tfm_name, stored, lambda value: value.reshape(want)
    if scheme == "hf":
        name, transpose = entry.hf_name, entry.hf_transpose
    else:
        name, transpose = entry.gr_name, entry.gr_transpose
    if transpose:
        return name, tuple(reversed(want)), lambda value: value.T
    return name, want, lambda value: value


def _dense(layer, hf, gr, group):
    return [
        Entry(layer.kernel, f"{hf}.weight", True, f"{gr}/kernel", False, group),
        Entry(layer.bias, f"{hf}.bias", False, f"{gr}/bias", False, group),
    ]


def _norm(layer, hf, gr, gr_norm_name, group):
    return [
        Entry(
            layer.gamma,
            f"{hf}.weight",
            False,
            f"{gr}/{gr_norm_name}/gamma",
            False,
            group,
        ),
        Entry(
            layer.beta,
            f"{hf}.bias",
            False,
            f"{gr}/{gr_norm_name}/beta",
            False,
            group,
        ),
    ]


def backbone_entries(backbone):
    """Every variable of a `MobileBertBackbone` with its checkpoint names.

    Args:
        backbone: a built `keras_mobilebert.MobileBertBackbone`.

    Returns:
        A list of `Entry`.

    Example:
    ```python
    names = [e.hf_name for e in backbone_entries(backbone)]
    ```
    """
    norm = (
        "FakeLayerNorm" if backbone.normalization == "no_norm" else "LayerNorm"
    )
    out = []
    emb = backbone.embeddings
    hf, gr = "mobilebert.embeddings", "bert/embeddings"
    out.append(
        Entry(
            emb.token_embedding.embeddings,
            f"{hf}.word_embeddings.weight",
            False,
            f"{gr}/word_embeddings",
            False,
            "backbone",
        )
    )
    if emb.projects_input:
        out += _dense(
            emb.embedding_transformation,
            f"{hf}.embedding_transformation",
            f"{gr}/embedding_transformation",
            "backbone",
        )
    out.append(
        Entry(
            emb.position_embeddings,
            f"{hf}.position_embeddings.weight",
            False,
            f"{gr}/position_embeddings",
            False,
            "backbone",
        )
    )
    out.append(
        Entry(
            emb.segment_embedding.embeddings,
            f"{hf}.token_type_embeddings.weight",
            False,
            f"{gr}/token_type_embeddings",
            False,
            "backbone",
        )
    )
    out += _norm(emb.norm, f"{hf}.LayerNorm", gr, norm, "backbone")
    for i, block in enumerate(backbone.transformer_layers):
        hf = f"mobilebert.encoder.layer.{i}"
        gr = f"bert/encoder/layer_{i}"
        if block.use_bottleneck:
            bi = block.bottleneck_input
            out += _dense(
                bi.input_dense,
                f"{hf}.bottleneck.input.dense",
                f"{gr}/bottleneck/input/dense",
                "backbone",
            )
            out += _norm(
                bi.input_norm,
                f"{hf}.bottleneck.input.LayerNorm",
                f"{gr}/bottleneck/input",
                norm,
                "backbone",
            )
            if block.shares_query_key:
                out += _dense(
                    bi.attention_dense,
                    f"{hf}.bottleneck.attention.dense",
                    f"{gr}/bottleneck/attention/dense",
                    "backbone",
                )
                out += _norm(
                    bi.attention_norm,
                    f"{hf}.bottleneck.attention.LayerNorm",
                    f"{gr}/bottleneck/attention",
                    norm,
                    "backbone",
                )
        att = block.attention
        for name in ("query", "key", "value"):
            out += _dense(
                getattr(att, f"{name}_dense"),
                f"{hf}.attention.self.{name}",
                f"{gr}/attention/self/{name}",
                "backbone",
            )
        out += _dense(
            block.attention_output_dense,
            f"{hf}.attention.output.dense",
            f"{gr}/attention/output/dense",
            "backbone",
        )
        out += _norm(
            block.attention_output_norm,
            f"{hf}.attention.output.LayerNorm",
            f"{gr}/attention/output",
            norm,
            "backbone",
        )
        ffn = block.stacked_ffn
        count = ffn.num_feedforward_networks
        for j in range(count):
            if j < count - 1:
                hf_j, gr_j = f"{hf}.ffn.{j}", f"{gr}/ffn_layer_{j}"
            else:
                # The last FFN sits at the block's top level in both formats.
                hf_j, gr_j = hf, gr
            out += _dense(
                ffn.intermediate_layers[j],
                f"{hf_j}.intermediate.dense",
                f"{gr_j}/intermediate/dense",
                "backbone",
            )
            out += _dense(
                ffn.output_layers[j],
                f"{hf_j}.output.dense",
                f"{gr_j}/output/dense",
                "backbone",
            )
            out += _norm(
                ffn.norm_layers[j],
                f"{hf_j}.output.LayerNorm",
                f"{gr_j}/output",
                norm,
                "backbone",
            )
        if block.use_bottleneck:
            bo = block.bottleneck_output
            out += _dense(
                bo.dense,
                f"{hf}.output.bottleneck.dense",
                f"{gr}/output/bottleneck/dense",
                "backbone",
            )
            out += _norm(
                bo.norm,
                f"{hf}.output.bottleneck.LayerNorm",
                f"{gr}/output/bottleneck",
                norm,
                "backbone",
            )
    if backbone.pooled_dense is not None:
        out += _dense(
            backbone.pooled_dense,
            "mobilebert.pooler.dense",
            "bert/pooler/dense",
            "backbone",
        )
    return out


def masked_lm_head_entries(head):
    """The variables of a `MobileBertMaskedLMHead` with checkpoint names."""
    hf, gr = "cls.predictions", "cls/predictions"
    out = _dense(
        head.transform_dense,
        f"{hf}.transform.dense",
        f"{gr}/transform/dense",
        "mlm",
    )
    out += _norm(
        head.transform_norm,
        f"{hf}.transform.LayerNorm",
        f"{gr}/transform",
        "LayerNorm",
        "mlm",
    )
    out.append(
        Entry(
            head.extra_output_weights,
            f"{hf}.dense.weight",
            True,
            f"{gr}/extra_output_weights",
            False,
            "mlm",
        )
    )
    out.append(
        Entry(
            head.output_bias,
            f"{hf}.bias",
            False,
            f"{gr}/output_bias",
            False,
            "mlm",
        )
    )
    return out


def next_sentence_head_entries(dense):
    """The variables of the NSP dense layer with checkpoint names."""
    return [
        Entry(
            dense.kernel,
            "cls.seq_relationship.weight",
            True,
            "cls/seq_relationship/output_weights",
            True,
            "nsp",
        ),
        Entry(
            dense.bias,
            "cls.seq_relationship.bias",
            False,
            "cls/seq_relationship/output_bias",
            False,
            "nsp",
        ),
    ]


def classifier_head_entries(dense):
    """The logits layer of a sequence classifier (HF `classifier`)."""
    return [
        Entry(
            dense.kernel,
            "classifier.weight",
            True,
            "output_weights",
            True,
            "classifier",
        ),
        Entry(
            dense.bias,
            "classifier.bias",
            False,
            "output_bias",
            False,
            "classifier",
        ),
    ]


def question_answering_head_entries(dense):
    """The span head of a question answerer (HF `qa_outputs`)."""
    return [
        Entry(
            dense.kernel,
            "qa_outputs.weight",
            True,
            "cls/squad/output_weights",
            True,
            "qa",
        ),
        Entry(
            dense.bias,
            "qa_outputs.bias",
            False,
            "cls/squad/output_bias",
            False,
            "qa",
        ),
    ]


def _listing(names):
    names = sorted(names)
    text = ", ".join(names[:_LIST_LIMIT])
    if len(names) > _LIST_LIMIT:
        text += f", ... and {len(names) - _LIST_LIMIT} more"
    return text


def check_and_assign(
    entries, tensors, source, scheme, ignored=(), optional=(), dry_run=False
):
    """Check a set of named tensors against `entries`, then assign them.

    Every problem is collected before anything is assigned, and reported in
    one `ConversionError`: the missing names, the names no entry claims (less
    `ignored`), and each shape that differs with both shapes.

    Args:
        entries: list of `Entry`.
        tensors: dict of name to array (numpy or anything `np.asarray` reads).
        source: string. What the tensors came from, for messages.
        scheme: `"hf"`, `"gr"` or `"tfm"`: which names and layouts of the
            entries to use.
        ignored: names that may be present without an entry.
        optional: entry names that may be absent; their variables keep
            their initial values (a warning names them).
        dry_run: bool. Check only.

    Example:
    ```python
    check_and_assign(backbone_entries(backbone), tensors, "model.safetensors",
                     "hf")
    ```
    """
    expected = {}
    for entry in entries:
        name, stored, to_variable = _layout(entry, scheme)
        expected[name] = (entry, stored, to_variable)
    missing = [
        name
        for name in expected
        if name not in tensors and name not in optional
    ]
    absent_optional = [
        name for name in expected if name not in tensors and name in optional
    ]
    if absent_optional:
        logger.warning(
            "%s has no %s; these stay randomly initialized.",
            source,
            ", ".join(sorted(absent_optional)),
        )
    unexpected = [
        name for name in tensors if name not in expected and name not in ignored
    ]
    mismatched = []
    values = {}
    for name, (entry, want_stored, to_variable) in expected.items():
        if name not in tensors:
            continue
        stored_shape = tuple(np.shape(tensors[name]))
        if stored_shape != want_stored:
            mismatched.append(
                f"{name}: checkpoint shape {stored_shape}, model expects "
                f"{want_stored} (Keras variable {entry.variable.path} "
                f"{tuple(entry.variable.shape)})"
            )
            continue
        values[name] = (entry, to_variable)
    problems = []
    if missing:
        problems.append(f"missing weights: {_listing(missing)}")
    if unexpected:
        problems.append(
            f"unexpected weights (not used by this configuration): "
            f"{_listing(unexpected)}"
        )
    if mismatched:
        problems.append(
            "shape mismatches:\n  " + "\n  ".join(mismatched[:_LIST_LIMIT])
        )
    if problems:
        raise ConversionError(
            f"{source} does not match the MobileBERT configuration:\n- "
            + "\n- ".join(problems)
        )
    if dry_run:
        return
    for name, (entry, to_variable) in values.items():
        value = to_variable(np.asarray(tensors[name]))
        entry.variable.assign(value.astype(entry.variable.dtype))


def export_tensors(entries, scheme):
    """Read `entries`' variables as a dict of checkpoint name to array.

    Args:
        entries: list of `Entry`.
        scheme: `"hf"` or `"gr"`.

    Example:
    ```python
    tensors = export_tensors(backbone_entries(backbone), "hf")
    ```
    """
    out = {}
    for entry in entries:
        value = np.asarray(entry.variable.numpy())
        if scheme == "hf":
            name, transpose = entry.hf_name, entry.hf_transpose
        else:
            name, transpose = entry.gr_name, entry.gr_transpose
        out[name] = np.ascontiguousarray(value.T if transpose else value)
    return out
