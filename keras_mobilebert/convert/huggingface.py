"""Hugging Face MobileBERT snapshots into keras_mobilebert, and back.

A snapshot is a directory with `config.json`, the weights
(`model.safetensors`, sharded safetensors with `model.safetensors.index.json`,
or the TensorFlow `tf_model.h5`) and the vocabulary (`vocab.txt` or
`tokenizer.json`); `hf://owner/name` downloads one through `huggingface_hub`
and then takes the same path. PyTorch `.bin` pickles are never unpickled:
they are read with `torch.load(weights_only=True)` when torch is installed,
and refused with instructions otherwise.

Numerical parity with the PyTorch model is the contract: the backbone config
mirrors HF's per-site LayerNorm epsilons (1e-5 for the embedding norm and
each block's last FFN norm) and its additive attention mask, and classifier
heads are built without keras_mobilebert's extra pooled LayerNorm.

Padding (HF issues 7070, 9860): the trigram window of the last real token
sees the `[PAD]` token's embedding as its right neighbour (a zero vector only
past the end of the sequence), so real tokens' outputs depend on how much
padding follows, in HF and here alike. The attention mask removes padded
keys but not that embedding. Converted models reproduce HF's numbers for the
same padded input (HF's additive mask, the most negative float32); a TF1
conversion defaults to GR's -6 fill, which gives GR's numbers instead. For
results independent of padding, run unpadded (or bucketed) batches.
"""

import json
import logging
import os
import pathlib
import re

import numpy as np

from keras_mobilebert.convert.bert_config import (
    backbone_config_from_bert_fields,
)
from keras_mobilebert.convert.weights import ConversionError
from keras_mobilebert.convert.weights import backbone_entries
from keras_mobilebert.convert.weights import check_and_assign
from keras_mobilebert.convert.weights import classifier_head_entries
from keras_mobilebert.convert.weights import export_tensors
from keras_mobilebert.convert.weights import masked_lm_head_entries
from keras_mobilebert.convert.weights import next_sentence_head_entries
from keras_mobilebert.convert.weights import question_answering_head_entries

logger = logging.getLogger("keras_mobilebert.convert")

# PyTorch's nn.LayerNorm default; HF builds the embedding LayerNorm and each
# block's last FFN LayerNorm without `eps` (REFERENCE.md section 3).
TORCH_LAYER_NORM_EPSILON = 1e-5

# `transformers.MobileBertConfig` defaults: a config.json that leaves a field
# out gets these in HF, so it must get them here too.
HF_CONFIG_DEFAULTS = {
    "vocab_size": 30522,
    "hidden_size": 512,
    "num_hidden_layers": 24,
    "num_attention_heads": 4,
    "intermediate_size": 512,
    "hidden_act": "relu",
    "hidden_dropout_prob": 0.0,
    "attention_probs_dropout_prob": 0.1,
    "max_position_embeddings": 512,
    "type_vocab_size": 2,
    "initializer_range": 0.02,
    "layer_norm_eps": 1e-12,
    "pad_token_id": 0,
    "embedding_size": 128,
    "trigram_input": True,
    "use_bottleneck": True,
    "intra_bottleneck_size": 128,
    "use_bottleneck_attention": False,
    "key_query_shared_bottleneck": True,
    "num_feedforward_networks": 4,
    "normalization_type": "no_norm",
    "classifier_activation": True,
    "classifier_dropout": None,
}

# HF `hidden_act` names and the keras_mobilebert activation computing the
# same function. HF's "gelu" is the exact erf form.
HF_ACTIVATIONS = {
    "relu": "relu",
    "relu6": "relu6",
    "gelu": "gelu",
    "gelu_new": "gelu_approximate",
    "gelu_pytorch_tanh": "gelu_approximate",
}
_ACTIVATIONS_TO_HF = {
    "relu": "relu",
    "relu6": "relu6",
    "gelu": "gelu",
    "gelu_approximate": "gelu_new",
}

WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "tf_model.h5",
    "pytorch_model.bin",
)
_SNAPSHOT_FILES = (
    "config.json",
    "vocab.txt",
    "tokenizer.json",
    "tokenizer_config.json",
)


def _architectures(config):
    return list(config.get("architectures") or [])


def backbone_config_from_hf(hf_config):
    """Translate an HF MobileBERT `config.json` dict into backbone kwargs.

    Fields the dict leaves out take `transformers.MobileBertConfig`'s
    defaults, as they do in HF. Values keras_mobilebert cannot reproduce
    exactly raise a `ConversionError` naming the field.

    Args:
        hf_config: dict. The parsed `config.json`.

    Returns:
        A dict of `keras_mobilebert.MobileBertBackbone` arguments.

    Example:
    ```python
    config = json.load(open("mobilebert-uncased/config.json"))
    backbone = keras_mobilebert.MobileBertBackbone(
        **backbone_config_from_hf(config)
    )
    ```
    """
    model_type = hf_config.get("model_type", "mobilebert")
    if model_type != "mobilebert":
        raise ConversionError(
            f"config.json has model_type {model_type!r}; only 'mobilebert' "
            "checkpoints can be converted."
        )
    c = dict(HF_CONFIG_DEFAULTS)
    c.update({k: v for k, v in hf_config.items() if v is not None or k in c})
    if c["normalization_type"] not in ("no_norm", "layer_norm"):
        raise ConversionError(
            f"Unsupported normalization_type {c['normalization_type']!r} in "
            "config.json; HF MobileBERT supports 'no_norm' and 'layer_norm'."
        )
    if c["hidden_act"] not in HF_ACTIVATIONS:
        raise ConversionError(
            f"Unsupported hidden_act {c['hidden_act']!r} in config.json; "
            f"supported: {sorted(HF_ACTIVATIONS)}."
        )
    for field in (
        "vocab_size",
        "hidden_size",
        "num_hidden_layers",
        "num_attention_heads",
        "intermediate_size",
        "embedding_size",
        "intra_bottleneck_size",
        "num_feedforward_networks",
        "max_position_embeddings",
        "type_vocab_size",
    ):
        if (
            isinstance(c[field], bool)
            or not isinstance(c[field], int)
            or c[field] < 1
        ):
            raise ConversionError(
                f"config.json field {field} must be a positive integer; "
                f"received {c[field]!r}."
            )
    for field in (
        "trigram_input",
        "use_bottleneck",
        "use_bottleneck_attention",
        "key_query_shared_bottleneck",
        "classifier_activation",
    ):
        if not isinstance(c[field], bool):
            raise ConversionError(
                f"config.json field {field} must be true or false; received "
                f"{c[field]!r}."
            )
    for field in ("hidden_dropout_prob", "attention_probs_dropout_prob"):
        value = c[field]
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or (not 0 <= value < 1)
        ):
            raise ConversionError(
                f"config.json field {field} must be a number in [0, 1); "
                f"received {value!r}."
            )
    eps = c["layer_norm_eps"]
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or eps <= 0:
        raise ConversionError(
            f"config.json field layer_norm_eps must be a positive number; "
            f"received {eps!r}."
        )
    use_bottleneck = c["use_bottleneck"]
    if (
        use_bottleneck
        and not c["use_bottleneck_attention"]
        and not c["key_query_shared_bottleneck"]
        and c["intra_bottleneck_size"] != c["hidden_size"]
    ):
        raise ConversionError(
            "Unsupported config: use_bottleneck without key_query_shared_"
            "bottleneck or use_bottleneck_attention needs intra_bottleneck_"
            f"size == hidden_size ({c['intra_bottleneck_size']} != "
            f"{c['hidden_size']}); HF's query/key projections expect the "
            "bottleneck width but receive the block input, so HF cannot run "
            "this model (REFERENCE.md section 3). Convert the original TF1 "
            "checkpoint instead."
        )
    if c["pad_token_id"] is not None and not (
        0 <= c["pad_token_id"] < c["vocab_size"]
    ):
        raise ConversionError(
            f"pad_token_id {c['pad_token_id']} is outside the vocabulary "
            f"(vocab_size {c['vocab_size']})."
        )
    return backbone_config_from_bert_fields(
        c,
        activation=HF_ACTIVATIONS[c["hidden_act"]],
        layer_norm_epsilon=c["layer_norm_eps"],
        site_layer_norm_epsilon=TORCH_LAYER_NORM_EPSILON,
        attention_mask_mode="additive",
    )


def hf_config_from_backbone(backbone, strict=True):
    """The HF `config.json` dict describing `backbone`.

    Args:
        backbone: a `keras_mobilebert.MobileBertBackbone`.
        strict: bool. Raise if HF would compute something else (a LayerNorm
            model whose embedding or last-FFN epsilon is not PyTorch's 1e-5,
            an activation HF lacks, GR's -6 mask fill).

    Example:
    ```python
    config = hf_config_from_backbone(backbone)
    ```
    """
    b = backbone
    problems = []
    if b.activation not in _ACTIVATIONS_TO_HF:
        problems.append(f"activation {b.activation!r} has no HF equivalent")
    if b.normalization == "layer_norm":
        for field in (
            "embedding_layer_norm_epsilon",
            "last_ffn_layer_norm_epsilon",
        ):
            value = getattr(b, field)
            value = b.layer_norm_epsilon if value is None else value
            if value != TORCH_LAYER_NORM_EPSILON:
                problems.append(
                    f"{field} is {value}, but HF always uses "
                    f"{TORCH_LAYER_NORM_EPSILON} at that LayerNorm"
                )
    if b.attention_mask_mode != "additive":
        problems.append(
            "attention_mask_mode 'fill' (GR's -6) differs from HF's additive "
            "mask on padded inputs"
        )
    if (
        b.use_bottleneck
        and not b.use_bottleneck_attention
        and not b.key_query_shared_bottleneck
        and b.bottleneck_dim != b.hidden_dim
    ):
        problems.append(
            "HF cannot run a bottleneck model whose query/key come from the "
            "block input with bottleneck_dim != hidden_dim"
        )
    if problems and strict:
        raise ConversionError(
            "This backbone cannot be exported to Hugging Face with the same "
            "numbers: " + "; ".join(problems) + ". Pass strict=False to "
            "export anyway."
        )
    for problem in problems:
        logger.warning("Hugging Face export: %s.", problem)
    return {
        "model_type": "mobilebert",
        "vocab_size": b.vocabulary_size,
        "hidden_size": b.hidden_dim,
        "num_hidden_layers": b.num_layers,
        "num_attention_heads": b.num_heads,
        "intermediate_size": b.intermediate_dim,
        "hidden_act": _ACTIVATIONS_TO_HF.get(b.activation, b.activation),
        "hidden_dropout_prob": b.dropout,
        "attention_probs_dropout_prob": b.attention_dropout,
        "max_position_embeddings": b.max_sequence_length,
        "type_vocab_size": b.num_segments,
        "initializer_range": b.initializer_range,
        "layer_norm_eps": b.layer_norm_epsilon,
        "pad_token_id": 0,
        "embedding_size": b.embedding_dim,
        "trigram_input": b.trigram_input,
        "use_bottleneck": b.use_bottleneck,
        "intra_bottleneck_size": b.bottleneck_dim,
        "use_bottleneck_attention": b.use_bottleneck_attention,
        "key_query_shared_bottleneck": b.key_query_shared_bottleneck,
        "num_feedforward_networks": b.num_feedforward_networks,
        "normalization_type": b.normalization,
        "classifier_activation": b.use_pooler,
        "tie_word_embeddings": True,
    }


# === Reading weight files ===


def read_safetensors(path):
    """Read every tensor of a `.safetensors` file as numpy arrays.

    Uses the `safetensors` package when it is installed, else (and for
    bfloat16 tensors, which numpy lacks) a small reader of the format here.
    Raises a `ConversionError` naming the file when it is truncated or not a
    safetensors file.

    Example:
    ```python
    tensors = read_safetensors("snapshot/model.safetensors")
    ```
    """
    try:
        from safetensors import SafetensorError
        from safetensors.numpy import load_file
    except ImportError:
        return _read_safetensors_numpy(path)
    try:
        return dict(load_file(str(path)))
    except TypeError:
        # numpy has no bfloat16; the file is valid, read it ourselves.
        return _read_safetensors_numpy(path)
    except (SafetensorError, OSError, ValueError) as e:
        raise ConversionError(
            f"{path} is not a readable safetensors file (truncated or "
            f"corrupt?): {e}"
        ) from e


_SAFETENSORS_DTYPES = {
    "F64": np.float64,
    "F32": np.float32,
    "F16": np.float16,
    "I64": np.int64,
    "I32": np.int32,
    "I16": np.int16,
    "I8": np.int8,
    "U8": np.uint8,
    "BOOL": np.bool_,
}
_SAFETENSORS_NAMES = {np.dtype(v): k for k, v in _SAFETENSORS_DTYPES.items()}


def _read_safetensors_numpy(path):
    """The safetensors format read with numpy alone.

    bfloat16 tensors are widened to float32, exactly (bfloat16 is the top
    half of a float32).
    """
    try:
        data = pathlib.Path(path).read_bytes()
    except OSError as e:
        raise ConversionError(f"Cannot read {path}: {e}") from e

    def corrupt(reason):
        return ConversionError(
            f"{path} is not a readable safetensors file (truncated or "
            f"corrupt?): {reason}"
        )

    if len(data) < 8:
        raise corrupt(f"only {len(data)} bytes")
    size = int.from_bytes(data[:8], "little")
    if size > len(data) - 8:
        raise corrupt(f"header of {size} bytes in a {len(data)}-byte file")
    try:
        header = json.loads(data[8 : 8 + size])
    except (ValueError, UnicodeDecodeError) as e:
        raise corrupt(f"unreadable header: {e}") from e
    if not isinstance(header, dict):
        raise corrupt("the header is not a JSON object")
    body = data[8 + size :]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype = info["dtype"]
            shape = tuple(int(d) for d in info["shape"])
            start, end = (int(o) for o in info["data_offsets"])
        except (KeyError, TypeError, ValueError) as e:
            raise corrupt(f"bad header entry for {name}: {e}") from e
        if not 0 <= start <= end <= len(body):
            raise ConversionError(
                f"{path} is truncated: {name} spans bytes {start}..{end} of "
                f"a {len(body)}-byte body."
            )
        raw = body[start:end]
        if dtype == "BF16":
            item = 2
        elif dtype in _SAFETENSORS_DTYPES:
            item = np.dtype(_SAFETENSORS_DTYPES[dtype]).itemsize
        else:
            raise ConversionError(
                f"{path}: tensor {name} has unsupported dtype {dtype}."
            )
        if len(raw) != item * int(np.prod(shape, dtype=np.int64)):
            raise corrupt(
                f"{name} has {len(raw)} bytes for shape {shape} of {dtype}"
            )
        if dtype == "BF16":
            bits = np.frombuffer(raw, "<u2").astype(np.uint32) << 16
            value = bits.view(np.float32)
        else:
            value = np.frombuffer(raw, _SAFETENSORS_DTYPES[dtype])
        tensors[name] = value.reshape(shape).copy()
    return tensors


def write_safetensors(tensors, path, metadata=None):
    """Write numpy arrays as a `.safetensors` file (no package needed).

    Example:
    ```python
    write_safetensors({"w": np.ones((2, 2), "float32")}, "model.safetensors")
    ```
    """
    header = {}
    offset = 0
    names = sorted(tensors)
    arrays = []
    for name in names:
        value = np.ascontiguousarray(tensors[name])
        if value.dtype not in _SAFETENSORS_NAMES:
            raise ConversionError(
                f"Cannot write {name}: dtype {value.dtype} has no "
                "safetensors name."
            )
        value = value.astype(value.dtype.newbyteorder("<"), copy=False)
        header[name] = {
            "dtype": _SAFETENSORS_NAMES[value.dtype.newbyteorder("=")],
            "shape": list(value.shape),
            "data_offsets": [offset, offset + value.nbytes],
        }
        offset += value.nbytes
        arrays.append(value)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    with open(path, "wb") as f:
        f.write(len(encoded).to_bytes(8, "little"))
        f.write(encoded)
        for value in arrays:
            f.write(value.tobytes())


def _read_sharded_safetensors(index_path):
    try:
        index = json.loads(pathlib.Path(index_path).read_text())
        shards = sorted(set(index["weight_map"].values()))
    except (ValueError, KeyError, TypeError) as e:
        raise ConversionError(
            f"{index_path} is not a valid safetensors index: {e}"
        ) from e
    tensors = {}
    for shard in shards:
        shard_path = pathlib.Path(index_path).parent / shard
        if not shard_path.is_file():
            raise ConversionError(
                f"{index_path} lists the shard {shard}, which is missing."
            )
        tensors.update(read_safetensors(shard_path))
    return tensors


def _tf_name_to_hf(name):
    """HF's TF 2 -> PyTorch weight name rule, for `tf_model.h5` files."""
    name = name.replace(":0", "")
    name = re.sub(r"/[^/]*___([^/]*)/", r"/\1/", name)
    name = name.replace("_._", "/")
    name = re.sub(r"//+", "/", name)
    parts = name.split("/")
    if len(parts) > 1:
        parts = parts[1:]
    transpose = parts[-1] == "kernel"
    if parts[-1] in ("kernel", "embeddings", "gamma"):
        parts[-1] = "weight"
    elif parts[-1] == "beta":
        parts[-1] = "bias"
    return ".".join(parts), transpose


def read_tf_h5(path):
    """Read a Hugging Face TensorFlow `tf_model.h5` into PyTorch names.

    Kernels are transposed to PyTorch's `[out, in]` layout so the rest of
    the converter sees one naming scheme.

    Example:
    ```python
    tensors = read_tf_h5("snapshot/tf_model.h5")
    ```
    """
    import h5py

    tensors = {}
    try:
        with h5py.File(path, "r") as f:
            pairs = []
            layer_names = f.attrs.get("layer_names")
            if layer_names is not None:
                # Keras h5 weights: each layer group lists its weights'
                # full names ("<model>/<scope>/.../kernel:0").
                for layer in layer_names:
                    layer = (
                        layer.decode() if isinstance(layer, bytes) else layer
                    )
                    group = f[layer]
                    for weight in group.attrs.get("weight_names", []):
                        if isinstance(weight, bytes):
                            weight = weight.decode()
                        pairs.append((weight, group[weight]))
            else:

                def visit(name, obj):
                    if isinstance(obj, h5py.Dataset):
                        parts = name.split("/")
                        weight = "/".join(parts[1:]) if len(parts) > 2 else name
                        pairs.append((weight, obj))

                f.visititems(visit)
            for weight, dataset in pairs:
                name, transpose = _tf_name_to_hf(weight)
                value = np.asarray(dataset)
                tensors[name] = value.T if transpose else value
    except (OSError, KeyError) as e:
        raise ConversionError(
            f"{path} is not a readable HDF5 file (truncated or corrupt?): {e}"
        ) from e
    # The TF model keeps a separate copy of the tied decoder matrix
    # (`cls.predictions.decoder.weight`); it is checked against the word
    # embeddings like the PyTorch one.
    return tensors


def read_pytorch_bin(path):
    """Read a PyTorch `.bin` state dict without unpickling arbitrary code.

    Uses `torch.load(weights_only=True)`, PyTorch's restricted loader, and
    only when torch is installed; otherwise raises a `ConversionError` that
    says how to get safetensors instead.

    Example:
    ```python
    tensors = read_pytorch_bin("snapshot/pytorch_model.bin")
    ```
    """
    try:
        import torch
    except ImportError:
        raise ConversionError(
            f"{path} is a PyTorch pickle, which keras_mobilebert never "
            "unpickles. Get the safetensors weights instead: download the "
            "repository's model.safetensors (on the Hub, the 'refs/pr/N' "
            "revision of the safetensors conversion bot often has one), or "
            "convert once where torch is installed with `transformers."
            "AutoModel.from_pretrained(src).save_pretrained(dst)`, or "
            "install torch so the file can be read with "
            "torch.load(weights_only=True)."
        ) from None
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many kinds here.
        raise ConversionError(
            f"{path} could not be read with torch.load(weights_only=True) "
            f"(truncated, corrupt, or not a plain state dict): {e}"
        ) from e
    if not isinstance(state, dict):
        raise ConversionError(f"{path} does not hold a state dict.")
    return {k: v.detach().float().numpy() for k, v in state.items()}


def read_weights(path):
    """Read a weights file of any supported kind, by its name.

    Example:
    ```python
    tensors = read_weights("snapshot/model.safetensors")
    ```
    """
    path = pathlib.Path(path)
    if path.name.endswith(".safetensors.index.json"):
        return _read_sharded_safetensors(path)
    if path.suffix == ".safetensors":
        return read_safetensors(path)
    if path.suffix == ".h5":
        return read_tf_h5(path)
    if path.suffix in (".bin", ".pt", ".pth"):
        return read_pytorch_bin(path)
    raise ConversionError(f"Unknown weights file type: {path}.")


# === Snapshots ===


def is_hf_snapshot(path):
    """Whether `path` is a local directory holding an HF MobileBERT model.

    KerasHub presets also have a `config.json`; theirs names a Keras class,
    an HF one has `model_type`.
    """
    config = pathlib.Path(path) / "config.json"
    if not config.is_file():
        return False
    try:
        data = json.loads(config.read_text())
    except ValueError:
        return False
    return isinstance(data, dict) and data.get("model_type") == "mobilebert"


def is_hf_mobilebert(preset):
    """Whether `preset` is an HF MobileBERT snapshot dir or `hf://` handle.

    A local directory is checked offline. For `hf://`, the repository's
    `config.json` is fetched (KerasHub-format presets on the Hub have a
    `config.json` naming a Keras class, not `"model_type": "mobilebert"`).
    """
    preset = str(preset)
    if preset.startswith("hf://"):
        try:
            import huggingface_hub
        except ImportError:
            return False
        repo = preset[len("hf://") :]
        revision = None
        if "@" in repo:
            repo, revision = repo.split("@", 1)
        try:
            path = huggingface_hub.hf_hub_download(
                repo, "config.json", revision=revision
            )
        except Exception as e:
            raise ConversionError(
                f"Could not fetch config.json of {preset}: {e}"
            ) from e
        return is_hf_snapshot(pathlib.Path(path).parent)
    return pathlib.Path(preset).is_dir() and is_hf_snapshot(preset)


def download_snapshot(handle, cache_dir=None):
    """Download the files of `hf://owner/name[@revision]` that we need.

    Only `config.json`, the tokenizer files and one weights file are
    fetched, preferring safetensors, then `tf_model.h5`, then
    `pytorch_model.bin`.

    Returns:
        The local snapshot directory.

    Example:
    ```python
    path = download_snapshot("hf://google/mobilebert-uncased")
    ```
    """
    try:
        import huggingface_hub
    except ImportError:
        raise ConversionError(
            f"Loading {handle} needs huggingface_hub: pip install "
            "huggingface_hub (or keras-mobilebert[convert]), or pass a local "
            "snapshot directory."
        ) from None
    repo = handle[len("hf://") :] if handle.startswith("hf://") else handle
    revision = None
    if "@" in repo:
        repo, revision = repo.split("@", 1)
    files = set(huggingface_hub.list_repo_files(repo, revision=revision))
    weights = [name for name in WEIGHT_FILES if name in files]
    if not weights:
        raise ConversionError(
            f"{handle} has none of the weight files {list(WEIGHT_FILES)}."
        )
    chosen = weights[0]
    patterns = [name for name in _SNAPSHOT_FILES if name in files] + [chosen]
    if chosen.endswith(".index.json"):
        patterns.append("model-*.safetensors")
    return huggingface_hub.snapshot_download(
        repo,
        revision=revision,
        allow_patterns=patterns,
        cache_dir=cache_dir,
    )


def resolve_snapshot(src):
    """A local snapshot directory for a path or an `hf://` handle."""
    src = str(src)
    if src.startswith("hf://"):
        return pathlib.Path(download_snapshot(src))
    path = pathlib.Path(src)
    if not path.is_dir():
        raise ConversionError(f"{src} is not a directory or an hf:// handle.")
    if not (path / "config.json").is_file():
        raise ConversionError(f"{src} has no config.json.")
    return path


def _find_weights(snapshot):
    for name in WEIGHT_FILES:
        if (snapshot / name).is_file():
            return snapshot / name
    raise ConversionError(
        f"{snapshot} has no weights file; looked for {list(WEIGHT_FILES)}."
    )


def _read_config(snapshot):
    path = snapshot / "config.json"
    try:
        config = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as e:
        raise ConversionError(f"{path} is not valid JSON: {e}") from e
    if not isinstance(config, dict):
        raise ConversionError(f"{path} does not hold a JSON object.")
    return config


def read_vocabulary(snapshot):
    """The vocabulary list and lowercasing of an HF snapshot.

    Reads `vocab.txt`, else the WordPiece vocabulary of `tokenizer.json`.
    Lowercasing comes from `tokenizer_config.json`'s `do_lower_case`, else
    the `tokenizer.json` normalizer, else True (HF's BertTokenizer default).

    Returns:
        `(vocabulary, lowercase)`; `vocabulary` is None when the snapshot
        has no vocabulary file.
    """
    snapshot = pathlib.Path(snapshot)
    vocabulary = None
    lowercase = None
    tokenizer_json = None
    if (snapshot / "tokenizer.json").is_file():
        try:
            tokenizer_json = json.loads(
                (snapshot / "tokenizer.json").read_text()
            )
        except ValueError as e:
            raise ConversionError(
                f"{snapshot / 'tokenizer.json'} is not valid JSON: {e}"
            ) from e
    if (snapshot / "vocab.txt").is_file():
        text = (snapshot / "vocab.txt").read_text(encoding="utf-8")
        vocabulary = text.splitlines()
        while vocabulary and vocabulary[-1] == "":
            vocabulary.pop()
    elif tokenizer_json is not None:
        vocab = (tokenizer_json.get("model") or {}).get("vocab")
        if not isinstance(vocab, dict):
            raise ConversionError(
                f"{snapshot / 'tokenizer.json'} has no WordPiece vocabulary."
            )
        vocabulary = [None] * len(vocab)
        for token, index in vocab.items():
            if not 0 <= index < len(vocab) or vocabulary[index] is not None:
                raise ConversionError(
                    f"{snapshot / 'tokenizer.json'}: vocabulary ids are not "
                    f"0..{len(vocab) - 1} (bad id {index} for {token!r})."
                )
            vocabulary[index] = token
    if (snapshot / "tokenizer_config.json").is_file():
        try:
            tokenizer_config = json.loads(
                (snapshot / "tokenizer_config.json").read_text()
            )
        except ValueError as e:
            raise ConversionError(
                f"{snapshot / 'tokenizer_config.json'} is not valid JSON: {e}"
            ) from e
        if "do_lower_case" in tokenizer_config:
            lowercase = bool(tokenizer_config["do_lower_case"])
    if lowercase is None and tokenizer_json is not None:
        normalizer = tokenizer_json.get("normalizer") or {}
        if "lowercase" in normalizer:
            lowercase = bool(normalizer["lowercase"])
    if lowercase is None:
        lowercase = True
    return vocabulary, lowercase


def _normalize_names(tensors, source):
    """Give base-model state dicts the `mobilebert.` prefix of task models."""
    if any(name.startswith("mobilebert.") for name in tensors):
        return tensors
    if not any(name.startswith("embeddings.") for name in tensors):
        raise ConversionError(
            f"{source} holds no MobileBERT weights (no 'mobilebert.*' or "
            "'embeddings.*' names)."
        )
    out = {}
    for name, value in tensors.items():
        if name.startswith(("embeddings.", "encoder.", "pooler.")):
            name = "mobilebert." + name
        out[name] = value
    return out


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
        vocabulary, lowercase: the tokenizer of the snapshot.
        hf_config: the parsed `config.json`.
        source: what was converted, for messages.
    """


def _known_unused(tensors, config, backbone_config):
    """HF tensors that carry no information for this configuration.

    Tied copies are checked for equality with what they are tied to; the
    rest are logged, never silently dropped.
    """
    ignored = {"mobilebert.embeddings.position_ids"}
    word = tensors.get("mobilebert.embeddings.word_embeddings.weight")
    for name, tied_to in (
        ("cls.predictions.decoder.weight", word),
        ("cls.predictions.decoder.bias", tensors.get("cls.predictions.bias")),
    ):
        if name in tensors:
            if tied_to is not None and (
                np.shape(tensors[name]) != np.shape(tied_to)
                or not np.allclose(tensors[name], tied_to, rtol=0, atol=0)
            ):
                raise ConversionError(
                    f"{name} differs from the tensor it is tied to in HF "
                    "MobileBERT; keras_mobilebert ties them and cannot hold "
                    "an untied copy."
                )
            ignored.add(name)
    unused = []
    if not backbone_config["use_pooler"]:
        unused += [n for n in tensors if n.startswith("mobilebert.pooler.")]
    if not (
        backbone_config["trigram_input"]
        or (backbone_config["embedding_dim"] != backbone_config["hidden_dim"])
    ):
        unused += [
            n
            for n in tensors
            if n.startswith("mobilebert.embeddings.embedding_transformation.")
        ]
    if backbone_config["use_bottleneck"] and (
        backbone_config["use_bottleneck_attention"]
        and backbone_config["key_query_shared_bottleneck"]
    ):
        # HF builds the shared query/key bottleneck but bottleneck attention
        # takes precedence, so it is never used.
        unused += [
            n for n in tensors if re.search(r"\.bottleneck\.attention\.", n)
        ]
    if unused:
        logger.info(
            "Skipping weights this configuration never uses: %s",
            ", ".join(sorted(unused)),
        )
    return ignored | set(unused)


# HF classes built with `add_pooling_layer=False`: their checkpoints have no
# pooler even when `classifier_activation` is on.
_NO_POOLER_ARCHITECTURES = {
    "MobileBertForMaskedLM",
    "MobileBertForQuestionAnswering",
    "MobileBertForTokenClassification",
}


def _optional_pooler(config):
    """Pooler weights that may be absent, as HF itself allows.

    A checkpoint saved from a class without a pooler, with
    `classifier_activation` on, gets a freshly initialized pooler in HF
    (`from_pretrained` warns); so it does here, with a warning. Any other
    checkpoint must have its pooler.
    """
    architectures = set(_architectures(config))
    if architectures and architectures <= _NO_POOLER_ARCHITECTURES:
        return {
            "mobilebert.pooler.dense.weight",
            "mobilebert.pooler.dense.bias",
        }
    return set()


def _num_labels(config):
    id2label = config.get("id2label")
    if isinstance(id2label, dict) and id2label:
        return len(id2label)
    return int(config.get("num_labels", 2))


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
        scheme: `"hf"` or `"gr"`, the naming of `tensors`.
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
    import keras

    from keras_mobilebert.models.mobilebert.mobilebert_backbone import (
        MobileBertBackbone,
    )
    from keras_mobilebert.models.mobilebert.mobilebert_masked_lm import (
        MobileBertPreTrainingModel,
    )
    from keras_mobilebert.models.mobilebert.mobilebert_masked_lm_head import (
        MobileBertMaskedLMHead,
    )

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
        mlm_head = MobileBertMaskedLMHead(
            vocabulary_size=backbone.vocabulary_size,
            token_embedding=backbone.token_embedding,
            activation=backbone.activation,
            layer_norm_epsilon=backbone.layer_norm_epsilon,
            name="mlm_head",
        )
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
    converted.hf_config = {}
    converted.source = source
    return converted


def convert_snapshot(src, dtype=None, progress=None):
    """Convert an HF MobileBERT snapshot, checking every weight.

    Args:
        src: a local snapshot directory or an `hf://owner/name` handle.
        dtype: optional dtype policy for the backbone.
        progress: optional callable taking a message string.

    Returns:
        A `ConvertedModel`.

    Example:
    ```python
    converted = convert_snapshot("hf://google/mobilebert-uncased")
    converted.backbone.summary()
    ```
    """
    say = progress or (lambda message: logger.info(message))
    snapshot = resolve_snapshot(src)
    config = _read_config(snapshot)
    backbone_config = backbone_config_from_hf(config)
    weights_path = _find_weights(snapshot)
    say(f"Reading {weights_path}")
    tensors = _normalize_names(read_weights(weights_path), weights_path)
    converted = assemble(
        backbone_config,
        tensors,
        "hf",
        str(weights_path),
        ignored=_known_unused(tensors, config, backbone_config),
        num_labels=_num_labels(config),
        dtype=dtype,
        progress=say,
        optional=_optional_pooler(config),
    )
    id2label = config.get("id2label")
    if isinstance(id2label, dict) and id2label:
        converted.id2label = {int(k): v for k, v in id2label.items()}
    converted.vocabulary, converted.lowercase = read_vocabulary(snapshot)
    converted.hf_config = config
    converted.source = str(src)
    return converted


# === Building the requested objects ===


def _tokenizer(converted):
    from keras_mobilebert.models.mobilebert.mobilebert_tokenizer import (
        MobileBertTokenizer,
    )

    if converted.vocabulary is None:
        raise ConversionError(
            f"{converted.source} has no vocab.txt or tokenizer.json; the "
            "tokenizer cannot be built (the backbone can: use "
            "MobileBertBackbone.from_preset)."
        )
    if len(converted.vocabulary) != converted.backbone.vocabulary_size:
        raise ConversionError(
            f"The vocabulary of {converted.source} has "
            f"{len(converted.vocabulary)} tokens but config.json says "
            f"vocab_size {converted.backbone.vocabulary_size}."
        )
    return MobileBertTokenizer(
        vocabulary=converted.vocabulary, lowercase=converted.lowercase
    )


def _sequence_length(backbone, default=128):
    """The preprocessors' default length, capped by the position table."""
    return min(default, backbone.max_sequence_length)


def build_masked_lm(converted, preprocessor=True, **kwargs):
    """A `MobileBertMaskedLM` from a `ConvertedModel`.

    Raises a `ConversionError` if the checkpoint has no MLM head.
    """
    from keras_mobilebert.models.mobilebert.mobilebert_masked_lm import (
        MobileBertMaskedLM,
    )
    from keras_mobilebert.models.mobilebert.mobilebert_masked_lm_preprocessor import (  # noqa: E501
        MobileBertMaskedLMPreprocessor,
    )

    if preprocessor is True:
        preprocessor = MobileBertMaskedLMPreprocessor(
            _tokenizer(converted),
            sequence_length=_sequence_length(converted.backbone),
        )
    model = MobileBertMaskedLM(
        converted.backbone, preprocessor=preprocessor or None, **kwargs
    )
    if converted.masked_lm_head_weights is None:
        raise ConversionError(
            f"{converted.source} has no masked-LM head (cls.predictions.*); "
            "convert a MobileBertForMaskedLM or MobileBertForPreTraining "
            "checkpoint, or load only the backbone."
        )
    model.masked_lm_head.set_weights(converted.masked_lm_head_weights)
    return model


def build_classifier(converted, num_classes=None, preprocessor=True, **kwargs):
    """A `MobileBertClassifier` from a `ConvertedModel`.

    With a sequence-classification checkpoint and `num_classes` None or equal
    to its label count, the head is HF's (and `pooled_normalization`
    defaults to None and `dropout` to HF's, so logits equal HF's); otherwise
    the head is new and randomly initialized. `model.id2label` holds the
    label names.
    """
    from keras_mobilebert.models.mobilebert.mobilebert_text_classifier import (
        MobileBertClassifier,
    )
    from keras_mobilebert.models.mobilebert.mobilebert_text_classifier_preprocessor import (  # noqa: E501
        MobileBertTextClassifierPreprocessor,
    )

    if preprocessor is True:
        preprocessor = MobileBertTextClassifierPreprocessor(
            _tokenizer(converted),
            sequence_length=_sequence_length(converted.backbone),
        )
    has_head = converted.classifier_weights is not None
    head_classes = None
    if has_head:
        head_classes = converted.classifier_weights[1].shape[0]
    if num_classes is None:
        if not has_head:
            raise ConversionError(
                f"{converted.source} has no classification head; pass "
                "num_classes to put a new one on the backbone."
            )
        num_classes = head_classes
    load_head = has_head and num_classes == head_classes
    if load_head:
        kwargs.setdefault("pooled_normalization", None)
        dropout = converted.hf_config.get("classifier_dropout")
        if dropout is None:
            dropout = converted.hf_config.get("hidden_dropout_prob", 0.0)
        kwargs.setdefault("dropout", dropout)
    elif has_head:
        logger.warning(
            "%s has a %d-class head; num_classes=%d builds a new, randomly "
            "initialized head instead.",
            converted.source,
            head_classes,
            num_classes,
        )
    model = MobileBertClassifier(
        converted.backbone,
        num_classes=num_classes,
        preprocessor=preprocessor or None,
        **kwargs,
    )
    if load_head:
        if model.pooled_norm is not None:
            raise ConversionError(
                "A converted HF classification head needs "
                "pooled_normalization=None: HF has no LayerNorm there."
            )
        model.output_dense.set_weights(converted.classifier_weights)
        model.id2label = converted.id2label
    return model


def build_question_answerer(converted):
    """A `MobileBertQuestionAnswerer` from a `ConvertedModel`."""
    from keras_mobilebert.models.mobilebert.mobilebert_question_answerer import (  # noqa: E501
        MobileBertQuestionAnswerer,
    )

    if converted.qa_weights is None:
        raise ConversionError(
            f"{converted.source} has no question-answering head (qa_outputs.*)."
        )
    model = MobileBertQuestionAnswerer(converted.backbone)
    model.span_head.set_weights(converted.qa_weights)
    return model


def build_pretraining_model(converted):
    """A `MobileBertPreTrainingModel` (MLM + NSP) from a `ConvertedModel`."""
    if converted.pretraining_model is None:
        raise ConversionError(
            f"{converted.source} does not have both pre-training heads "
            "(cls.predictions.* and cls.seq_relationship.*)."
        )
    return converted.pretraining_model


def from_preset(cls, src, load_weights=True, **kwargs):
    """`cls.from_preset` for an HF snapshot directory or `hf://` handle.

    Called by `MobileBertBackbone.from_preset` and the task classes; see
    those. `load_weights=False` builds the architecture of `config.json`
    with random weights.

    Example:
    ```python
    backbone = from_preset(MobileBertBackbone, "hf://google/mobilebert-uncased")
    ```
    """
    from keras_hub.models import Preprocessor

    from keras_mobilebert.models.mobilebert.mobilebert_backbone import (
        MobileBertBackbone,
    )
    from keras_mobilebert.models.mobilebert.mobilebert_masked_lm import (
        MobileBertMaskedLM,
    )
    from keras_mobilebert.models.mobilebert.mobilebert_text_classifier import (
        MobileBertClassifier,
    )
    from keras_mobilebert.models.mobilebert.mobilebert_tokenizer import (
        MobileBertTokenizer,
    )

    kwargs.pop("load_task_weights", None)
    if issubclass(cls, (MobileBertTokenizer, Preprocessor)):
        snapshot = resolve_snapshot(src)
        vocabulary, lowercase = read_vocabulary(snapshot)
        if vocabulary is None:
            raise ConversionError(f"{src} has no vocab.txt or tokenizer.json.")
        if issubclass(cls, MobileBertTokenizer):
            kwargs.setdefault("lowercase", lowercase)
            return cls(vocabulary=vocabulary, **kwargs)
        tokenizer = MobileBertTokenizer(
            vocabulary=vocabulary, lowercase=lowercase
        )
        kwargs.pop("config_file", None)
        config = backbone_config_from_hf(_read_config(snapshot))
        kwargs.setdefault(
            "sequence_length", min(128, config["max_sequence_length"])
        )
        return cls(tokenizer=tokenizer, **kwargs)
    if not load_weights:
        snapshot = resolve_snapshot(src)
        config = backbone_config_from_hf(_read_config(snapshot))
        if issubclass(cls, MobileBertBackbone):
            config.update(kwargs)
            return cls(**config)
        backbone = MobileBertBackbone(**config, dtype=kwargs.pop("dtype", None))
        kwargs.setdefault("backbone", backbone)
        return cls(**kwargs)
    converted = convert_snapshot(src, dtype=kwargs.pop("dtype", None))
    if issubclass(cls, MobileBertBackbone):
        if kwargs:
            raise ConversionError(
                "Backbone config overrides cannot be applied to converted "
                f"weights: {sorted(kwargs)}."
            )
        return converted.backbone
    if issubclass(cls, MobileBertMaskedLM):
        return build_masked_lm(converted, **kwargs)
    if issubclass(cls, MobileBertClassifier):
        return build_classifier(converted, **kwargs)
    raise ConversionError(
        f"{cls.__name__}.from_preset cannot load a Hugging Face snapshot."
    )


# === Writing presets and HF snapshots ===


def apply_preset_config(converted, config):
    """Rebuild `converted.backbone` with a preset's config, same weights.

    A built-in preset states every field (the QAT preset runs MobileBERT's
    weights with ReLU6 and the -6 mask); the weights must fit it exactly.
    """
    from keras_mobilebert.models.mobilebert.mobilebert_backbone import (
        MobileBertBackbone,
    )

    current = converted.backbone.get_config()
    if all(current.get(k) == v for k, v in config.items()):
        return converted
    backbone = MobileBertBackbone(**config)
    old = {w.path: w for w in converted.backbone.weights}
    new = {w.path: w for w in backbone.weights}
    if sorted(old) != sorted(new):
        raise ConversionError(
            "The preset's config has other weights than the checkpoint: "
            f"{sorted(set(old) ^ set(new))[:10]}"
        )
    for path, variable in new.items():
        if tuple(variable.shape) != tuple(old[path].shape):
            raise ConversionError(
                f"{path}: checkpoint shape {tuple(old[path].shape)}, preset "
                f"expects {tuple(variable.shape)}."
            )
        variable.assign(old[path])
    converted.backbone = backbone
    converted.pretraining_model = None
    return converted


def save_preset(converted, dst, progress=None):
    """Save a `ConvertedModel` as a KerasHub preset directory, atomically.

    The preset holds the backbone and, where the checkpoint has them, the
    task (masked LM, else classifier) with its preprocessor; so
    `MobileBertBackbone.from_preset(dst)` and the matching task's
    `from_preset(dst)` load it offline. A checkpoint's NSP and QA heads have
    no KerasHub task: their weights are saved next to it
    (`nsp_head.weights.npz`, `qa_head.weights.npz`) and the progress output
    says so. `labels.json` holds a classifier's `id2label`.

    Example:
    ```python
    save_preset(convert_snapshot("hf://google/mobilebert-uncased"), "preset")
    ```
    """
    from keras_mobilebert.utils.files import atomic_path

    say = progress or (lambda message: logger.info(message))
    with atomic_path(dst) as tmp:
        if "mlm" in converted.heads and converted.vocabulary is not None:
            task = build_masked_lm(converted)
            say("Saving the masked LM task, backbone and preprocessor")
            task.save_to_preset(str(tmp))
        elif "classifier" in converted.heads and converted.vocabulary:
            task = build_classifier(converted)
            say("Saving the classifier task, backbone and preprocessor")
            task.save_to_preset(str(tmp))
        else:
            say("Saving the backbone")
            converted.backbone.save_to_preset(str(tmp))
            if converted.vocabulary is not None:
                _tokenizer(converted).save_to_preset(str(tmp))
        if converted.nsp_weights is not None:
            np.savez(tmp / "nsp_head.weights.npz", *converted.nsp_weights)
            say("Saved the next-sentence head to nsp_head.weights.npz")
        if converted.qa_weights is not None:
            np.savez(tmp / "qa_head.weights.npz", *converted.qa_weights)
            say("Saved the question-answering head to qa_head.weights.npz")
        if converted.id2label:
            (tmp / "labels.json").write_text(
                json.dumps({str(k): v for k, v in converted.id2label.items()})
            )
    return pathlib.Path(dst)


def export_to_huggingface(
    model, dst, vocabulary=None, lowercase=None, strict=True
):
    """Save a Keras MobileBERT as an HF snapshot `transformers` can load.

    Writes `config.json`, `model.safetensors` and, when a vocabulary is
    known (the model's preprocessor, or `vocabulary`), `vocab.txt` and
    `tokenizer_config.json`, atomically. The HF class follows the model:
    backbone -> `MobileBertModel`, masked LM -> `MobileBertForMaskedLM`,
    pre-training model -> `MobileBertForPreTraining`, classifier ->
    `MobileBertForSequenceClassification`, question answerer ->
    `MobileBertForQuestionAnswering`.

    Args:
        model: a backbone or one of the task models above.
        dst: output directory.
        vocabulary: optional list of tokens or path to a vocabulary file.
        lowercase: optional bool; defaults to the tokenizer's setting.
        strict: bool. Raise where HF would compute different numbers (see
            `hf_config_from_backbone`).

    Example:
    ```python
    export_to_huggingface(backbone, "hf_snapshot", vocabulary="vocab.txt")
    transformers.MobileBertModel.from_pretrained("hf_snapshot")
    ```
    """
    from keras_mobilebert.models.mobilebert.mobilebert_backbone import (
        MobileBertBackbone,
    )
    from keras_mobilebert.models.mobilebert.mobilebert_masked_lm import (
        MobileBertMaskedLM,
    )
    from keras_mobilebert.models.mobilebert.mobilebert_masked_lm import (
        MobileBertPreTrainingModel,
    )
    from keras_mobilebert.models.mobilebert.mobilebert_question_answerer import (  # noqa: E501
        MobileBertQuestionAnswerer,
    )
    from keras_mobilebert.models.mobilebert.mobilebert_text_classifier import (
        MobileBertClassifier,
    )
    from keras_mobilebert.utils.files import atomic_path

    if isinstance(model, MobileBertBackbone):
        backbone = model
    else:
        backbone = model.backbone
    config = hf_config_from_backbone(backbone, strict=strict)
    entries = backbone_entries(backbone)
    if isinstance(model, MobileBertBackbone):
        architecture = "MobileBertModel"
    elif isinstance(model, MobileBertPreTrainingModel):
        architecture = "MobileBertForPreTraining"
        entries += masked_lm_head_entries(model.masked_lm_head)
        entries += next_sentence_head_entries(model.next_sentence_head)
    elif isinstance(model, MobileBertMaskedLM):
        architecture = "MobileBertForMaskedLM"
        entries += masked_lm_head_entries(model.masked_lm_head)
    elif isinstance(model, MobileBertClassifier):
        architecture = "MobileBertForSequenceClassification"
        if model.pooled_norm is not None:
            raise ConversionError(
                "This classifier normalizes the pooled output "
                "(pooled_normalization='layer_norm'), which HF's "
                "MobileBertForSequenceClassification cannot represent."
            )
        if (
            model.activation is not None
            and model.activation.__name__ != "linear"
        ):
            raise ConversionError(
                "HF's sequence classifier outputs logits; this classifier "
                f"applies the activation {model.activation.__name__!r}."
            )
        entries += classifier_head_entries(model.output_dense)
        labels = getattr(model, "id2label", None) or {
            i: f"LABEL_{i}" for i in range(model.num_classes)
        }
        config["id2label"] = {str(k): v for k, v in labels.items()}
        config["label2id"] = {v: int(k) for k, v in labels.items()}
        config["classifier_dropout"] = model.dropout
    elif isinstance(model, MobileBertQuestionAnswerer):
        architecture = "MobileBertForQuestionAnswering"
        entries += question_answering_head_entries(model.span_head)
    else:
        raise ConversionError(
            f"Cannot export a {type(model).__name__} to Hugging Face."
        )
    config["architectures"] = [architecture]
    tensors = {
        name: value.astype(np.float32)
        for name, value in export_tensors(entries, "hf").items()
    }
    if architecture == "MobileBertModel":
        tensors = {
            name[len("mobilebert.") :]: value for name, value in tensors.items()
        }
    preprocessor = getattr(model, "preprocessor", None)
    tokenizer = getattr(preprocessor, "tokenizer", None)
    if vocabulary is None and tokenizer is not None:
        vocabulary = tokenizer.get_vocabulary()
        if lowercase is None:
            lowercase = tokenizer.lowercase
    if isinstance(vocabulary, (str, os.PathLike)):
        vocabulary = (
            pathlib.Path(vocabulary).read_text(encoding="utf-8").splitlines()
        )
    if vocabulary is not None and len(vocabulary) != backbone.vocabulary_size:
        raise ConversionError(
            f"The vocabulary has {len(vocabulary)} tokens but the backbone's "
            f"vocabulary_size is {backbone.vocabulary_size}."
        )
    with atomic_path(dst) as tmp:
        tmp.mkdir()
        (tmp / "config.json").write_text(json.dumps(config, indent=2) + "\n")
        write_safetensors(
            tensors, tmp / "model.safetensors", metadata={"format": "pt"}
        )
        if vocabulary is not None:
            (tmp / "vocab.txt").write_text(
                "\n".join(vocabulary) + "\n", encoding="utf-8"
            )
            (tmp / "tokenizer_config.json").write_text(
                json.dumps(
                    {
                        "tokenizer_class": "MobileBertTokenizer",
                        "do_lower_case": bool(
                            True if lowercase is None else lowercase
                        ),
                        "model_max_length": backbone.max_sequence_length,
                    },
                    indent=2,
                )
                + "\n"
            )
    return pathlib.Path(dst)
