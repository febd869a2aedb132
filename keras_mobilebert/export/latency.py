"""Latency of several runtimes side by side: interleaved rounds, one process.

The machine's load drifts, so timing one model after the other compares
different machines. Here every model is loaded into one process and timed
in rounds: each round runs every model `per_round` times, in a new random
order, so whatever one model leaves behind (warm caches, threads still
awake) and whatever the load does falls on every model alike. Ratios are
reported both as the ratio of the medians and as the median of the
per-round ratios (which cancels slow drift).

Threads that spin after a run steal the CPU from the model timed next:
ONNX Runtime's intra-op threads and OpenMP's (PyTorch) do by default.
Measured on this project's 2-core machine: the MobileBERT float32 file ran
63.8 ms right after an ONNX Runtime session, 29-30 ms otherwise, and every
LiteRT ratio fell from 3.4-4.0 to 2.4-2.6. So ONNX Runtime sessions are
made with `session.intra_op.allow_spinning = 0`, and `quiet_threads` sets
`OMP_WAIT_POLICY=PASSIVE` before PyTorch starts (a sleep between calls is
no cure: it slowed LiteRT's next run from 11 to 16 ms).

Runners are no-argument callables; all get batch 1 and the same random
token ids (full mask, segment zeros).
"""

import os
import time

import numpy as np


def quiet_threads():
    """Tell OpenMP's threads (PyTorch) to sleep, not spin, between runs.

    Must run before `torch` is imported (OpenMP reads the variable once);
    a value the user set is kept.

    Example:
    ```python
    quiet_threads()
    import torch
    ```
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def token_ids(sequence_length, seed=0, vocabulary_size=30522, batch_size=1):
    """Random int32 token ids, the same for every model of a vocabulary.

    Drawn from `[1000, 30000)` for BERT's vocabulary (ordinary word
    pieces), from `[5, vocabulary_size)` for small test vocabularies.

    Example:
    ```python
    ids = token_ids(128)  # shape (1, 128)
    ```
    """
    rng = np.random.RandomState(seed)
    low = 1000 if vocabulary_size > 2000 else min(5, vocabulary_size - 1)
    high = min(30000, vocabulary_size)
    return rng.randint(low, high, (batch_size, sequence_length)).astype("int32")


# Input names other LiteRT files use for our three inputs (Model Garden /
# Model Maker, Hugging Face), matched case-insensitively after our own.
INPUT_ALIASES = {
    "ids": ("ids", "input_word_ids", "input_ids", "token_ids", "word_ids"),
    "mask": ("mask", "input_mask", "attention_mask", "padding_mask"),
    "segment_ids": (
        "segment_ids",
        "input_type_ids",
        "token_type_ids",
        "type_ids",
    ),
}


def match_inputs(names, path):
    """Map a file's input names onto `ids`, `mask`, `segment_ids`.

    By name first (`INPUT_ALIASES`, also as a suffix such as
    `serving_default_input_word_ids:0`), else, for a file with exactly three
    inputs none of which is named like ours, by order (ids, mask, segment
    ids). Anything else is refused naming the file and its inputs.

    Args:
        names: the file's input names, in its order.
        path: the file, for messages.

    Returns:
        A dict of the file's input name to `"ids"`, `"mask"` or
        `"segment_ids"`.

    Example:
    ```python
    match_inputs(["input_word_ids", "input_mask", "input_type_ids"], "f")
    ```
    """
    pairs = [
        (a, ours) for ours, names_ in INPUT_ALIASES.items() for a in names_
    ]
    found = {}
    for name in names:
        plain = name.lower().split(":")[0]
        exact = [ours for a, ours in pairs if plain == a]
        # The longest alias that ends the name: `..._input_type_ids` is a
        # segment id, not an `ids`.
        suffixes = sorted(
            (len(a), ours) for a, ours in pairs if plain.endswith("_" + a)
        )
        if exact:
            found[name] = exact[0]
        elif suffixes:
            found[name] = suffixes[-1][1]
    if len(found) == len(names) and len(set(found.values())) == len(names):
        return found
    if not found and len(names) == 3:
        return dict(zip(names, ("ids", "mask", "segment_ids")))
    raise ValueError(
        f"{path}: cannot match its inputs {list(names)} to token ids, mask "
        "and segment ids by name, and it does not have exactly three "
        "inputs to match by order."
    )


def litert_runner(path, ids, num_threads):
    """A callable running a `.tflite` file once (XNNPACK, as delivered).

    Our files' inputs are `ids`, `mask`, `segment_ids`; another file's are
    matched by name or order (`match_inputs`), through its signature, or
    through the interpreter's inputs when it has no signature.

    Args:
        path: path of a `.tflite` file.
        ids: int32 array `(1, sequence_length)`.
        num_threads: int.

    Example:
    ```python
    run = litert_runner("model.tflite", token_ids(128), 2)
    run()
    ```
    """
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path), num_threads=num_threads)
    values = {
        "ids": ids,
        "mask": np.ones_like(ids),
        "segment_ids": np.zeros_like(ids),
    }
    if interpreter.get_signature_list():
        runner = interpreter.get_signature_runner()
        details = runner.get_input_details()
        matched = match_inputs(list(details), path)
        inputs = {
            name: values[matched[name]].astype(detail["dtype"])
            for name, detail in details.items()
        }

        def run():
            runner(**inputs)

    else:
        details = interpreter.get_input_details()
        matched = match_inputs([d["name"] for d in details], path)
        for detail in details:
            if tuple(detail["shape"]) != ids.shape:
                interpreter.resize_tensor_input(detail["index"], ids.shape)
        interpreter.allocate_tensors()
        feeds = [
            (d["index"], values[matched[d["name"]]].astype(d["dtype"]))
            for d in details
        ]

        def run():
            for index, value in feeds:
                interpreter.set_tensor(index, value)
            interpreter.invoke()

    run.keep = interpreter  # The runner needs its interpreter alive.
    return run


def onnx_runner(path, ids, num_threads, spinning=False):
    """A callable running an ONNX file in ONNX Runtime (CPU) once.

    Args:
        path: path of an ONNX file with BERT's inputs (`input_ids`,
            `attention_mask`, `token_type_ids`).
        ids: int32 array `(1, sequence_length)`.
        num_threads: int. Intra-op threads.
        spinning: bool. Keep ONNX Runtime's default spinning threads:
            faster for ONNX Runtime, slower for whatever runs next.

    Example:
    ```python
    run = onnx_runner("mobilebert_dynamic_int8.onnx", token_ids(128), 2)
    ```
    """
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = num_threads
    options.inter_op_num_threads = 1
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
            raise ValueError(f"{path}: unexpected input {i.name!r}.")
        feed[i.name] = values[i.name]

    def run():
        session.run(None, feed)

    return run


def torch_runner(model, ids, num_threads):
    """A callable running an HF PyTorch model once, eager, no gradients.

    Call `quiet_threads()` before importing torch.

    Args:
        model: an HF `transformers` model in eval mode.
        ids: int32 array `(1, sequence_length)`.
        num_threads: int.

    Example:
    ```python
    run = torch_runner(hf_model, token_ids(128), 2)
    ```
    """
    import torch

    torch.set_num_threads(num_threads)
    inputs = {
        "input_ids": torch.from_numpy(ids.astype("int64")),
        "attention_mask": torch.ones(ids.shape, dtype=torch.int64),
        "token_type_ids": torch.zeros(ids.shape, dtype=torch.int64),
    }

    def run():
        with torch.no_grad():
            model(**inputs)

    return run


def keras_runner(model, ids):
    """A callable running a Keras backbone once (`predict_on_batch`).

    Example:
    ```python
    run = keras_runner(backbone, token_ids(128))
    ```
    """
    inputs = {
        "token_ids": ids,
        "padding_mask": np.ones_like(ids),
        "segment_ids": np.zeros_like(ids),
    }

    def run():
        model.predict_on_batch(inputs)

    return run


def interleave(runners, rounds, per_round, warmup=2, log=None, seed=0):
    """Time every runner in rounds; return `{name: [seconds per run]}`.

    Args:
        runners: dict of name to a no-argument callable.
        rounds: int. Number of rounds.
        per_round: int. Timed calls of each runner per round.
        warmup: int. Untimed calls of each runner before the first round.
        log: callable taking one string, or None.
        seed: int. Seed of the rounds' random orders.

    Returns:
        A dict of name to a list of `rounds * per_round` durations, in
        round order.

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
    rng = np.random.RandomState(seed)
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


def timing_summary(seconds):
    """Median, p10 and p90 in milliseconds, and the number of runs.

    Example:
    ```python
    timing_summary([0.010, 0.012, 0.011])["median_ms"]  # 11.0
    ```
    """
    ms = np.asarray(seconds) * 1000.0
    return {
        "median_ms": float(np.median(ms)),
        "p10_ms": float(np.percentile(ms, 10)),
        "p90_ms": float(np.percentile(ms, 90)),
        "runs": len(ms),
    }


def round_ratio(times, a, b, per_round):
    """`a`'s latency over `b`'s: ratio of medians, median of round ratios.

    Args:
        times: the result of `interleave`.
        a: string. Numerator runner.
        b: string. Denominator runner.
        per_round: int. As given to `interleave`.

    Returns:
        A dict with `of_medians` and `median_per_round`.

    Example:
    ```python
    round_ratio(times, "bert_f32", "mobilebert_f32", per_round=1)
    ```
    """
    rounds_a = np.asarray(times[a]).reshape(-1, per_round)
    rounds_b = np.asarray(times[b]).reshape(-1, per_round)
    per_round_ratio = np.median(rounds_a, 1) / np.median(rounds_b, 1)
    return {
        "of_medians": float(np.median(times[a]) / np.median(times[b])),
        "median_per_round": float(np.median(per_round_ratio)),
    }


def summarize(times, per_round, ratios=()):
    """Timings per runner and the requested ratios.

    Args:
        times: the result of `interleave`.
        per_round: int. As given to `interleave`.
        ratios: `"a/b"` strings: `a`'s latency over `b`'s.

    Raises:
        ValueError: a ratio names an unknown runner.

    Example:
    ```python
    summarize({"a": [0.1, 0.1], "b": [0.2, 0.2]}, 1, ["b/a"])
    ```
    """
    result = {
        "models": {name: timing_summary(v) for name, v in times.items()},
        "ratios": {},
    }
    for ratio in ratios:
        a, sep, b = ratio.partition("/")
        if not sep or a not in times or b not in times:
            raise ValueError(
                f"Ratio {ratio!r}: expected NAME/NAME of timed models "
                f"({', '.join(times)})."
            )
        result["ratios"][ratio] = round_ratio(times, a, b, per_round)
    return result


def format_summary(result):
    """Markdown tables of `summarize`'s result.

    Example:
    ```python
    print(format_summary(summarize(times, 3, ["b/a"])))
    ```
    """
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
