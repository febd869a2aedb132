"""Side-by-side latency of MobileBERT, MobileBERT-TINY and BERT-base.

Batch 1, one sequence length (128 by default), one thread count: the Keras
model, and LiteRT float32, dynamic-range and int8 files of each model (and
HF PyTorch MobileBERT when `torch` and `transformers` are installed). The
models have random weights: latency and size do not depend on the values.
Each LiteRT file is exported with `to_litert` (so it is verified against its
Keras model) and timed in a fresh process, which also gives its peak
resident memory.
"""

import csv
import json
import pathlib
import statistics
import subprocess
import sys
import time

import numpy as np

from keras_mobilebert.utils.files import atomic_path

MODELS = {
    "mobilebert": "MobileBERT (24 layers, 512 wide, 128 bottleneck)",
    "mobilebert_tiny": "MobileBERT-TINY (bottleneck attention, 2 FFNs)",
    "bert_base": "BERT-base-sized (KerasHub BertBackbone, 12 x 768)",
}
BASELINE = ("bert_base", "litert float32")
# What can be timed: the Keras model, LiteRT files of these export modes,
# and HF PyTorch MobileBERT.
LITERT_MODES = ("float32", "dynamic", "int8")
RUNTIMES = ("keras",) + LITERT_MODES + ("torch",)
# Random weights: int8 of an untrained deep model is checked for
# agreement, loosely (the QAT recipe checks real accuracy).
RANDOM_WEIGHT_TOLERANCES = {"int8": {"relative_error": 1.0}}

# Runs one .tflite file in a fresh interpreter process and prints JSON.
_TIMER = r"""
import json, sys, time
import numpy as np
from ai_edge_litert.interpreter import Interpreter
path, threads, length, runs, warmup, vocabulary = sys.argv[1:7]
threads, length, vocabulary = int(threads), int(length), int(vocabulary)
runs, warmup = int(runs), int(warmup)
interpreter = Interpreter(model_path=path, num_threads=threads)
runner = interpreter.get_signature_runner()
rng = np.random.RandomState(0)
ids = rng.randint(5, vocabulary, (1, length)).astype("int32")
inputs = {
    "ids": ids, "mask": np.ones_like(ids), "segment_ids": np.zeros_like(ids)
}
for _ in range(warmup):
    runner(**inputs)
times = []
for _ in range(runs):
    start = time.perf_counter()
    runner(**inputs)
    times.append(time.perf_counter() - start)
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over fork and exec, so it
# would report the (large) parent's size.
with open("/proc/self/status") as status:
    peak = [int(line.split()[1]) for line in status if line.startswith("VmHWM")]
print(json.dumps({"times": times, "peak_rss_kib": peak[0]}))
"""


def build_model(name):
    """A randomly initialized backbone of one of `MODELS`.

    Example:
    ```python
    backbone = build_model("mobilebert_tiny")
    ```
    """
    if name == "bert_base":
        import keras_hub

        return keras_hub.models.BertBackbone(
            vocabulary_size=30522,
            num_layers=12,
            num_heads=12,
            hidden_dim=768,
            intermediate_dim=3072,
            max_sequence_length=512,
        )
    from keras_mobilebert import MobileBertBackbone

    preset = {
        "mobilebert": "mobilebert_en_uncased",
        "mobilebert_tiny": "mobilebert_tiny_en_uncased",
    }[name]
    return MobileBertBackbone.from_preset(preset, load_weights=False)


def _summary(times):
    ms = np.asarray(times) * 1000.0
    return {
        "median_ms": float(np.median(ms)),
        "p10_ms": float(np.percentile(ms, 10)),
        "p90_ms": float(np.percentile(ms, 90)),
        "stdev_ms": float(statistics.pstdev(ms)),
    }


def time_litert(
    path, num_threads, sequence_length, runs, warmup, vocabulary_size=30522
):
    """Latency and peak memory of a `.tflite` file, in a fresh process.

    Example:
    ```python
    time_litert("model.tflite", num_threads=2, sequence_length=128,
                runs=20, warmup=3)
    ```
    """
    output = subprocess.run(
        [
            sys.executable,
            "-c",
            _TIMER,
            str(path),
            str(num_threads),
            str(sequence_length),
            str(runs),
            str(warmup),
            str(vocabulary_size),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result = json.loads(output.strip().splitlines()[-1])
    return {
        **_summary(result["times"]),
        "peak_memory_mib": result["peak_rss_kib"] / 1024.0,
    }


def _inputs(sequence_length, vocabulary_size):
    rng = np.random.RandomState(0)
    ids = rng.randint(5, vocabulary_size, (1, sequence_length)).astype("int32")
    return {
        "token_ids": ids,
        "padding_mask": np.ones_like(ids),
        "segment_ids": np.zeros_like(ids),
    }


def time_keras(model, sequence_length, runs, warmup):
    """Latency of `predict_on_batch` (a compiled graph), batch 1.

    Example:
    ```python
    time_keras(backbone, sequence_length=128, runs=20, warmup=3)
    ```
    """
    inputs = _inputs(sequence_length, model.vocabulary_size)
    for _ in range(warmup):
        model.predict_on_batch(inputs)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        model.predict_on_batch(inputs)
        times.append(time.perf_counter() - start)
    return _summary(times)


def time_torch(sequence_length, num_threads, runs, warmup):
    """HF PyTorch MobileBERT (random weights), eager, batch 1; or None.

    Example:
    ```python
    time_torch(128, num_threads=2, runs=20, warmup=3)
    ```
    """
    try:
        import torch
        import transformers
    except ImportError:
        return None
    torch.set_num_threads(num_threads)
    model = transformers.MobileBertModel(transformers.MobileBertConfig())
    model.eval()
    ids = torch.randint(1000, 30000, (1, sequence_length))
    with torch.no_grad():
        for _ in range(warmup):
            model(input_ids=ids)
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            model(input_ids=ids)
            times.append(time.perf_counter() - start)
    return _summary(times)


def _plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r['model']}\n{r['runtime']}" for r in rows]
    medians = [r["median_ms"] for r in rows]
    errors = [
        [r["median_ms"] - r["p10_ms"] for r in rows],
        [r["p90_ms"] - r["median_ms"] for r in rows],
    ]
    fig, ax = plt.subplots(figsize=(max(8, len(rows) * 0.9), 5))
    ax.bar(range(len(rows)), medians, yerr=errors, capsize=3)
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels(labels, rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("latency, ms (median, p10-p90)")
    ax.set_title("batch 1 latency")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)


def format_table(rows):
    """A Markdown table of benchmark rows."""
    lines = [
        "| model | runtime | median ms | p10-p90 ms | vs BERT-base fp32 "
        "| file MiB | peak MiB |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        size = f"{r['file_mib']:.1f}" if r.get("file_mib") else "-"
        peak = (
            f"{r['peak_memory_mib']:.0f}" if r.get("peak_memory_mib") else "-"
        )
        ratio = f"{r['ratio']:.2f}" if r.get("ratio") else "-"
        lines.append(
            f"| {r['model']} | {r['runtime']} | {r['median_ms']:.1f} "
            f"| {r['p10_ms']:.1f}-{r['p90_ms']:.1f} | {ratio} | {size} "
            f"| {peak} |"
        )
    return "\n".join(lines)


def run_benchmark(
    output_dir="runs/benchmark",
    models=tuple(MODELS),
    modes=RUNTIMES,
    sequence_length=128,
    num_threads=2,
    runs=20,
    warmup=3,
    build=build_model,
    log=print,
):
    """Benchmark the models side by side; write a CSV, PNG and Markdown.

    Args:
        output_dir: directory for `benchmark.csv`, `benchmark.png`,
            `benchmark.md` and the `.tflite` files.
        models: names from `MODELS`.
        modes: any of `RUNTIMES`: `"keras"`, the LiteRT modes
            `"float32"`, `"dynamic"`, `"int8"`, and `"torch"` (HF PyTorch
            MobileBERT, skipped if not installed).
        sequence_length: int.
        num_threads: int. Threads of LiteRT and PyTorch.
        runs: int. Timed runs after warm-up.
        warmup: int. Untimed runs first.
        build: callable from a model name to a backbone (`build_model`).
        log: callable taking one string, or None.

    Returns:
        The list of result rows (dicts).

    Example:
    ```python
    rows = run_benchmark(models=["mobilebert_tiny"], runs=5)
    ```
    """
    from keras_mobilebert.export.litert import to_litert
    from keras_mobilebert.export.samples import random_inputs

    log = log or (lambda message: None)
    output_dir = pathlib.Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in models:
        log(f"== {name}: {MODELS.get(name, name)}")
        model = build(name)
        params = model.count_params()
        if "keras" in modes:
            timing = time_keras(model, sequence_length, runs, warmup)
            rows.append(
                {"model": name, "runtime": "keras", "params": params, **timing}
            )
            log(f"  keras: {timing['median_ms']:.1f} ms")
        calibration = random_inputs(
            model.vocabulary_size, sequence_length, 16, seed=3
        )
        for mode in LITERT_MODES:
            if mode not in modes:
                continue
            path = output_dir / f"{name}_{mode}.tflite"
            start = time.perf_counter()
            result = to_litert(
                model,
                path,
                quantization=mode,
                sequence_length=sequence_length,
                representative_data=calibration,
                num_samples=4,
                tolerance=RANDOM_WEIGHT_TOLERANCES.get(mode),
                log=None,
            )
            convert_s = time.perf_counter() - start
            timing = time_litert(
                path,
                num_threads,
                sequence_length,
                runs,
                warmup,
                model.vocabulary_size,
            )
            rows.append(
                {
                    "model": name,
                    "runtime": f"litert {mode}",
                    "params": params,
                    "file_mib": result.size_bytes / 2**20,
                    "relative_error": result.relative_error,
                    "convert_s": convert_s,
                    **timing,
                }
            )
            log(
                f"  litert {mode}: {timing['median_ms']:.1f} ms, "
                f"{result.size_bytes / 2**20:.1f} MiB, relative error "
                f"{result.relative_error:.3g} (converted in {convert_s:.0f} s)"
            )
        del model
    if "torch" in modes and "mobilebert" in models:
        timing = time_torch(sequence_length, num_threads, runs, warmup)
        if timing is None:
            log(
                "  HF PyTorch: skipped, torch and transformers are not "
                'installed (pip install "keras-mobilebert[parity]")'
            )
        else:
            rows.append(
                {"model": "mobilebert", "runtime": "hf pytorch", **timing}
            )
    baseline = [r for r in rows if (r["model"], r["runtime"]) == BASELINE]
    for r in rows:
        r["ratio"] = (
            r["median_ms"] / baseline[0]["median_ms"] if baseline else None
        )
        r["threads"] = num_threads
        r["sequence_length"] = sequence_length
    table = format_table(rows)
    log(
        f"\nbatch 1, sequence {sequence_length}, {num_threads} threads, "
        f"{runs} warm runs\n{table}"
    )
    fields = sorted({k for r in rows for k in r})
    with atomic_path(output_dir / "benchmark.csv") as tmp:
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)
    with atomic_path(output_dir / "benchmark.md") as tmp:
        tmp.write_text(table + "\n")
    _plot(rows, output_dir / "benchmark.png")
    return rows
