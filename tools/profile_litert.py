"""Where a LiteRT file spends its time: per-op profile and structure.

    python tools/profile_litert.py runs/bench/mobilebert_int8.tflite \
        --threads 2 --runs 20 --layers 24 --json runs/bench/profile.json

For each file it prints:

- the op profile: time per node type, split into nodes the XNNPACK delegate
  runs (`Delegate/...`, XNNPACK's own operator names, which also say the
  datatypes: `F32`, `QD8`/`QDU8` for dynamically quantized inputs, `QS8`
  for int8, `QC8W` for per-channel int8 weights) and builtin LiteRT kernels
  left outside the delegate; the slowest single nodes; fully-connected time
  by weight shape;
- the structure, read from the flatbuffer: op counts (per transformer block
  with `--layers`), the ops outside the delegate and their count, quantize
  and dequantize ops, how each int8 weight is quantized (per channel or per
  tensor), int16 activations, the zero points of each BATCH_MATMUL's
  right-hand input (XNNPACK takes an int8 BATCH_MATMUL only when that zero
  point is 0), and whether any input has a dynamic shape.

The profile comes from LiteRT's own op profiler, which `ai_edge_litert`
ships in `libLiteRt.so` but does not expose in Python: this script drives
its C API (`LiteRtCreateCompiledModel` with the runtime option
`enable_profiling = true`, then `LiteRtGetProfileSummary`) through ctypes.
`litert-benchmark` (in the same package) only reports whole-model latency.
Nothing here imports TensorFlow.
"""

import argparse
import collections
import ctypes
import json
import os
import pathlib
import re
import sys
import time

import numpy as np

_P = ctypes.c_void_p
_DESTRUCTOR = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
_HOST_MEMORY = 1  # kLiteRtTensorBufferTypeHostMemory
_LOCK_WRITE = 1  # kLiteRtTensorBufferLockModeWrite
_CPU = 1  # kLiteRtHwAcceleratorCpu


class _LiteRt:
    """The few LiteRT C functions the profiler needs, typed for ctypes."""

    _SIGNATURES = {
        "LiteRtCreateEnvironment": (ctypes.c_int, _P, ctypes.POINTER(_P)),
        "LiteRtCreateModelFromFile": (_P, ctypes.c_char_p, ctypes.POINTER(_P)),
        "LiteRtCreateOptions": (ctypes.POINTER(_P),),
        "LiteRtSetOptionsHardwareAccelerators": (_P, ctypes.c_int),
        "LiteRtCreateOpaqueOptions": (
            ctypes.c_char_p,
            _P,
            _DESTRUCTOR,
            ctypes.POINTER(_P),
        ),
        "LiteRtAddOpaqueOptions": (_P, _P),
        "LiteRtCreateCompiledModel": (_P, _P, _P, ctypes.POINTER(_P)),
        "LiteRtGetModelSignature": (_P, ctypes.c_size_t, ctypes.POINTER(_P)),
        "LiteRtGetNumSignatureInputs": (
            _P,
            ctypes.POINTER(ctypes.c_size_t),
        ),
        "LiteRtGetNumSignatureOutputs": (
            _P,
            ctypes.POINTER(ctypes.c_size_t),
        ),
        "LiteRtGetSignatureInputName": (
            _P,
            ctypes.c_size_t,
            ctypes.POINTER(ctypes.c_char_p),
        ),
        "LiteRtGetSignatureInputTensorByIndex": (
            _P,
            ctypes.c_size_t,
            ctypes.POINTER(_P),
        ),
        "LiteRtGetSignatureOutputTensorByIndex": (
            _P,
            ctypes.c_size_t,
            ctypes.POINTER(_P),
        ),
        "LiteRtGetRankedTensorType": (_P, _P),
        "LiteRtGetCompiledModelInputBufferRequirements": (
            _P,
            ctypes.c_size_t,
            ctypes.c_size_t,
            ctypes.POINTER(_P),
        ),
        "LiteRtGetCompiledModelOutputBufferRequirements": (
            _P,
            ctypes.c_size_t,
            ctypes.c_size_t,
            ctypes.POINTER(_P),
        ),
        "LiteRtGetTensorBufferRequirementsBufferSize": (
            _P,
            ctypes.POINTER(ctypes.c_size_t),
        ),
        "LiteRtCreateManagedTensorBuffer": (
            _P,
            ctypes.c_int,
            _P,
            ctypes.c_size_t,
            ctypes.POINTER(_P),
        ),
        "LiteRtLockTensorBuffer": (_P, ctypes.POINTER(_P), ctypes.c_int),
        "LiteRtUnlockTensorBuffer": (_P,),
        "LiteRtRunCompiledModel": (
            _P,
            ctypes.c_size_t,
            ctypes.c_size_t,
            ctypes.POINTER(_P),
            ctypes.c_size_t,
            ctypes.POINTER(_P),
        ),
        "LiteRtCompiledModelGetProfiler": (_P, ctypes.POINTER(_P)),
        "LiteRtStartProfiler": (_P,),
        "LiteRtStopProfiler": (_P,),
        "LiteRtResetProfiler": (_P,),
        "LiteRtGetProfileSummary": (_P, _P, ctypes.POINTER(ctypes.c_void_p)),
    }

    def __init__(self):
        import ai_edge_litert

        folder = os.path.dirname(ai_edge_litert.__file__)
        self.lib = ctypes.CDLL(os.path.join(folder, "libLiteRt.so"))
        self.libc = ctypes.CDLL(None)
        self.libc.free.argtypes = [ctypes.c_void_p]
        self.keep = []  # Buffers and callbacks LiteRT points into.

    def __getattr__(self, name):
        function = getattr(self.lib, name)
        function.restype = ctypes.c_int
        function.argtypes = list(self._SIGNATURES[name])

        def call(*args):
            status = function(*args)
            if status != 0:
                raise RuntimeError(f"{name} failed: LiteRtStatus {status}")

        return call

    def opaque_options(self, identifier, toml):
        """Opaque options whose payload is a TOML string LiteRT parses."""
        payload = ctypes.create_string_buffer(toml.encode())
        destructor = _DESTRUCTOR(lambda pointer: None)  # Python owns it.
        self.keep += [payload, destructor]
        options = _P()
        self.LiteRtCreateOpaqueOptions(
            identifier.encode(),
            ctypes.cast(payload, _P),
            destructor,
            ctypes.byref(options),
        )
        return options


def _input_values(name, count, vocabulary_size, rng):
    if name == "ids":
        return rng.randint(5, vocabulary_size, count)
    if name == "mask":
        return np.ones(count)
    return np.zeros(count)


def profile_file(path, num_threads=2, runs=20, warmup=3, vocabulary_size=30522):
    """Run a `.tflite` file with LiteRT's op profiler on.

    Inputs named `ids` get random token ids, `mask` ones, anything else
    zeros (int32 inputs only).

    Args:
        path: the `.tflite` file.
        num_threads: int. XNNPACK threads.
        runs: int. Profiled runs.
        warmup: int. Unprofiled runs first.
        vocabulary_size: int. Upper bound of the random ids.

    Returns:
        `(summary, seconds)`: LiteRT's profile summary text and the wall
        time of each profiled run.

    Example:
    ```python
    summary, seconds = profile_file("model.tflite", num_threads=2)
    ```
    """
    api = _LiteRt()
    env, model, options, compiled = _P(), _P(), _P(), _P()
    api.LiteRtCreateEnvironment(0, None, ctypes.byref(env))
    api.LiteRtCreateModelFromFile(env, str(path).encode(), ctypes.byref(model))
    api.LiteRtCreateOptions(ctypes.byref(options))
    api.LiteRtSetOptionsHardwareAccelerators(options, _CPU)
    api.LiteRtAddOpaqueOptions(
        options,
        api.opaque_options("runtime_options_string", "enable_profiling = true"),
    )
    api.LiteRtAddOpaqueOptions(
        options, api.opaque_options("xnnpack", f"num_threads = {num_threads}")
    )
    api.LiteRtCreateCompiledModel(env, model, options, ctypes.byref(compiled))
    signature = _P()
    api.LiteRtGetModelSignature(model, 0, ctypes.byref(signature))
    rng = np.random.RandomState(0)
    buffers = {"inputs": [], "outputs": []}
    for kind in ("inputs", "outputs"):
        count = ctypes.c_size_t()
        if kind == "inputs":
            api.LiteRtGetNumSignatureInputs(signature, ctypes.byref(count))
        else:
            api.LiteRtGetNumSignatureOutputs(signature, ctypes.byref(count))
        for i in range(count.value):
            tensor, requirements = _P(), _P()
            size = ctypes.c_size_t()
            # LiteRtRankedTensorType is small; LiteRT fills it, we pass it on.
            tensor_type = ctypes.create_string_buffer(1024)
            api.keep.append(tensor_type)
            if kind == "inputs":
                api.LiteRtGetSignatureInputTensorByIndex(
                    signature, i, ctypes.byref(tensor)
                )
                api.LiteRtGetCompiledModelInputBufferRequirements(
                    compiled, 0, i, ctypes.byref(requirements)
                )
            else:
                api.LiteRtGetSignatureOutputTensorByIndex(
                    signature, i, ctypes.byref(tensor)
                )
                api.LiteRtGetCompiledModelOutputBufferRequirements(
                    compiled, 0, i, ctypes.byref(requirements)
                )
            api.LiteRtGetRankedTensorType(tensor, tensor_type)
            api.LiteRtGetTensorBufferRequirementsBufferSize(
                requirements, ctypes.byref(size)
            )
            buffer = _P()
            api.LiteRtCreateManagedTensorBuffer(
                env, _HOST_MEMORY, tensor_type, size.value, ctypes.byref(buffer)
            )
            if kind == "inputs":
                name = ctypes.c_char_p()
                api.LiteRtGetSignatureInputName(
                    signature, i, ctypes.byref(name)
                )
                address = _P()
                api.LiteRtLockTensorBuffer(
                    buffer, ctypes.byref(address), _LOCK_WRITE
                )
                values = np.ctypeslib.as_array(
                    ctypes.cast(address, ctypes.POINTER(ctypes.c_int32)),
                    (size.value // 4,),
                )
                values[:] = _input_values(
                    name.value.decode(), values.size, vocabulary_size, rng
                )
                api.LiteRtUnlockTensorBuffer(buffer)
            buffers[kind].append(buffer)
    inputs = (_P * len(buffers["inputs"]))(*buffers["inputs"])
    outputs = (_P * len(buffers["outputs"]))(*buffers["outputs"])

    def run():
        api.LiteRtRunCompiledModel(
            compiled, 0, len(inputs), inputs, len(outputs), outputs
        )

    for _ in range(warmup):
        run()
    profiler = _P()
    api.LiteRtCompiledModelGetProfiler(compiled, ctypes.byref(profiler))
    api.LiteRtResetProfiler(profiler)
    api.LiteRtStartProfiler(profiler)
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - start)
    api.LiteRtStopProfiler(profiler)
    text = ctypes.c_void_p()
    api.LiteRtGetProfileSummary(profiler, compiled, ctypes.byref(text))
    summary = ctypes.string_at(text).decode()
    api.libc.free(text)
    return summary, seconds


_ROW = re.compile(
    r"^\s*(?P<type>\S.*?)\s+(?P<start>[\d.]+)\s+(?P<first>[\d.]+)\s+"
    r"(?P<avg>[\d.]+)\s+(?P<pct>[\d.]+)%\s+(?P<cdf>[\d.]+)%\s+"
    r"(?P<mem>[\d.]+)\s+(?P<calls>\d+)\s+\[(?P<kind>\w+)\]:(?P<index>\d+)"
)


def parse_run_order(summary):
    """The per-node rows of the summary's "Run Order" table.

    Returns:
        A list of dicts `{"type", "avg_ms", "delegated", "index"}` in run
        order; `delegated` is True for XNNPACK's nodes.

    Example:
    ```python
    nodes = parse_run_order(summary)
    ```
    """
    section = summary.split("Top by Computation Time")[0]
    nodes = []
    for line in section.splitlines():
        match = _ROW.match(line)
        if match:
            nodes.append(
                {
                    "type": match["type"],
                    "avg_ms": float(match["avg"]),
                    "delegated": match["kind"] == "Delegate",
                    "index": int(match["index"]),
                }
            )
    return nodes


def delegate_statistics(summary, runs):
    """Per XNNPACK operator type: calls and ms per run.

    Read from the summary's "Delegate Statistics" table, which counts every
    call; the run-order table merges the nodes of different delegate
    partitions that share an index.
    """
    section = summary.split("Delegate Statistics")[-1]
    rows = []
    for line in section.splitlines():
        match = re.match(
            r"^(Delegate/.*?)\s+(\d+)\s+([\d.]+)\s+\d+\s+\d+\s+(\d+)\s*$",
            line,
        )
        if match:
            rows.append(
                {
                    "type": match[1],
                    "count": int(match[2]) // runs,
                    "ms": int(match[4]) / 1000.0 / runs,
                }
            )
    return rows


def by_type(nodes, summary=None, runs=None):
    """ms per run and node count by node type, slowest first.

    Builtin nodes come from the run-order rows; with `summary` and `runs`,
    the delegate's operators come from `delegate_statistics`.
    """
    totals = collections.defaultdict(lambda: [0.0, 0])
    for node in nodes:
        if summary is not None and node["delegated"]:
            continue
        totals[node["type"]][0] += node["avg_ms"]
        totals[node["type"]][1] += 1
    rows = [{"type": t, "ms": ms, "count": n} for t, (ms, n) in totals.items()]
    if summary is not None:
        rows += delegate_statistics(summary, runs)
    return sorted(rows, key=lambda row: -row["ms"])


def structure(path, num_layers=None):
    """What the flatbuffer holds, from the interpreter's op and tensor data.

    Args:
        path: the `.tflite` file.
        num_layers: int or None. Also report op counts per block.

    Returns:
        A dict: `ops` (count per op), `per_block` (count / num_layers),
        `quantize_ops`, `weights` (per-channel and per-tensor int8 weight
        counts), `int16_activations`, `batch_matmul_rhs_zero_points`,
        `dynamic_inputs`, `fully_connected_shapes` (`[out, in]` of each
        FULLY_CONNECTED, in execution order).

    Example:
    ```python
    structure("mobilebert_int8.tflite", num_layers=24)["ops"]
    ```
    """
    from ai_edge_litert.interpreter import Interpreter
    from ai_edge_litert.interpreter import OpResolverType

    interpreter = Interpreter(
        model_path=str(path),
        experimental_op_resolver_type=(
            OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        ),
    )
    tensors = {d["index"]: d for d in interpreter.get_tensor_details()}
    ops = interpreter._get_ops_details()
    counts = collections.Counter(op["op_name"] for op in ops)
    weights = collections.Counter()
    rhs_zero_points = collections.Counter()
    int16 = set()
    fc_shapes = []
    for op in ops:
        for index in list(op["inputs"]) + list(op["outputs"]):
            if index >= 0 and tensors[index]["dtype"] == np.int16:
                int16.add(index)
        if op["op_name"] in ("FULLY_CONNECTED", "BATCH_MATMUL"):
            weight = tensors.get(op["inputs"][1])
            if op["op_name"] == "FULLY_CONNECTED":
                fc_shapes.append([int(d) for d in weight["shape"]])
            scales = weight["quantization_parameters"]["scales"]
            if weight["dtype"] == np.int8:
                kind = "per_channel" if len(scales) > 1 else "per_tensor"
                weights[f"{op['op_name']}:{kind}"] += 1
            if op["op_name"] == "BATCH_MATMUL":
                zero_points = weight["quantization_parameters"]["zero_points"]
                key = "float" if not len(zero_points) else int(zero_points[0])
                rhs_zero_points[str(key)] += 1
    dynamic = [
        d["name"]
        for d in interpreter.get_input_details()
        if any(int(s) < 0 for s in d["shape_signature"])
    ]
    result = {
        "ops": dict(counts.most_common()),
        "quantize_ops": {
            k: counts.get(k, 0) for k in ("QUANTIZE", "DEQUANTIZE")
        },
        "weights": dict(weights),
        "int16_activations": len(int16),
        "batch_matmul_rhs_zero_points": dict(rhs_zero_points),
        "dynamic_inputs": dynamic,
        "fully_connected_shapes": fc_shapes,
    }
    if num_layers:
        result["per_block"] = {
            k: round(v / num_layers, 2) for k, v in counts.most_common()
        }
    return result


def fully_connected_by_shape(nodes, shapes):
    """XNNPACK fully-connected time grouped by weight shape.

    Pairs the delegate's fully-connected nodes with the file's
    FULLY_CONNECTED ops in execution order; None when the counts differ
    (some stayed outside the delegate) or when several delegate partitions
    make the run-order rows ambiguous.
    """
    fc = [n for n in nodes if n["delegated"] and "Fully Connected" in n["type"]]
    indices = [n["index"] for n in nodes if n["delegated"]]
    if len(fc) != len(shapes) or len(set(indices)) != len(indices):
        return None
    groups = collections.defaultdict(lambda: [0.0, 0])
    for node, shape in zip(fc, shapes):
        key = f"{shape[1]}->{shape[0]}"
        groups[key][0] += node["avg_ms"]
        groups[key][1] += 1
    return {k: {"ms": ms, "count": n} for k, (ms, n) in groups.items()}


def report(
    path, num_threads, runs, num_layers=None, top=10, vocabulary_size=30522
):
    """Profile and inspect one file; return a JSON-ready dict and text."""
    summary, seconds = profile_file(
        path,
        num_threads=num_threads,
        runs=runs,
        vocabulary_size=vocabulary_size,
    )
    nodes = parse_run_order(summary)
    info = structure(path, num_layers)
    types = by_type(nodes, summary, runs)
    total = sum(row["ms"] for row in types)
    outside = by_type([n for n in nodes if not n["delegated"]])
    fc = fully_connected_by_shape(nodes, info["fully_connected_shapes"])
    lines = [
        f"## {path}",
        "",
        f"wall median {np.median(seconds) * 1000:.1f} ms over {runs} "
        f"profiled runs; profiled nodes sum to {total:.1f} ms; "
        f"{sum(not n['delegated'] for n in nodes)} nodes outside XNNPACK",
        "",
        "| node type | delegated | count | ms per run | share |",
        "|---|---|---|---|---|",
    ]
    for row in types:
        delegated = "yes" if row["type"].startswith("Delegate/") else "no"
        lines.append(
            f"| {row['type']} | {delegated} | {row['count']} | "
            f"{row['ms']:.2f} | {100 * row['ms'] / total:.1f}% |"
        )
    slowest = sorted(nodes, key=lambda n: -n["avg_ms"])[:top]
    lines += [
        "",
        "slowest nodes: "
        + ", ".join(
            f"{n['type']} #{n['index']} {n['avg_ms']:.2f} ms" for n in slowest
        ),
    ]
    if fc:
        lines += [
            "",
            "fully connected by shape: "
            + ", ".join(
                f"{k} x{v['count']} {v['ms']:.2f} ms" for k, v in fc.items()
            ),
        ]
    structure_keys = ("ops", "per_block", "quantize_ops", "weights")
    structure_keys += ("int16_activations", "batch_matmul_rhs_zero_points")
    structure_keys += ("dynamic_inputs",)
    for key in structure_keys:
        if key in info:
            lines.append(f"{key}: {info[key]}")
    result = {
        "path": str(path),
        "wall_median_ms": float(np.median(seconds) * 1000),
        "node_types": types,
        "outside_delegate": outside,
        "fully_connected_by_shape": fc,
        "structure": {
            k: v for k, v in info.items() if k != "fully_connected_shapes"
        },
        "summary": summary,
    }
    return result, "\n".join(lines)


def write_json(data, path):
    """Write `data` as JSON with `keras_mobilebert.utils.files.atomic_path`.

    The helper's module is loaded from its file: importing the package would
    run its `__init__` and load TensorFlow into the measured process.
    """
    import importlib.util

    source = pathlib.Path(__file__).resolve().parent.parent
    source = source / "keras_mobilebert" / "utils" / "files.py"
    spec = importlib.util.spec_from_file_location("_km_files", source)
    files = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(files)
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with files.atomic_path(path) as tmp:
        pathlib.Path(tmp).write_text(json.dumps(data, indent=2))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="profile_litert")
    parser.add_argument("files", nargs="+")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--layers", type=int, help="Transformer blocks.")
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--vocabulary-size", type=int, default=30522)
    parser.add_argument("--json", help="Write all results here.")
    args = parser.parse_args(argv)
    results = []
    for path in args.files:
        result, text = report(
            pathlib.Path(path),
            args.threads,
            args.runs,
            args.layers,
            args.top,
            args.vocabulary_size,
        )
        print(text + "\n", flush=True)
        results.append(result)
    if args.json:
        write_json(results, args.json)


if __name__ == "__main__":
    sys.exit(main())
