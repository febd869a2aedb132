"""TF Model Garden MobileBERT (tf-models-official) into keras_mobilebert.

Three kinds of files hold a Model Garden `MobileBERTEncoder`, and all three
are object-based TF2 checkpoints inside:

- its TF2 checkpoint (`tf.train.Checkpoint(encoder=...)`);
- its SavedModel in the TF Hub / Kaggle layout
  (`mobilebert_en_uncased_L-24_H-128_B-512_A-4_F-4_OPT`), a folder or a
  `.tar.gz` of one: the weights are `variables/variables.*`, the
  vocabulary `assets/vocab.txt`;
- a MediaPipe Model Maker text-classifier checkpoint
  (`checkpoint/model-NNNN.*`): the SavedModel under a `hub.KerasLayer`,
  then dropout and `Dense(num_classes, softmax, name="output")`.

The keys differ (`encoder/layer_with_weights-0/...`, `variables/17`, the
hub layer's variable names), but each file's object graph still has the
encoder's structure, so the encoder is found by it (a node whose
`layer_with_weights-0` has a `word_embedding` table) and every weight is
named by its path below that node, `tfm_names`' scheme; nothing depends on
the key spelling. The Model Maker head is the top-level layer with a 2-D
`kernel` and a `bias`.

Model Garden's function is ours with `attention_mask_mode="additive"`, every
LayerNorm epsilon 1e-12, no pooler dense (`classifier_activation=False`: the
pooled output is the first token as is) and the classifier head on it with
no pooled normalization; `docs/conversion.md` says why.
"""

import json
import logging
import pathlib
import re
import shutil
import tarfile
import tempfile

from keras_mobilebert.convert.assembly import assemble
from keras_mobilebert.convert.bert_config import (
    backbone_config_from_bert_fields,
)
from keras_mobilebert.convert.tf1_checkpoint import checkpoint_prefix
from keras_mobilebert.convert.weights import ConversionError

logger = logging.getLogger("keras_mobilebert.convert")

# `MobileBERTEncoder.__init__`'s defaults: the released configuration
# (mobilebert_en_uncased_L-24_H-128_B-512_A-4_F-4_OPT), which Model Maker's
# MobileBERT classifier also uses.
TFM_CONFIG_DEFAULTS = {
    "word_vocab_size": 30522,
    "word_embed_size": 128,
    "type_vocab_size": 2,
    "max_sequence_length": 512,
    "num_blocks": 24,
    "hidden_size": 512,
    "num_attention_heads": 4,
    "intermediate_size": 512,
    "intermediate_act_fn": "relu",
    "hidden_dropout_prob": 0.1,
    "attention_probs_dropout_prob": 0.1,
    "intra_bottleneck_size": 128,
    "initializer_range": 0.02,
    "use_bottleneck_attention": False,
    "key_query_shared_bottleneck": True,
    "num_feedforward_networks": 4,
    "normalization_type": "no_norm",
    "classifier_activation": False,
}
# Keras activation names (Model Garden passes the string to EinsumDense):
# Keras' "gelu" is the exact erf form.
TFM_ACTIVATIONS = {"relu": "relu", "gelu": "gelu", "relu6": "relu6"}
# Object-graph children that list or wrap weights a second time.
_SKIPPED_CHILDREN = {
    "variables",
    "trainable_variables",
    "non_trainable_variables",
    "regularization_losses",
    "keras_api",
    "optimizer",
    "signatures",
}
# Keras MultiHeadAttention's private sublayers, which hold its weights.
_ATTENTION_DENSES = {
    "_query_dense",
    "_key_dense",
    "_value_dense",
    "_output_dense",
}
_VARIABLE = "VARIABLE_VALUE"


def backbone_config_from_tfm(tfm_config=None):
    """Translate `MobileBERTEncoder` keyword arguments into backbone kwargs.

    Args:
        tfm_config: dict of `MobileBERTEncoder` arguments (or a Model Garden
            experiment's `{"encoder": {"mobilebert": {...}}}`); missing
            fields take the class's defaults, the released configuration.

    Example:
    ```python
    config = backbone_config_from_tfm({"num_blocks": 24})
    ```
    """
    tfm_config = dict(tfm_config or {})
    if "encoder" in tfm_config:
        tfm_config = dict(tfm_config["encoder"].get("mobilebert", {}))
    unknown = sorted(set(tfm_config) - set(TFM_CONFIG_DEFAULTS))
    if unknown:
        raise ConversionError(
            f"Unknown MobileBERTEncoder fields {unknown}; known: "
            f"{sorted(TFM_CONFIG_DEFAULTS)}."
        )
    c = dict(TFM_CONFIG_DEFAULTS, **tfm_config)
    if c["intermediate_act_fn"] not in TFM_ACTIVATIONS:
        raise ConversionError(
            f"Unsupported intermediate_act_fn {c['intermediate_act_fn']!r}; "
            f"supported: {sorted(TFM_ACTIVATIONS)}."
        )
    if c["normalization_type"] not in ("no_norm", "layer_norm"):
        raise ConversionError(
            f"Unsupported normalization_type {c['normalization_type']!r}; "
            "supported: 'no_norm', 'layer_norm'."
        )
    fields = {
        "vocab_size": c["word_vocab_size"],
        "hidden_size": c["hidden_size"],
        "num_hidden_layers": c["num_blocks"],
        "num_attention_heads": c["num_attention_heads"],
        "intermediate_size": c["intermediate_size"],
        "embedding_size": c["word_embed_size"],
        # Model Garden's MobileBERT always has the bottlenecks and the
        # trigram embedding.
        "use_bottleneck": True,
        "trigram_input": True,
        "intra_bottleneck_size": c["intra_bottleneck_size"],
        "use_bottleneck_attention": c["use_bottleneck_attention"],
        "key_query_shared_bottleneck": c["key_query_shared_bottleneck"]
        and not c["use_bottleneck_attention"],
        "num_feedforward_networks": c["num_feedforward_networks"],
        "normalization_type": c["normalization_type"],
        "hidden_dropout_prob": c["hidden_dropout_prob"],
        "attention_probs_dropout_prob": c["attention_probs_dropout_prob"],
        "max_position_embeddings": c["max_sequence_length"],
        "type_vocab_size": c["type_vocab_size"],
        "classifier_activation": c["classifier_activation"],
        "initializer_range": c["initializer_range"],
    }
    return backbone_config_from_bert_fields(
        fields,
        activation=TFM_ACTIVATIONS[c["intermediate_act_fn"]],
        # `_get_norm_layer`: LayerNormalization(epsilon=1e-12).
        layer_norm_epsilon=1e-12,
        site_layer_norm_epsilon=None,
        # Keras MultiHeadAttention's softmax adds -1e9 to masked logits.
        attention_mask_mode="additive",
    )


class _ObjectGraph:
    """The object graph of an object-based TF2 checkpoint."""

    def __init__(self, prefix):
        import tensorflow as tf
        from tensorflow.core.protobuf import trackable_object_graph_pb2

        self.prefix = prefix
        try:
            self.reader = tf.train.load_checkpoint(prefix)
            names = self.reader.get_variable_to_shape_map()
            if "_CHECKPOINTABLE_OBJECT_GRAPH" not in names:
                raise ConversionError(
                    f"{prefix} is a name-based (TF1) checkpoint, not a TF2 "
                    "object-based one; use --format tf1."
                )
            graph = trackable_object_graph_pb2.TrackableObjectGraph()
            graph.ParseFromString(
                self.reader.get_tensor("_CHECKPOINTABLE_OBJECT_GRAPH")
            )
        except (tf.errors.OpError, ValueError, IndexError) as e:
            raise ConversionError(
                f"{prefix} is not a readable TF checkpoint (missing, "
                f"truncated or corrupt?): {type(e).__name__}: {e}"
            ) from e
        self.nodes = graph.nodes

    def child(self, node, name):
        for ref in self.nodes[node].children:
            if ref.local_name == name:
                return ref.node_id
        return None

    def key(self, node):
        """The checkpoint key of a variable node, or None."""
        for attribute in self.nodes[node].attributes:
            if attribute.name == _VARIABLE:
                return attribute.checkpoint_key
        return None

    def walk(self, node, path):
        for name in path.split("/"):
            node = self.child(node, name)
            if node is None:
                return None
        return node

    def breadth_first(self):
        order, seen = [0], {0}
        for node in order:
            for ref in self.nodes[node].children:
                if ref.node_id not in seen:
                    seen.add(ref.node_id)
                    order.append(ref.node_id)
        return order

    def variables_below(self, node, prefix=""):
        """{path: variable node} below `node`, each variable once."""
        found, seen = {}, {node}
        queue = [(node, prefix)]
        for current, path in queue:
            for ref in sorted(
                self.nodes[current].children, key=lambda r: r.local_name
            ):
                name = ref.local_name
                # `layer-N` lists every layer of a functional model again.
                if (
                    name in _SKIPPED_CHILDREN
                    or name.startswith("layer-")
                    or (name.startswith("_") and name not in _ATTENTION_DENSES)
                ):
                    continue
                if ref.node_id in seen:
                    continue
                seen.add(ref.node_id)
                child_path = f"{path}/{name}" if path else name
                if self.key(ref.node_id) is not None:
                    found[child_path] = ref.node_id
                else:
                    queue.append((ref.node_id, child_path))
        return found

    def tensor(self, node):
        return self.reader.get_tensor(self.key(node))


def _is_encoder(graph, node):
    table = graph.walk(node, "layer_with_weights-0/word_embedding/embeddings")
    return table is not None and graph.key(table) is not None


def read_tfm_tensors(prefix):
    """Every Model Garden encoder weight of a checkpoint, by `tfm_names`.

    The encoder is found by its structure anywhere in the object graph (a
    checkpoint's `encoder`, a SavedModel's root, a Model Maker hub layer's
    loaded model); a Model Maker classifier's head is returned as
    `output/kernel` and `output/bias`.

    Returns:
        (tensors, extras): dict of name to numpy array, and a dict of the
        other scalars found at the root (`do_lower_case`).

    Example:
    ```python
    tensors, _ = read_tfm_tensors("tfm_checkpoint/ckpt-1")
    ```
    """
    graph = _ObjectGraph(prefix)
    order = graph.breadth_first()
    encoders = [node for node in order if _is_encoder(graph, node)]
    if not encoders:
        raise ConversionError(
            f"{prefix} holds no Model Garden MobileBERTEncoder (no object "
            "with layer_with_weights-0/word_embedding/embeddings)."
        )
    encoder = encoders[0]
    tensors = {}
    for path, node in graph.variables_below(encoder).items():
        if not re.match(r"layer_with_weights-\d+(/|$)", path):
            continue
        tensors[path] = graph.tensor(node)
    # A classifier head: a top-level layer with a 2-D kernel and a bias
    # that is not on the way to the encoder.
    for ref in graph.nodes[0].children:
        if not ref.local_name.startswith("layer_with_weights-"):
            continue
        kernel = graph.child(ref.node_id, "kernel")
        bias = graph.child(ref.node_id, "bias")
        if kernel is None or bias is None or graph.key(kernel) is None:
            continue
        value = graph.tensor(kernel)
        if value.ndim == 2:
            tensors["output/kernel"] = value
            tensors["output/bias"] = graph.tensor(bias)
    extras = {}
    lower = graph.child(0, "do_lower_case")
    if lower is not None and graph.key(lower) is not None:
        extras["do_lower_case"] = bool(graph.tensor(lower))
    return tensors, extras


def is_object_checkpoint(prefix):
    """Whether a checkpoint prefix is an object-based (TF2) checkpoint.

    Example:
    ```python
    is_object_checkpoint("tfm_checkpoint/ckpt-1")  # True
    ```
    """
    import tensorflow as tf

    try:
        names = tf.train.load_checkpoint(prefix).get_variable_to_shape_map()
    except (tf.errors.OpError, ValueError):
        return False
    return "_CHECKPOINTABLE_OBJECT_GRAPH" in names


def is_tfm_source(src):
    """Whether `src` is a SavedModel (folder or `.tar.gz`) or a TF2
    checkpoint, the files `convert_tfm` reads.

    Example:
    ```python
    is_tfm_source("mobilebert_en_uncased_L-24_H-128_B-512_A-4_F-4_OPT")
    ```
    """
    path = pathlib.Path(src)
    if path.is_dir() and (path / "saved_model.pb").is_file():
        return True
    if path.is_file() and path.name.endswith((".tar.gz", ".tgz")):
        return True
    try:
        return is_object_checkpoint(checkpoint_prefix(path))
    except ConversionError:
        return False


def _extract(archive, directory):
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
        for member in members:
            target = (directory / member.name).resolve()
            if not str(target).startswith(str(directory.resolve())):
                raise ConversionError(
                    f"{archive}: member {member.name} lies outside the "
                    "archive's folder; refused."
                )
            if not (member.isfile() or member.isdir()):
                raise ConversionError(
                    f"{archive}: member {member.name} is not a plain file "
                    "or folder; refused."
                )
        # Members are checked above; the "data" filter (Python 3.11.4+)
        # also drops modes and owners.
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        tar.extractall(directory, members=members, **safe)
    found = sorted(directory.rglob("saved_model.pb"))
    if not found:
        raise ConversionError(f"{archive} holds no saved_model.pb.")
    return found[0].parent


def _read_vocabulary(candidates):
    for candidate in candidates:
        if candidate is not None and pathlib.Path(candidate).is_file():
            text = pathlib.Path(candidate).read_text(encoding="utf-8")
            tokens = text.splitlines()
            while tokens and tokens[-1] == "":
                tokens.pop()
            return tokens
    return None


def convert_tfm(
    src,
    config=None,
    vocabulary=None,
    lowercase=None,
    dtype=None,
    progress=None,
):
    """Convert a Model Garden MobileBERT file, checking every weight.

    Args:
        src: a TF2 checkpoint (prefix, `.index` file or its folder) of a
            `MobileBERTEncoder` or of a Model Maker text classifier, or a TF
            Hub SavedModel (folder or `.tar.gz`).
        config: dict or path to a JSON file of `MobileBERTEncoder`
            arguments; by default the released configuration (the class's
            defaults), updated by a `config.json` next to `src` if any.
        vocabulary: path to `vocab.txt`; by default the SavedModel's
            `assets/vocab.txt`, or a `vocab.txt` next to the checkpoint or
            in its parent folder (Model Maker's export folder).
        lowercase: bool; by default the SavedModel's `do_lower_case`, else
            True (the released model is uncased).
        dtype: optional dtype policy.
        progress: optional callable taking a message.

    Returns:
        A `keras_mobilebert.convert.assembly.ConvertedModel`; a Model Maker
        checkpoint's has `"classifier"` in `heads`.

    Example:
    ```python
    converted = convert_tfm("mobilebert_en_uncased_L-24_H-128_B-512_A-4_F-4")
    converted.backbone(inputs)["pooled_output"]
    ```
    """
    say = progress or (lambda message: logger.info(message))
    path = pathlib.Path(src)
    temporary = None
    try:
        if path.is_file() and path.name.endswith((".tar.gz", ".tgz")):
            temporary = pathlib.Path(tempfile.mkdtemp(prefix="tfm_"))
            say(f"Extracting {path}")
            path = _extract(path, temporary)
        if path.is_dir() and (path / "saved_model.pb").is_file():
            prefix = str(path / "variables" / "variables")
            vocabulary_candidates = [vocabulary, path / "assets" / "vocab.txt"]
            config_candidates = [
                path / "config.json",
                path.parent / "config.json",
            ]
        else:
            prefix = checkpoint_prefix(path)
            parent = pathlib.Path(prefix).parent
            vocabulary_candidates = [
                vocabulary,
                parent / "vocab.txt",
                parent.parent / "vocab.txt",
            ]
            config_candidates = [
                parent / "config.json",
                parent.parent / "config.json",
            ]
        if config is None:
            config = next((c for c in config_candidates if c.is_file()), None)
        if config is not None and not isinstance(config, dict):
            try:
                config = json.loads(pathlib.Path(config).read_text())
            except (OSError, ValueError) as e:
                raise ConversionError(
                    f"Cannot read the MobileBERTEncoder config {config}: {e}"
                ) from e
        backbone_config = backbone_config_from_tfm(config)
        say(f"Reading {prefix}")
        tensors, extras = read_tfm_tensors(prefix)
        tokens = _read_vocabulary(vocabulary_candidates)
    finally:
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)
    num_labels = 2
    if "output/bias" in tensors:
        num_labels = int(tensors["output/bias"].shape[0])
    converted = assemble(
        backbone_config,
        tensors,
        "tfm",
        str(src),
        num_labels=num_labels,
        dtype=dtype,
        progress=say,
    )
    converted.vocabulary = tokens
    if lowercase is None:
        lowercase = extras.get("do_lower_case", True)
    converted.lowercase = lowercase
    converted.strip_accents = lowercase
    # The classifier head's dropout: Model Maker's default 0.1 equals the
    # encoder's hidden dropout.
    converted.hf_config = {"hidden_dropout_prob": backbone_config["dropout"]}
    converted.source = str(src)
    return converted
