"""Latency of LiteRT, ONNX Runtime and PyTorch models, interleaved.

The machine is shared and its load drifts, so timing one model after the
other compares different machines. This script loads every model into one
process and runs them in rounds: each round times every model a few times,
in a new random order. ONNX Runtime's and OpenMP's threads are told not to
spin between runs: spinning threads steal the CPU from whichever model
runs next. Medians over all rounds and
ratios between models are then comparable; the median of the per-round
ratios is reported too, as it cancels slow drift in the load.

All models get batch 1 and the same random token ids (full mask, segment
zeros), `--threads` threads each. LiteRT files run in
`ai_edge_litert.interpreter.Interpreter` with its default XNNPACK delegate,
as `keras_mobilebert.export.benchmark` times them.

    python tools/interleaved_latency.py --threads 2 --rounds 15 \
        --litert mb_f32=runs/bench/mobilebert_float32.tflite \
        --litert bert_f32=runs/bench/bert_base_float32.tflite \
        --onnx mb_ort_int8=runs/onnx/mobilebert_dynamic_int8.onnx \
        --torch mb_torch=mobilebert \
        --ratio bert_f32/mb_f32 --ratio mb_ort_int8/mb_f32 \
        --json runs/bench/latency.json

`--onnx` needs `onnxruntime`, `--torch` needs `torch` and `transformers`
(see `tools/onnx_reference.py` for a virtualenv with them). Nothing here
imports TensorFlow.
"""

import argparse
import os
import sys
import time

import numpy as np


def _named(values, flag):
    pairs = []
    for value in values or ():
        name, sep, target = value.partition("=")
        if not sep or not name or not target:
            raise SystemExit(f"{flag} takes NAME=VALUE; received {value!r}.")
        pairs.append((name, target))
    return pairs


def token_ids(sequence_length, seed=0):
    """The int32 ids every model gets (one row)."""
    rng = np.random.RandomState(seed)
    return rng.randint(1000, 30000, (1, sequence_length)).astype("int32")


def litert_runner(path, ids, num_threads):
    """A no-argument callable running a `.tflite` file once.

    Example:
    ```python
    run = litert_runner("model.tflite", token_ids(128), 2)
    run()
    ```
    """
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path), num_threads=num_threads)
    runner = interpreter.get_signature_runner()
    details = runner.get_input_details()
    values = {
        "ids": ids,
        "mask": np.ones_like(ids),
        "segment_ids": np.zeros_like(ids),
    }
    inputs = {}
    for name, detail in details.items():
        if name not in values:
            raise SystemExit(
                f"{path}: unexpected input {name!r}; expected ids, mask, "
                "segment_ids."
            )
        inputs[name] = values[name].astype(detail["dtype"])

    def run():
        runner(**inputs)

    run.keep = interpreter  # The runner needs its interpreter alive.
    return run


def onnx_runner(path, ids, num_threads, spinning=False):
    """A no-argument callable running an ONNX file in ONNX Runtime.

    `spinning=True` keeps ONNX Runtime's default: its threads spin after
    each run, which helps ONNX Runtime and slows down the model timed next
    (a sleep between calls does not fix it: it slows LiteRT's next run
    even more, measured 11 -> 16 ms).
    """
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = num_threads
    options.inter_op_num_threads = 1
    # ONNX Runtime's threads spin after each run by default; in an
    # interleaved process they would steal the CPU from the next model
    # (measured: the LiteRT file timed right after it ran 2x slower).
    if not spinning:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = onnxruntime.InferenceSession(
        str(path), options, providers=["CPUExecutionProvider"]
    )
    values = {
        "input_ids": ids.astype("int64"),
        "attention_mask": np.ones_like(ids, "int64"),
        "token_type_ids": np.zeros_like(ids, "int64"),
    }
    feed = {}
    for i in session.get_inputs():
        if i.name not in values:
            raise SystemExit(f"{path}: unexpected input {i.name!r}.")
        feed[i.name] = values[i.name]

    def run():
        session.run(None, feed)

    return run


def torch_runner(model_name, ids, num_threads, trained_norms=False):
    """A no-argument callable running an HF PyTorch model, eager."""
    # OpenMP threads would spin after each run, as ONNX Runtime's do.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import torch
    from onnx_reference import build_torch_model

    torch.set_num_threads(num_threads)
    model = build_torch_model(model_name, trained_norms=trained_norms)
    inputs = {
        "input_ids": torch.from_numpy(ids.astype("int64")),
        "attention_mask": torch.ones(ids.shape, dtype=torch.int64),
        "token_type_ids": torch.zeros(ids.shape, dtype=torch.int64),
    }

    def run():
        with torch.no_grad():
            model(**inputs)

    return run


def interleave(runners, rounds, per_round, warmup=2, log=None):
    """Time every runner in rounds; return `{name: [seconds per run]}`.

    Args:
        runners: dict of name to a no-argument callable.
        rounds: int. Number of rounds.
        per_round: int. Timed calls of each runner per round.
        warmup: int. Untimed calls of each runner before the first round.
        log: callable taking one string, or None.

    Example:
    ```python
    times = interleave({"a": run_a, "b": run_b}, rounds=10, per_round=3)
    ```
    """
    names = list(runners)
    for name in names:
        for _ in range(warmup):
            runners[name]()
    times = {name: [] for name in names}
    # A new random order each round: whatever one model leaves behind
    # (warm caches, threads still awake) falls on every other model alike.
    rng = np.random.RandomState(0)
    for r in range(rounds):
        order = [names[i] for i in rng.permutation(len(names))]
        for name in order:
            for _ in range(per_round):
                start = time.perf_counter()
                runners[name]()
                times[name].append(time.perf_counter() - start)
        if log:
            log(f"round {r + 1}/{rounds} done")
    return times


def summarize(times, per_round, ratios=()):
    """Medians per model and the requested ratios.

    `ratios` are `"a/b"` strings: `a`'s latency over `b`'s, as the ratio of
    the medians and as the median of the per-round ratios.

    Example:
    ```python
    summarize({"a": [0.1, 0.1], "b": [0.2, 0.2]}, 1, ["b/a"])
    ```
    """
    rows = {}
    for name, values in times.items():
        ms = np.asarray(values) * 1000.0
        rows[name] = {
            "median_ms": float(np.median(ms)),
            "p10_ms": float(np.percentile(ms, 10)),
            "p90_ms": float(np.percentile(ms, 90)),
            "runs": len(ms),
        }
    result = {"models": rows, "ratios": {}}
    for ratio in ratios:
        a, sep, b = ratio.partition("/")
        if not sep or a not in times or b not in times:
            raise SystemExit(f"--ratio {ratio!r}: expected NAME/NAME.")
        rounds_a = np.asarray(times[a]).reshape(-1, per_round)
        rounds_b = np.asarray(times[b]).reshape(-1, per_round)
        per_round_ratio = np.median(rounds_a, 1) / np.median(rounds_b, 1)
        result["ratios"][ratio] = {
            "of_medians": rows[a]["median_ms"] / rows[b]["median_ms"],
            "median_per_round": float(np.median(per_round_ratio)),
        }
    return result


def format_summary(result):
    """Markdown tables of `summarize`'s result."""
    lines = ["| model | median ms | p10-p90 ms | runs |", "|---|---|---|---|"]
    for name, r in result["models"].items():
        lines.append(
            f"| {name} | {r['median_ms']:.1f} | {r['p10_ms']:.1f}-"
            f"{r['p90_ms']:.1f} | {r['runs']} |"
        )
    if result["ratios"]:
        lines += [
            "",
            "| ratio | of medians | median per round |",
            "|---|---|---|",
        ]
        for name, r in result["ratios"].items():
            lines.append(
                f"| {name} | {r['of_medians']:.2f} | "
                f"{r['median_per_round']:.2f} |"
            )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="interleaved_latency")
    parser.add_argument("--litert", action="append", metavar="NAME=PATH")
    parser.add_argument("--onnx", action="append", metavar="NAME=PATH")
    parser.add_argument("--torch", action="append", metavar="NAME=MODEL")
    parser.add_argument(
        "--torch-trained-norms",
        action="store_true",
        help="Draw the HF MobileBERT NoNorm weights at random.",
    )
    parser.add_argument(
        "--onnx-spinning",
        action="store_true",
        help=(
            "Keep ONNX Runtime's default spinning threads: faster for ONNX "
            "Runtime, slower for whatever runs next."
        ),
    )
    parser.add_argument("--ratio", action="append", metavar="A/B")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sequence-length", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--per-round", type=int, default=3)
    parser.add_argument("--json", help="Write the result here.")
    args = parser.parse_args(argv)
    ids = token_ids(args.sequence_length)
    runners = {}
    for name, path in _named(args.litert, "--litert"):
        runners[name] = litert_runner(path, ids, args.threads)
    for name, path in _named(args.onnx, "--onnx"):
        runners[name] = onnx_runner(
            path, ids, args.threads, spinning=args.onnx_spinning
        )
    for name, model in _named(args.torch, "--torch"):
        runners[name] = torch_runner(
            model, ids, args.threads, args.torch_trained_norms
        )
    if not runners:
        raise SystemExit("Nothing to time: give --litert, --onnx or --torch.")
    times = interleave(
        runners,
        args.rounds,
        args.per_round,
        log=lambda m: print(m, file=sys.stderr, flush=True),
    )
    result = summarize(times, args.per_round, args.ratio or ())
    result["settings"] = {
        "threads": args.threads,
        "sequence_length": args.sequence_length,
        "rounds": args.rounds,
        "per_round": args.per_round,
        "onnx_spinning": args.onnx_spinning,
    }
    print(format_summary(result))
    if args.json:
        from profile_litert import write_json

        write_json(result, args.json)


if __name__ == "__main__":
    main()
