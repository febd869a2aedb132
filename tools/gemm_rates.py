"""How fast LiteRT's XNNPACK runs the dense layers of MobileBERT and BERT.

Float32 and dynamic-range LiteRT files of MobileBERT spend 86% / 71% of
their time in FULLY_CONNECTED ops (docs/performance.md). This tool times
chains of dense layers of one model's shapes on their own, in several
formulations the converter maps to different LiteRT ops, at 1 and 2
threads, interleaved in one process, and prints GMAC/s:

- `fc`: `x @ W` on `[128, K]` (FULLY_CONNECTED, what our files hold);
- `conv_w`: a 1x1 convolution over `[1, 1, 128, K]` (CONV_2D, tokens as
  width);
- `conv_h`: the same over `[1, 128, 1, K]` (tokens as height);
- `bmm`: a BATCH_MATMUL with a constant right-hand side (the converter
  may unfold it into FULLY_CONNECTED; `_experimental_disable_batchmatmul_
  unfold` keeps it).

Modes: `float32`, `dynamic` (int8 weights, float activations), `int8`
(full integer, input/output float with QUANTIZE/DEQUANTIZE at the ends).

Shapes (M = 128 tokens, K -> N), each chain `--depth` layers deep with
ReLU between, MACs as MobileBERT / BERT-base compute them per block:
`mobilebert`: 512 -> 128 -> 512 (bottleneck in and out, the FFN pairs are
128 -> 512 -> 128), `mobilebert_ffn`: 128 -> 512 -> 128, `mobilebert_sq`:
128 -> 128; `bert`: 768 -> 3072 -> 768, `bert_sq`: 768 -> 768.

    python tools/gemm_rates.py --output runs/gemm --rounds 20
"""

import argparse
import json
import os
import pathlib
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

CHAINS = {
    "mobilebert": (512, 128, 512),
    "mobilebert_ffn": (128, 512, 128),
    "mobilebert_sq": (128, 128, 128),
    "bert": (768, 3072, 768),
    "bert_sq": (768, 768, 768),
}
FORMS = ("fc", "conv_w", "conv_h", "bmm")


def _weights(widths, depth, seed=0):
    rng = np.random.RandomState(seed)
    pairs = list(zip(widths[:-1], widths[1:])) * depth
    return [
        (rng.normal(0, k**-0.5, (k, n)).astype("float32"), np.zeros(n, "f4"))
        for k, n in pairs[:depth]
    ]


def build_function(widths, depth, form, tokens=128):
    """A `tf.function` computing the chain in one formulation."""
    import tensorflow as tf

    layers = [
        (tf.constant(w), tf.constant(b)) for w, b in _weights(widths, depth)
    ]
    k0 = widths[0]
    shapes = {
        "fc": [tokens, k0],
        "conv_w": [1, 1, tokens, k0],
        "conv_h": [1, tokens, 1, k0],
        "bmm": [1, tokens, k0],
    }

    @tf.function(input_signature=[tf.TensorSpec(shapes[form], tf.float32)])
    def chain(x):
        for i, (w, b) in enumerate(layers):
            if form == "fc":
                x = tf.matmul(x, w) + b
            elif form == "bmm":
                x = tf.linalg.matmul(x, w[None]) + b
            else:
                filt = tf.reshape(w, [1, 1, *w.shape])
                x = tf.nn.conv2d(x, filt, 1, "VALID") + b
            if i + 1 < len(layers):
                x = tf.nn.relu(x)
        return x

    return chain, shapes[form]


def convert(function, mode, form, shape):
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [function.get_concrete_function()], function
    )
    if mode in ("dynamic", "int8"):
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "int8":
        rng = np.random.RandomState(1)

        def representative():
            for _ in range(8):
                yield [rng.normal(size=shape).astype("float32")]

        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [
            tf.lite.OpsSet.TFLITE_BUILTINS_INT8
        ]
    if form == "bmm":
        converter._experimental_disable_batchmatmul_unfold = True
    return converter.convert()


def ops_of(tflite_bytes):
    from keras_mobilebert.export.op_inspection import list_ops

    ops = {}
    for op in list_ops(tflite_bytes):
        ops[op["op"]] = ops.get(op["op"], 0) + 1
    return ops


def runner(path, shape, threads):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path), num_threads=threads)
    interpreter.allocate_tensors()
    index = interpreter.get_input_details()[0]["index"]
    x = np.random.RandomState(0).normal(size=shape).astype("float32")

    def call():
        interpreter.set_tensor(index, x)
        interpreter.invoke()

    call.keep = interpreter
    return call


def main(argv=None):
    parser = argparse.ArgumentParser(prog="gemm_rates")
    parser.add_argument("--output", default="runs/gemm")
    parser.add_argument("--chains", nargs="+", default=list(CHAINS))
    parser.add_argument("--forms", nargs="+", default=list(FORMS))
    parser.add_argument("--modes", nargs="+", default=["float32", "dynamic"])
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--depth", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--per-round", type=int, default=3)
    args = parser.parse_args(argv)
    from keras_mobilebert.export import latency

    output = pathlib.Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    runners, info = {}, {}
    for chain in args.chains:
        widths = CHAINS[chain]
        macs = sum(
            128 * w.shape[0] * w.shape[1]
            for w, _ in _weights(widths, args.depth)
        )
        for form in args.forms:
            function, shape = build_function(widths, args.depth, form)
            for mode in args.modes:
                path = output / f"{chain}_{form}_{mode}.tflite"
                if not path.exists():
                    start = time.perf_counter()
                    path.write_bytes(convert(function, mode, form, shape))
                    print(f"{path}: {time.perf_counter() - start:.1f} s")
                ops = ops_of(path.read_bytes())
                for threads in args.threads:
                    name = f"{chain}/{form}/{mode}/{threads}t"
                    runners[name] = runner(path, shape, threads)
                    info[name] = {"macs": macs, "ops": ops}
    times = latency.interleave(runners, args.rounds, args.per_round, log=None)
    rows = []
    for name, seconds in times.items():
        summary = latency.timing_summary(seconds)
        gmacs = info[name]["macs"] / (summary["median_ms"] / 1000) / 1e9
        rows.append({"name": name, **summary, "gmac_s": gmacs, **info[name]})
        print(
            f"{name:32s} {summary['median_ms']:8.3f} ms  {gmacs:6.1f} GMAC/s"
            f"  {info[name]['ops']}"
        )
    result = {"rows": rows, "load_average": list(os.getloadavg())}
    (output / "gemm_rates.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
