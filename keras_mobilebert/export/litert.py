"""Export MobileBERT models to LiteRT (`.tflite`), verified before delivery.

Every export goes the same way: a serving function with int32 inputs named
`ids`, `mask` and `segment_ids` (what the TFLite Task Library and MediaPipe
look for), fixed shape `[1, sequence_length]` unless a dynamic shape is asked
for; Keras's `ExportArchive` writes a SavedModel; the TFLite converter turns
it into a flatbuffer with the requested quantization; the op list is checked
for anything outside the builtin op set (Flex or custom ops are an error that
names them); the LiteRT interpreter (`ai_edge_litert`) runs the file on
sample inputs and its outputs are compared with the Keras model's. Only a
file that passes is moved to the output path (atomically), so a failed export
leaves nothing behind.
"""

import dataclasses
import functools
import json
import pathlib
import re
import tempfile

import keras
import numpy as np
import tensorflow as tf

from keras_mobilebert.utils.files import atomic_path

QUANTIZATIONS = ("float32", "float16", "dynamic", "int8", "qat_int8")
INPUT_NAMES = ("ids", "mask", "segment_ids")
# Keras input name of each TFLite input name.
KERAS_INPUTS = {
    "ids": "token_ids",
    "mask": "padding_mask",
    "segment_ids": "segment_ids",
}
FLOAT16_MAX = 65504.0
# Default acceptance thresholds, per quantization: the largest error of any
# output relative to the largest magnitude of the Keras output, and the
# smallest share of sample inputs whose predicted label (argmax) agrees.
TOLERANCES = {
    "float32": {"relative_error": 1e-4, "label_agreement": 1.0},
    "float16": {"relative_error": 1e-2, "label_agreement": 0.95},
    "dynamic": {"relative_error": 0.15, "label_agreement": 0.9},
    "int8": {"relative_error": 0.3, "label_agreement": 0.85},
    "qat_int8": {"relative_error": 0.3, "label_agreement": 0.85},
}
# Ops of the encoder's main path: in an int8 file they must compute in int8.
MAIN_PATH_OPS = (
    "FULLY_CONNECTED",
    "BATCH_MATMUL",
    "SOFTMAX",
    "ADD",
    "MUL",
    "CONCATENATION",
    "GATHER",
)


class LiteRTExportError(RuntimeError):
    """An export that cannot be delivered; nothing is left at the path."""


class UnsupportedOpsError(LiteRTExportError):
    """The model needs ops outside the LiteRT builtin op set.

    Attributes:
        ops: list of op names (`"FlexErf"`, a custom op's name...).
    """

    def __init__(self, ops, message):
        super().__init__(message)
        self.ops = list(ops)


class Float16RangeError(LiteRTExportError):
    """Activations or weights exceed the float16 range (65504).

    Attributes:
        tensors: list of `(tensor_name, max_abs_value)`, largest first.
    """

    def __init__(self, tensors, message):
        super().__init__(message)
        self.tensors = list(tensors)


class VerificationError(LiteRTExportError):
    """The LiteRT file disagrees with the Keras model beyond tolerance."""


@dataclasses.dataclass
class ExportResult:
    """What `to_litert` delivered and how it was verified.

    Attributes:
        path: `pathlib.Path` of the `.tflite` file.
        quantization: string, one of `QUANTIZATIONS`.
        size_bytes: int. File size.
        max_abs_error: float. Largest |LiteRT - Keras| over sample outputs.
        relative_error: float. `max_abs_error` over the largest |Keras|.
        label_agreement: float or None. Share of samples with the same
            argmax (classifiers and masked LMs only).
        num_samples: int. How many sample inputs were compared.
        input_shape: tuple. `(1, sequence_length)` or `(-1, -1)`.
        ops: sorted list of op names in the file.
        attention_mask_mode: string or None. The attention mask the file
            computes (`"fill"` for an int8 export of an `"additive"`
            model, see `with_attention_mask_mode`); None for backbones
            without the option.
    """

    path: pathlib.Path
    quantization: str
    size_bytes: int
    max_abs_error: float
    relative_error: float
    label_agreement: float | None
    num_samples: int
    input_shape: tuple
    ops: list
    attention_mask_mode: str | None = None

    def summary(self):
        """One line for logs."""
        agreement = (
            "n/a"
            if self.label_agreement is None
            else f"{self.label_agreement:.3f}"
        )
        return (
            f"{self.path}: {self.quantization}, "
            f"{self.size_bytes / 2**20:.2f} MiB, input {self.input_shape}, "
            f"max abs error {self.max_abs_error:.3g} (relative "
            f"{self.relative_error:.3g}), label agreement {agreement} on "
            f"{self.num_samples} samples"
        )


# --------------------------------------------------------------------------
# The model side: what to call, with which inputs, and its outputs.


def _model_kind(model):
    from keras_hub.models import Backbone
    from keras_hub.models import MaskedLM
    from keras_hub.models import TextClassifier

    if isinstance(model, TextClassifier):
        return "classifier"
    if isinstance(model, MaskedLM):
        return "masked_lm"
    if isinstance(model, Backbone):
        return "backbone"
    raise TypeError(
        "to_litert exports a KerasHub text classifier, masked LM or backbone "
        "taking token_ids, segment_ids and padding_mask; received "
        f"{type(model).__name__}."
    )


def _backbone_of(model):
    return getattr(model, "backbone", model)


def with_attention_mask_mode(model, mode):
    """A copy of a MobileBERT model with another attention mask mode.

    Same architecture and weights; only the masking of padded keys
    changes. Full-integer (int8) conversion needs `"fill"`: the
    `"additive"` mask adds the most negative float32 (-3.4e38) to masked
    logits, and the TFLite quantizer of TensorFlow 2.21 aborts the whole
    process (SIGABRT, no Python exception) on that range. `"fill"` sets
    masked logits to -6 (GR's int8 mask), so padded keys keep a weight of
    about e^-6 relative to a zero logit instead of exactly 0; on the main
    job's classifier the two agree on all 800 held-out labels (max logit
    difference 0.09 for logits up to 4.5).

    Args:
        model: a MobileBERT backbone, or a task (classifier, masked LM)
            built on one.
        mode: string. `"additive"` or `"fill"`.

    Returns:
        The model itself if it already uses `mode`, else a copy.

    Example:
    ```python
    int8_ready = with_attention_mask_mode(classifier, "fill")
    ```
    """
    backbone = _backbone_of(model)
    if backbone.attention_mask_mode == mode:
        return model
    config = backbone.get_config()
    config["attention_mask_mode"] = mode
    new_backbone = type(backbone).from_config(config)
    if model is backbone:
        new_backbone.set_weights(backbone.get_weights())
        return new_backbone
    task_config = model.get_config()
    task_config["backbone"] = new_backbone
    task_config["preprocessor"] = model.preprocessor
    copy = type(model).from_config(task_config)
    copy.set_weights(model.get_weights())
    return copy


# Modes that cannot take the "additive" mask's most negative float32: the
# int8 quantizer aborts on it, and in float16 it becomes -inf, so the
# `0 * -inf` of unmasked keys gives NaN. They convert a "fill" copy.
FILL_MASK_QUANTIZATIONS = ("float16", "int8", "qat_int8")


def _has_additive_mask(model):
    mode = getattr(_backbone_of(model), "attention_mask_mode", None)
    return mode == "additive"


def _default_sequence_length(model):
    preprocessor = getattr(model, "preprocessor", None)
    length = getattr(preprocessor, "sequence_length", None)
    if length:
        return int(length)
    limit = getattr(_backbone_of(model), "max_sequence_length", None)
    return min(128, int(limit)) if limit else 128


def _mask_positions_length(model):
    preprocessor = getattr(model, "preprocessor", None)
    length = getattr(preprocessor, "mask_selection_length", None)
    return int(length) if length else 20


def _input_specs(model, kind, sequence_length, dynamic_shape):
    shape = [None, None] if dynamic_shape else [1, sequence_length]
    specs = [tf.TensorSpec(shape, tf.int32, name=n) for n in INPUT_NAMES]
    if kind == "masked_lm":
        positions = [None, None]
        if not dynamic_shape:
            positions = [1, _mask_positions_length(model)]
        specs.append(tf.TensorSpec(positions, tf.int32, name="mask_positions"))
    return specs


def _keras_inputs(arrays):
    """TFLite-named arrays to the Keras model's input dict."""
    inputs = {KERAS_INPUTS.get(k, k): v for k, v in arrays.items()}
    return inputs


def _output_dict(kind, outputs):
    if kind == "classifier":
        return {"logits": outputs}
    if kind == "masked_lm":
        return {"logits": outputs}
    return {k: outputs[k] for k in ("sequence_output", "pooled_output")}


def _serving_fn(model, kind):
    def serve(*tensors):
        names = list(INPUT_NAMES)
        if kind == "masked_lm":
            names.append("mask_positions")
        inputs = _keras_inputs(dict(zip(names, tensors)))
        return _output_dict(kind, model(inputs, training=False))

    return serve


def _keras_outputs(model, kind, samples):
    """Run the Keras model on a list of TFLite-named input dicts."""
    batch = {
        k: np.concatenate([s[k] for s in samples], axis=0) for k in samples[0]
    }
    outputs = model(_keras_inputs(batch), training=False)
    outputs = _output_dict(kind, outputs)
    return {k: keras.ops.convert_to_numpy(v) for k, v in outputs.items()}


# --------------------------------------------------------------------------
# Sample inputs.


def random_inputs(
    vocabulary_size, sequence_length, count, seed=0, mask_positions=None
):
    """Random token sequences, padded, in the TFLite input layout.

    Each sample is a dict of int32 arrays `(1, sequence_length)` named
    `ids`, `mask`, `segment_ids` (plus `mask_positions` when asked for):
    `[CLS]`-like id 2 first, random ids up to a random length, zeros after.

    Args:
        vocabulary_size: int. Ids are drawn from `[5, vocabulary_size)`.
        sequence_length: int.
        count: int. Number of samples.
        seed: int.
        mask_positions: int or None. Width of a `mask_positions` input.

    Example:
    ```python
    samples = random_inputs(30522, 128, count=4)
    ```
    """
    rng = np.random.RandomState(seed)
    samples = []
    for _ in range(count):
        length = rng.randint(max(2, sequence_length // 2), sequence_length + 1)
        ids = np.zeros((1, sequence_length), "int32")
        ids[0, 0] = 2 if vocabulary_size > 2 else 0
        low = min(5, vocabulary_size - 1)
        ids[0, 1:length] = rng.randint(low, vocabulary_size, length - 1)
        mask = np.zeros((1, sequence_length), "int32")
        mask[0, :length] = 1
        sample = {
            "ids": ids,
            "mask": mask,
            "segment_ids": np.zeros((1, sequence_length), "int32"),
        }
        if mask_positions:
            sample["mask_positions"] = rng.randint(
                0, length, (1, mask_positions)
            ).astype("int32")
        samples.append(sample)
    return samples


def texts_to_inputs(model, texts, sequence_length=None):
    """Tokenize texts with the model's preprocessor into TFLite inputs.

    Args:
        model: a task with a `preprocessor` (e.g. `MobileBertClassifier`).
        texts: list of strings.
        sequence_length: int or None. Pad or truncate to this length; None
            keeps the preprocessor's.

    Returns:
        A list of dicts of int32 arrays `(1, sequence_length)`, one per text
        (with a masked LM's preprocessor also `mask_positions`, masked at
        random as in training).

    Example:
    ```python
    samples = texts_to_inputs(classifier, ["a fine film"])
    ```
    """
    preprocessor = getattr(model, "preprocessor", None)
    if preprocessor is None:
        raise ValueError(
            "Texts were given but the model has no preprocessor; pass "
            "tokenized inputs instead."
        )
    if sequence_length is not None:
        preprocessor = _with_sequence_length(preprocessor, sequence_length)
    samples = []
    for start in range(0, len(texts), 256):
        chunk = list(texts[start : start + 256])
        x = preprocessor(tf.constant(chunk))
        if isinstance(x, tuple):
            x = x[0]
        arrays = {
            "ids": np.asarray(x["token_ids"], "int32"),
            "mask": np.asarray(x["padding_mask"], "int32"),
            "segment_ids": np.asarray(x["segment_ids"], "int32"),
        }
        if "mask_positions" in x:  # A masked LM's preprocessor masks too.
            arrays["mask_positions"] = np.asarray(x["mask_positions"], "int32")
        for i in range(len(chunk)):
            samples.append({k: v[i : i + 1] for k, v in arrays.items()})
    return samples


def _with_sequence_length(preprocessor, sequence_length):
    if getattr(preprocessor, "sequence_length", None) == sequence_length:
        return preprocessor
    config = preprocessor.get_config()
    config["sequence_length"] = sequence_length
    config["tokenizer"] = preprocessor.tokenizer
    return type(preprocessor)(**config)


def _samples(model, kind, data, sequence_length, count, seed):
    """Turn texts, input dicts or None into TFLite-named samples."""
    if data is None:
        backbone = _backbone_of(model)
        return random_inputs(
            backbone.vocabulary_size,
            sequence_length,
            count,
            seed=seed,
            mask_positions=(
                _mask_positions_length(model) if kind == "masked_lm" else None
            ),
        )
    data = list(data)
    if not data:
        raise ValueError("Empty sample or representative data.")
    if isinstance(data[0], str):
        return texts_to_inputs(model, data[:count], sequence_length)
    return dict_samples(data, count)


def dict_samples(data, count):
    """Input dicts (TFLite or Keras names) to TFLite-named samples.

    Args:
        data: list of dicts of int arrays, each `(sequence,)` or
            `(1, sequence)`, keyed `ids`/`token_ids`, `mask`/`padding_mask`,
            `segment_ids` (and `mask_positions`).
        count: int. How many to take.

    Example:
    ```python
    dict_samples([{"token_ids": ids, "padding_mask": m, "segment_ids": s}], 1)
    ```
    """
    samples = []
    for item in list(data)[:count]:
        sample = {}
        for name in INPUT_NAMES + ("mask_positions",):
            keras_name = KERAS_INPUTS.get(name, name)
            value = item.get(name, item.get(keras_name))
            if value is not None:
                value = np.asarray(value, "int32")
                sample[name] = value if value.ndim == 2 else value[None]
        samples.append(sample)
    return samples


# --------------------------------------------------------------------------
# Conversion and inspection.


def _converter(model, kind, specs, work_dir):
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        "serve", _serving_fn(model, kind), input_signature=specs
    )
    saved_model = str(pathlib.Path(work_dir) / "saved_model")
    archive.write_out(saved_model, verbose=False)
    return tf.lite.TFLiteConverter.from_saved_model(saved_model)


def _representative(samples):
    def generator():
        for sample in samples:
            yield dict(sample)

    return generator


def convert(
    model,
    quantization="float32",
    sequence_length=None,
    dynamic_shape=False,
    representative_samples=None,
    allow_select_ops=False,
):
    """Convert a model to TFLite bytes (no checks; see `to_litert`).

    Args:
        model: a KerasHub classifier, masked LM or backbone.
        quantization: one of `QUANTIZATIONS`.
        sequence_length: int. Fixed input length (`[1, sequence_length]`).
        dynamic_shape: bool. Inputs `[None, None]` instead.
        representative_samples: list of TFLite-named input dicts; required
            by `"int8"` and `"qat_int8"`.
        allow_select_ops: bool. Let the converter emit Flex ops (for
            inspection; `to_litert` never delivers such a file).

    Returns:
        bytes.

    Example:
    ```python
    tflite_bytes = convert(classifier, "dynamic", sequence_length=128)
    ```
    """
    if quantization not in QUANTIZATIONS:
        raise ValueError(
            f"Unknown quantization {quantization!r}; expected one of "
            f"{QUANTIZATIONS}."
        )
    kind = _model_kind(model)
    if quantization in FILL_MASK_QUANTIZATIONS and _has_additive_mask(model):
        # Raised here: the int8 quantizer would abort the process instead,
        # and a float16 file would compute NaN.
        raise ValueError(
            f"{quantization} conversion of a model with the 'additive' "
            "attention mask fails (the int8 quantizer aborts; float16 "
            "turns the mask into -inf and NaN); convert "
            "with_attention_mask_mode(model, 'fill'), or use to_litert, "
            "which does so and verifies against the original."
        )
    sequence_length = sequence_length or _default_sequence_length(model)
    specs = _input_specs(model, kind, sequence_length, dynamic_shape)
    with tempfile.TemporaryDirectory() as work_dir:
        converter = _converter(model, kind, specs, work_dir)
        configure_converter(
            converter, quantization, representative_samples, allow_select_ops
        )
        return converter.convert()


def configure_converter(
    converter,
    quantization,
    representative_samples=None,
    allow_select_ops=False,
):
    """Set a `tf.lite.TFLiteConverter` up for one of `QUANTIZATIONS`.

    Builtin ops only (int8 builtins for `"int8"` and `"qat_int8"`) unless
    `allow_select_ops`. Shared by `convert` and the TF-MOT exporter.

    Args:
        converter: a `tf.lite.TFLiteConverter`.
        quantization: string. One of `QUANTIZATIONS`.
        representative_samples: list of TFLite-named input dicts; required
            by `"int8"` and `"qat_int8"`.
        allow_select_ops: bool. Let the converter emit Flex ops.

    Example:
    ```python
    configure_converter(converter, "qat_int8", samples)
    ```
    """
    ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if quantization in ("int8", "qat_int8"):
        if not representative_samples:
            raise ValueError(
                f"{quantization} export needs representative data."
            )
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = _representative(
            representative_samples
        )
        ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    elif quantization == "dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif quantization == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    if allow_select_ops:
        ops = ops + [tf.lite.OpsSet.SELECT_TF_OPS]
    converter.target_spec.supported_ops = ops


@functools.lru_cache(maxsize=1)
def _builtin_names():
    from ai_edge_litert import schema_py_generated as schema

    return {
        v: k
        for k, v in vars(schema.BuiltinOperator).items()
        if not k.startswith("_")
    }


def list_ops(tflite_bytes):
    """The ops of a TFLite flatbuffer, with their tensor dtypes.

    Reads the flatbuffer directly, so it works on files the interpreter
    cannot load (with Flex ops, for instance).

    Args:
        tflite_bytes: bytes of a `.tflite` file.

    Returns:
        A list of dicts `{"op", "inputs", "outputs"}`, one per operator of
        the main subgraph, in execution order; `inputs`/`outputs` are dtype
        names such as `"int8"` or `"float32"`.

    Example:
    ```python
    ops = list_ops(pathlib.Path("model.tflite").read_bytes())
    sorted({op["op"] for op in ops})
    ```
    """
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAs(tflite_bytes, 0)
    names = _builtin_names()
    type_names = {
        v: k.lower()
        for k, v in vars(schema.TensorType).items()
        if not k.startswith("_")
    }
    codes = []
    for i in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(i)
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        if builtin == schema.BuiltinOperator.CUSTOM:
            codes.append(code.CustomCode().decode("utf-8"))
        else:
            codes.append(names.get(builtin, str(builtin)))
    subgraph = model.Subgraphs(0)

    def dtypes(indices):
        return [
            type_names[subgraph.Tensors(int(t)).Type()]
            for t in indices
            if t >= 0
        ]

    ops = []
    for i in range(subgraph.OperatorsLength()):
        op = subgraph.Operators(i)
        ops.append(
            {
                "op": codes[op.OpcodeIndex()],
                "inputs": dtypes(op.InputsAsNumpy()),
                "outputs": dtypes(op.OutputsAsNumpy()),
            }
        )
    return ops


def check_builtin_ops(tflite_bytes, allowed_custom_ops=()):
    """Raise `UnsupportedOpsError` if the file needs non-builtin ops.

    Args:
        tflite_bytes: bytes of a `.tflite` file.
        allowed_custom_ops: names of custom ops that are expected (the
            tensorflow-text tokenizer ops of the string-input variant).

    Example:
    ```python
    check_builtin_ops(tflite_bytes)
    ```
    """
    builtin = set(_builtin_names().values())
    bad = set()
    for op in list_ops(tflite_bytes):
        name = op["op"]
        if name in allowed_custom_ops:
            continue
        if name not in builtin or name == "CUSTOM":
            bad.add(name)
    if bad:
        flex = sorted(n for n in bad if n.startswith("Flex"))
        other = sorted(n for n in bad if not n.startswith("Flex"))
        parts = []
        if flex:
            tf_ops = ", ".join(n[len("Flex") :] for n in flex)
            parts.append(
                f"TensorFlow ops with no LiteRT builtin kernel (would need "
                f"Flex / select TF ops): {', '.join(flex)} (TensorFlow ops "
                f"{tf_ops})"
            )
        if other:
            parts.append(f"custom ops: {', '.join(other)}")
        raise UnsupportedOpsError(
            sorted(bad),
            "The model cannot be exported with builtin LiteRT ops only; "
            + "; ".join(parts)
            + ". Replace the layer that produces them.",
        )


def _unsupported_ops_in_message(message):
    """Op names from the converter's "TF Select ops" / "Custom ops" lines."""
    names = []
    for prefix, kind in (("Flex", "TF Select ops"), ("", "Custom ops")):
        for match in re.finditer(kind + r": ([^\n]+)", message):
            for name in match.group(1).split(","):
                name = name.strip()
                if name and prefix + name not in names:
                    names.append(prefix + name)
    return names


def _interpreter(tflite_bytes, preserve_all_tensors=False, num_threads=1):
    from ai_edge_litert.interpreter import Interpreter

    return Interpreter(
        model_content=tflite_bytes,
        num_threads=num_threads,
        experimental_preserve_all_tensors=preserve_all_tensors,
    )


def run_tflite(tflite_bytes, samples, num_threads=1):
    """Run a TFLite model on samples with the LiteRT interpreter.

    Args:
        tflite_bytes: bytes of a `.tflite` file.
        samples: list of dicts of input arrays, keyed by signature name.
        num_threads: int.

    Returns:
        A dict of output name to the outputs of all samples, concatenated on
        the first axis.

    Example:
    ```python
    outputs = run_tflite(tflite_bytes, samples)["logits"]
    ```
    """
    interpreter = _interpreter(tflite_bytes, num_threads=num_threads)
    runner = interpreter.get_signature_runner()
    results = {}
    for sample in samples:
        outputs = runner(**sample)
        for name, value in outputs.items():
            results.setdefault(name, []).append(np.array(value))
    return {k: np.concatenate(v, axis=0) for k, v in results.items()}


def float16_range_violations(float32_bytes, samples, limit=FLOAT16_MAX):
    """Tensors of a float32 TFLite model whose values exceed float16.

    Runs the model with every intermediate tensor preserved and reads the
    largest magnitude of each float tensor (weights included).

    Args:
        float32_bytes: bytes of a float32 `.tflite` file.
        samples: list of input dicts.
        limit: float. The largest magnitude allowed (float16's 65504).

    Returns:
        A list of `(tensor_name, kind, max_abs)` above `limit`, largest
        first; `kind` is `"activation"` (computed by an op) or `"constant"`
        (a weight or a constant such as the additive attention mask).

    Example:
    ```python
    float16_range_violations(tflite_bytes, samples)  # [] when safe
    ```
    """
    interpreter = _interpreter(float32_bytes, preserve_all_tensors=True)
    runner = interpreter.get_signature_runner()
    computed = set()
    for op in interpreter._get_ops_details():
        computed.update(int(i) for i in op["outputs"])
    peaks = {}
    for sample in samples:
        runner(**sample)
        for detail in interpreter.get_tensor_details():
            if detail["dtype"] != np.float32:
                continue
            try:
                value = interpreter.get_tensor(detail["index"])
            except ValueError:
                continue
            if value.size == 0:
                continue
            peak = float(np.max(np.abs(value)))
            kind = "activation" if detail["index"] in computed else "constant"
            key = (detail["name"], kind)
            peaks[key] = max(peaks.get(key, 0.0), peak)
    bad = [(n, k, p) for (n, k), p in peaks.items() if not p <= limit]
    return sorted(bad, key=lambda item: -item[2])


def _float16_message(bad):
    shown = ", ".join(f"{n} ({k}, max |x| {p:.3g})" for n, k, p in bad[:5])
    more = ", ..." if len(bad) > 5 else ""
    message = (
        f"Refusing a float16 export: {len(bad)} tensors exceed float16's "
        f"range of 65504 on the sample inputs: {shown}{more}. In float16 "
        "(GPU delegates) they become inf and the outputs inf or NaN."
    )
    if any(k == "activation" for _, k, _ in bad):
        message += (
            " Activations this large come from weights such as the released "
            "MobileBERT's (values near 2.5e7, HF issue 11327): export "
            "float32, dynamic or int8 instead, or fine-tune with the QAT "
            "preset, which keeps activations small."
        )
    if any(k == "constant" and p >= 1e8 for _, k, p in bad):
        message += (
            " A huge negative constant is an additive attention mask: "
            "convert with_attention_mask_mode(model, 'fill') (-6) for "
            "float16."
        )
    return message


def _compare(kind, reference, outputs):
    max_abs = 0.0
    scale = 0.0
    for name, ref in reference.items():
        if name not in outputs:
            raise VerificationError(
                f"The LiteRT file has no output {name!r} (has "
                f"{sorted(outputs)})."
            )
        got = outputs[name].reshape(ref.shape)
        max_abs = max(max_abs, float(np.max(np.abs(got - ref))))
        scale = max(scale, float(np.max(np.abs(ref))))
    relative = max_abs / scale if scale > 0 else max_abs
    agreement = None
    if kind in ("classifier", "masked_lm"):
        ref = reference["logits"]
        got = outputs["logits"].reshape(ref.shape)
        agreement = float(np.mean(ref.argmax(-1) == got.argmax(-1)))
    return max_abs, relative, agreement


def _tolerance(quantization, tolerance):
    limits = dict(TOLERANCES[quantization])
    if tolerance:
        unknown = set(tolerance) - set(limits)
        if unknown:
            raise ValueError(
                f"Unknown tolerance keys {sorted(unknown)}; expected "
                f"{sorted(limits)}."
            )
        limits.update(tolerance)
    return limits


def _with_metadata(model, kind, tflite_bytes, labels):
    from keras_mobilebert.export.metadata import add_classifier_metadata

    _check_labels(model, kind, labels)
    labels = [str(label) for label in labels]
    vocabulary = model.preprocessor.tokenizer.get_vocabulary()
    return add_classifier_metadata(tflite_bytes, vocabulary, labels)


def _check_labels(model, kind, labels):
    if kind != "classifier":
        raise ValueError("labels (metadata) apply to classifiers only.")
    if len(labels) != model.num_classes:
        raise ValueError(
            f"{len(labels)} labels given for {model.num_classes} classes."
        )
    if getattr(model, "preprocessor", None) is None:
        raise ValueError(
            "Metadata needs the classifier's tokenizer vocabulary; the "
            "classifier has no preprocessor."
        )


def _has_fake_quant(model):
    from keras_mobilebert.quantization import is_quantize_aware

    return is_quantize_aware(model)


def to_litert(
    model,
    path,
    quantization="float32",
    sequence_length=None,
    dynamic_shape=False,
    representative_data=None,
    sample_data=None,
    num_samples=32,
    num_representative=200,
    tolerance=None,
    labels=None,
    log=print,
):
    """Export a MobileBERT model to a verified LiteRT (`.tflite`) file.

    The file has one signature whose int32 inputs are `ids`, `mask` and
    `segment_ids` (plus `mask_positions` for a masked LM), of fixed shape
    `[1, sequence_length]` by default. Only builtin LiteRT ops are allowed:
    a model that would need Flex (select TF) or custom ops fails with the
    ops named. Before the file is delivered, the LiteRT interpreter runs it
    on sample inputs and the result is compared with the Keras model; an
    error above the tolerance raises `VerificationError`. A failed export
    leaves nothing at `path`.

    Quantization modes:
    - `"float32"`: no quantization.
    - `"float16"`: float16 weights. First checks, on a float32 conversion
      run on the sample inputs, that no tensor exceeds float16's range
      (65504): float16 kernels (GPU delegates) would overflow. The released
      MobileBERT weights put values near 2.5e7 in the encoder (HF issue
      11327); such a model is refused with `Float16RangeError` naming the
      tensors. A model with the `"additive"` mask is converted as a
      `"fill"` copy, as for int8 (the mask would become -inf and NaN).
    - `"dynamic"`: int8 weights, float activations (no data needed).
    - `"int8"`: full-integer post-training quantization, activation ranges
      calibrated on `representative_data` (your texts).
      A model with the `"additive"` attention mask is converted as a
      `"fill"` copy (see `with_attention_mask_mode`; the additive mask
      aborts the quantizer) and verified against the original.
    - `"qat_int8"`: full-integer export of a model made with
      `keras_mobilebert.quantization.quantize_aware` (its learned ranges are
      used; `representative_data` fills the rest).

    Args:
        model: a `MobileBertClassifier`, `MobileBertMaskedLM`,
            `MobileBertBackbone` (or another KerasHub classifier, masked LM
            or backbone with the same inputs, such as `BertBackbone`).
        path: output `.tflite` path.
        quantization: string. One of `QUANTIZATIONS`.
        sequence_length: int or None. Fixed input length; None takes the
            preprocessor's, else 128 (or the backbone's maximum if lower).
        dynamic_shape: bool. Inputs of shape `[None, None]` instead.
        representative_data: list of strings (tokenized with the model's
            preprocessor) or of input dicts; None draws random token
            sequences (fine for timing, poor for accuracy).
        sample_data: like `representative_data`, for the verification.
            None reuses the representative data, else random sequences.
        num_samples: int. How many samples verify the file.
        num_representative: int. How many representative samples calibrate
            int8.
        tolerance: optional dict overriding `TOLERANCES[quantization]`
            (`relative_error`, `label_agreement`).
        labels: optional list of class names (classifiers only). Packs
            TFLite metadata into the file: input names, the WordPiece
            vocabulary of the classifier's tokenizer and the labels, as
            associated files; MediaPipe's `TextClassifier` and the Task
            Library's `BertNLClassifier` then take raw strings. Needs
            `pip install mediapipe` (for the metadata schema).
        log: callable taking one string, or None for silence.

    Returns:
        An `ExportResult`.

    Example:
    ```python
    import keras_mobilebert
    from keras_mobilebert.export import to_litert

    classifier = keras_mobilebert.MobileBertClassifier.from_preset(
        "my_classifier"
    )
    result = to_litert(
        classifier,
        "classifier_int8.tflite",
        quantization="int8",
        representative_data=["a fine film", "a dull film"],
    )
    print(result.summary())
    ```
    """
    log = log or (lambda message: None)
    if quantization not in QUANTIZATIONS:
        raise ValueError(
            f"Unknown quantization {quantization!r}; expected one of "
            f"{QUANTIZATIONS}."
        )
    kind = _model_kind(model)
    if quantization == "qat_int8" and not _has_fake_quant(model):
        raise ValueError(
            "quantization='qat_int8' needs a model made with "
            "keras_mobilebert.quantization.quantize_aware; use 'int8' for "
            "post-training quantization of a float model."
        )
    limits = _tolerance(quantization, tolerance)
    if labels is not None:
        _check_labels(model, kind, labels)  # Before the slow conversion.
    sequence_length = sequence_length or _default_sequence_length(model)
    sample_length = sequence_length
    samples = _samples(
        model,
        kind,
        sample_data if sample_data is not None else representative_data,
        sample_length,
        num_samples,
        seed=1,
    )
    representative = None
    if quantization in ("int8", "qat_int8"):
        if representative_data is None:
            log(
                "no representative data: calibrating int8 ranges on random "
                "token sequences (pass your own texts for accuracy)"
            )
        representative = _samples(
            model,
            kind,
            representative_data,
            sample_length,
            num_representative,
            seed=2,
        )
    export_model = model
    if quantization in FILL_MASK_QUANTIZATIONS and _has_additive_mask(model):
        export_model = with_attention_mask_mode(model, "fill")
        log(
            f"{quantization}: converting with the 'fill' attention mask "
            "(masked logits -6); the model's 'additive' mask (-3.4e38) "
            "cannot be represented in this mode. The file is verified "
            "against the original model."
        )
    convert_kwargs = {
        "sequence_length": sequence_length,
        "dynamic_shape": dynamic_shape,
        "representative_samples": representative,
    }
    if quantization == "float16":
        float32_bytes = convert(export_model, "float32", **convert_kwargs)
        check_builtin_ops(float32_bytes)
        bad = float16_range_violations(float32_bytes, samples)
        if bad:
            raise Float16RangeError(bad, _float16_message(bad))
    tflite_bytes = convert_builtin(
        lambda: convert(export_model, quantization, **convert_kwargs)
    )
    ops = list_ops(tflite_bytes)
    if labels is not None:
        tflite_bytes = _with_metadata(model, kind, tflite_bytes, labels)
    result = verify_and_write(
        tflite_bytes,
        reference=_keras_outputs(model, kind, samples),
        samples=samples,
        kind=kind,
        quantization=quantization,
        limits=limits,
        path=path,
        input_shape=(-1, -1) if dynamic_shape else (1, sequence_length),
        ops=ops,
        attention_mask_mode=getattr(
            _backbone_of(export_model), "attention_mask_mode", None
        ),
    )
    log(result.summary())
    return result


def convert_builtin(convert_fn):
    """Run a conversion; name the ops if it needs anything but builtins.

    Args:
        convert_fn: callable returning the TFLite bytes.

    Returns:
        The bytes, checked with `check_builtin_ops`.

    Raises:
        UnsupportedOpsError: the converter asked for Flex or custom ops, or
            the file holds any.

    Example:
    ```python
    tflite_bytes = convert_builtin(lambda: converter.convert())
    ```
    """
    try:
        tflite_bytes = convert_fn()
    except Exception as error:
        ops_needed = _unsupported_ops_in_message(str(error))
        if not ops_needed:
            raise
        raise UnsupportedOpsError(
            ops_needed,
            "The model cannot be exported with builtin LiteRT ops only; it "
            f"needs {', '.join(ops_needed)} (Flex ops are TensorFlow kernels "
            "LiteRT runs only with the select-TF-ops delegate; custom ops "
            "have no LiteRT kernel at all). Replace the layer that produces "
            "them.",
        ) from None
    check_builtin_ops(tflite_bytes)
    return tflite_bytes


def verify_and_write(
    tflite_bytes,
    reference,
    samples,
    kind,
    quantization,
    limits,
    path,
    input_shape,
    ops,
    attention_mask_mode=None,
):
    """Run the file in LiteRT, compare with `reference`, write if it passes.

    Args:
        tflite_bytes: bytes of the `.tflite` file.
        reference: dict of output name to the source model's outputs on
            `samples` (see `_keras_outputs`).
        samples: list of TFLite-named input dicts.
        kind: `"classifier"`, `"masked_lm"` or `"backbone"`.
        quantization: string, for the report.
        limits: dict with `relative_error` and `label_agreement`.
        path: output path; written atomically, and only on success.
        input_shape: tuple for the report.
        ops: op list (see `list_ops`) for the report.
        attention_mask_mode: string or None, for the report: the mask of
            the model the file was converted from.

    Returns:
        An `ExportResult`.

    Raises:
        VerificationError: the file disagrees beyond `limits`.

    Example:
    ```python
    result = verify_and_write(tflite_bytes, reference, samples, ...)
    ```
    """
    outputs = run_tflite(tflite_bytes, samples)
    max_abs, relative, agreement = _compare(kind, reference, outputs)
    failures = []
    if not relative <= limits["relative_error"]:
        failures.append(
            f"relative error {relative:.3g} > {limits['relative_error']}"
        )
    if agreement is not None and agreement < limits["label_agreement"]:
        failures.append(
            f"label agreement {agreement:.3f} < {limits['label_agreement']}"
        )
    if failures:
        raise VerificationError(
            f"The {quantization} LiteRT export does not match the source "
            f"model on {len(samples)} samples: {'; '.join(failures)} (max "
            f"abs error {max_abs:.3g}). Nothing was written to {path}."
        )
    path = pathlib.Path(path)
    with atomic_path(path) as tmp:
        tmp.write_bytes(tflite_bytes)
    return ExportResult(
        path=path,
        quantization=quantization,
        size_bytes=path.stat().st_size,
        max_abs_error=max_abs,
        relative_error=relative,
        label_agreement=agreement,
        num_samples=len(samples),
        input_shape=input_shape,
        ops=sorted({op["op"] for op in ops}),
        attention_mask_mode=attention_mask_mode,
    )


def float_ops_on_main_path(tflite_bytes):
    """Main-path ops of an int8 file that still compute in float.

    Args:
        tflite_bytes: bytes of a `.tflite` file.

    Returns:
        A list of op dicts (see `list_ops`) among `MAIN_PATH_OPS` with a
        float input or output; empty for a fully integer encoder.

    Example:
    ```python
    assert not float_ops_on_main_path(tflite_bytes)
    ```
    """
    return [
        op
        for op in list_ops(tflite_bytes)
        if op["op"] in MAIN_PATH_OPS
        and any(t.startswith("float") for t in op["inputs"] + op["outputs"])
    ]


def tflite_accuracy(tflite_bytes, samples, labels, num_threads=1):
    """Accuracy of a classifier `.tflite` on tokenized samples.

    Args:
        tflite_bytes: bytes of a classifier `.tflite` file.
        samples: list of input dicts (see `texts_to_inputs`).
        labels: int array of true labels.
        num_threads: int.

    Example:
    ```python
    tflite_accuracy(tflite_bytes, texts_to_inputs(clf, texts), labels)
    ```
    """
    logits = run_tflite(tflite_bytes, samples, num_threads=num_threads)
    predictions = logits["logits"].argmax(-1)
    return float(np.mean(predictions == np.asarray(labels)))


def export_and_verify(
    classifier,
    path,
    quantization,
    representative_texts,
    test_texts,
    test_labels,
    sequence_length=None,
    num_representative=200,
    labels=None,
    log=print,
):
    """Export a classifier, verify it, and measure it on held-out texts.

    The last step of the fine-tuning job: write the `.tflite` file with
    `to_litert` (verified against the Keras model on the first 64
    `test_texts`; outside tolerance nothing is written), then run the file
    and the Keras model on all held-out texts and compare them.

    Args:
        classifier: a `MobileBertClassifier` with a preprocessor.
        path: output `.tflite` path.
        quantization: string. One of `QUANTIZATIONS`.
        representative_texts: list of strings (training texts) calibrating
            int8 ranges.
        test_texts: list of strings (held-out).
        test_labels: int array-like.
        sequence_length: int or None. None takes the preprocessor's.
        num_representative: int. How many representative texts calibrate
            int8.
        labels: optional list of class names: packs TFLite metadata (see
            `to_litert`).
        log: callable taking one string.

    Returns:
        A dict: `path`, `quantization`, `size_bytes`, `attention_mask_mode`,
        `max_abs_error` and `label_agreement` (the 64 verification
        samples), `keras_accuracy` and `tflite_accuracy` (held-out),
        `heldout_label_agreement` (share of held-out texts where the file
        and the Keras model predict the same label),
        `heldout_max_abs_error` (largest logit difference), `test_size`.

    Example:
    ```python
    results = export_and_verify(
        classifier, "model_int8.tflite", "int8", train_x, test_x, test_y
    )
    ```
    """
    result = to_litert(
        classifier,
        path,
        quantization=quantization,
        sequence_length=sequence_length,
        representative_data=list(representative_texts),
        sample_data=list(test_texts),
        num_samples=64,
        num_representative=num_representative,
        labels=labels,
        log=log,
    )
    length = result.input_shape[1]
    samples = texts_to_inputs(classifier, list(test_texts), length)
    truth = np.asarray(test_labels)
    tflite_bytes = pathlib.Path(path).read_bytes()
    file_logits = run_tflite(tflite_bytes, samples)["logits"]
    keras_logits = _keras_outputs(classifier, "classifier", samples)["logits"]
    file_logits = file_logits.reshape(keras_logits.shape)
    report = {
        "path": str(result.path),
        "quantization": quantization,
        "size_bytes": result.size_bytes,
        "attention_mask_mode": result.attention_mask_mode,
        "max_abs_error": result.max_abs_error,
        "label_agreement": result.label_agreement,
        "keras_accuracy": float(np.mean(keras_logits.argmax(-1) == truth)),
        "tflite_accuracy": float(np.mean(file_logits.argmax(-1) == truth)),
        "heldout_label_agreement": float(
            np.mean(file_logits.argmax(-1) == keras_logits.argmax(-1))
        ),
        "heldout_max_abs_error": float(
            np.max(np.abs(file_logits - keras_logits))
        ),
        "test_size": len(truth),
    }
    log(
        f"{quantization}: held-out accuracy Keras "
        f"{report['keras_accuracy']:.4f}, LiteRT "
        f"{report['tflite_accuracy']:.4f} on {len(truth)} texts; same "
        f"label {report['heldout_label_agreement']:.4f}, max |logit "
        f"diff| {report['heldout_max_abs_error']:.3g}; "
        f"{result.size_bytes / 2**20:.2f} MiB"
    )
    return report


def write_json(report, path):
    """Write a report dict as JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(report, indent=2, default=str))
