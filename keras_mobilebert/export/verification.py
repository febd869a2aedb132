"""Verification of a LiteRT file before it is delivered.

The LiteRT interpreter (`ai_edge_litert`, not TensorFlow's deprecated
`tf.lite.Interpreter`, whose int8 errors were several times larger) runs
the file on sample inputs; its outputs are compared with the Keras
model's, and only a file within the mode's tolerance is written,
atomically. float16 files are first checked for tensors beyond float16's
range.
"""

import dataclasses
import pathlib

import numpy as np

from keras_mobilebert.export.errors import VerificationError
from keras_mobilebert.export.signatures import LOGITS
from keras_mobilebert.export.signatures import PROBABILITIES
from keras_mobilebert.utils.files import atomic_path

FLOAT16_MAX = 65504.0


@dataclasses.dataclass
class ExportResult:
    """What `to_litert` delivered and how it was verified.

    Attributes:
        path: `pathlib.Path` of the `.tflite` file.
        quantization: string, one of `QUANTIZATIONS`.
        size_bytes: int. File size.
        max_abs_error: float. Largest |LiteRT - Keras| over sample outputs
            (a classifier file's probabilities against the softmax of the
            Keras logits).
        relative_error: float. `max_abs_error` over the largest |Keras|.
        label_agreement: float or None. Share of samples with the same
            argmax (classifiers and masked LMs), or with the same argmax of
            both the start and the end logits (question answerers).
        num_samples: int. How many sample inputs were compared.
        input_shape: tuple. `(1, sequence_length)` or `(-1, -1)`.
        ops: sorted list of op names in the file.
        attention_mask_mode: string or None. The attention mask the file
            computes (`"fill"` for an int8 export of an `"additive"`
            model, see `with_attention_mask_mode`); None for backbones
            without the option.
        rewrites: tuple of strings. The speed-ups the file was converted
            with (`"fold_norms"`, `"symmetric_key_value"`; see
            `keras_mobilebert.export.rewrites`).
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
    rewrites: tuple = ()

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
    outputs = run_tflite(tflite_bytes, samples)["probabilities"]
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


def float16_message(bad):
    """The message of a `Float16RangeError` for `float16_range_violations`.

    Names the first five tensors, and says what to do for activations
    (another mode, or the QAT preset) and for a huge constant (the
    additive attention mask).

    Example:
    ```python
    float16_message([("x", "activation", 2.5e7)])
    ```
    """
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


def compare_outputs(kind, reference, outputs):
    """`(max_abs, relative, agreement)` of a file's outputs vs the model's.

    The errors are on the file's own quantity: a classifier file's
    probabilities against `softmax` of the Keras logits (the reference
    `keras_outputs` gives), so the tolerances apply to probabilities;
    the argmax is the same either way.

    Args:
        kind: string. See `model_kind`; classifiers (of two classes or
            more) and masked LMs also get the argmax agreement, question
            answerers that of the start and end positions.
        reference: dict of output name to the Keras outputs.
        outputs: dict of output name to the LiteRT outputs.

    Raises:
        VerificationError: the file lacks an output.

    Example:
    ```python
    compare_outputs(
        "classifier", {"probabilities": ref}, {"probabilities": got}
    )
    ```
    """
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
        # A classifier's probabilities or logits; a masked LM's logits.
        name = PROBABILITIES if PROBABILITIES in reference else LOGITS
        ref = reference[name]
        # A one-output classifier is a regression head (STS-B): its argmax
        # is always 0, so only the error says whether the file matches.
        if ref.shape[-1] > 1:
            got = outputs[name].reshape(ref.shape)
            agreement = float(np.mean(ref.argmax(-1) == got.argmax(-1)))
    if kind == "question_answerer":
        same = [
            reference[name].argmax(-1)
            == outputs[name].reshape(reference[name].shape).argmax(-1)
            for name in ("start_logits", "end_logits")
        ]
        agreement = float(np.mean(same[0] & same[1]))
    return max_abs, relative, agreement


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
            `samples` (see `keras_outputs`).
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
    max_abs, relative, agreement = compare_outputs(kind, reference, outputs)
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
