"""What a LiteRT file holds: its ops, their tensor types, what is not
builtin.

Reads the flatbuffer directly (`ai_edge_litert`'s schema), so it works on
files the interpreter cannot load (with Flex ops, for instance).
"""

import functools

from keras_mobilebert.export.errors import UnsupportedOpsError

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


@functools.lru_cache(maxsize=1)
def _builtin_names():
    from ai_edge_litert import schema_py_generated as schema

    return {
        v: k
        for k, v in vars(schema.BuiltinOperator).items()
        if not k.startswith("_")
    }


def _operator_names(model):
    """The op name of each operator code of a parsed flatbuffer model."""
    from ai_edge_litert import schema_py_generated as schema

    names = _builtin_names()
    codes = []
    for i in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(i)
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        if builtin == schema.BuiltinOperator.CUSTOM:
            codes.append(code.CustomCode().decode("utf-8"))
        else:
            codes.append(names.get(builtin, str(builtin)))
    return codes


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
    type_names = {
        v: k.lower()
        for k, v in vars(schema.TensorType).items()
        if not k.startswith("_")
    }
    codes = _operator_names(model)
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


def batch_matmul_rhs_zero_points(tflite_bytes):
    """The zero point of every BATCH_MATMUL's right-hand input.

    LiteRT's XNNPACK delegate runs an int8 BATCH_MATMUL only when this zero
    point is 0 ("non-zero zero point of input 1 is not supported"); any
    other falls back to LiteRT's builtin kernel (docs/performance.md).

    Args:
        tflite_bytes: bytes of a `.tflite` file.

    Returns:
        A list with one entry per BATCH_MATMUL, in execution order: the
        int zero point of its right-hand input, or None for a float input.

    Example:
    ```python
    assert set(batch_matmul_rhs_zero_points(tflite_bytes)) == {0}
    ```
    """
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAs(tflite_bytes, 0)
    codes = _operator_names(model)
    subgraph = model.Subgraphs(0)
    zero_points = []
    for i in range(subgraph.OperatorsLength()):
        op = subgraph.Operators(i)
        if codes[op.OpcodeIndex()] != "BATCH_MATMUL":
            continue
        tensor = subgraph.Tensors(int(op.InputsAsNumpy()[1]))
        quantization = tensor.Quantization()
        if quantization is None or quantization.ZeroPointLength() == 0:
            zero_points.append(None)
        else:
            zero_points.append(int(quantization.ZeroPoint(0)))
    return zero_points
