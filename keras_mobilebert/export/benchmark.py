"""Side-by-side latency of MobileBERT, MobileBERT-TINY and BERT-base.

Batch 1, two shapes: classification (sequence 128) and question answering
(sequence 384, the paper's; MobileBERT against BERT-base). For each model:
the Keras model, LiteRT float32, dynamic-range and int8 files exported with
`to_litert` (verified against the Keras model, speed-ups on), and, when
the `benchmark` extra is installed, the HF PyTorch model and its ONNX
Runtime fp32 and dynamic int8 files. Everything is timed in one process in
interleaved rounds (`keras_mobilebert.export.latency`), so the machine's
load hits every row alike; ratios are medians of per-round ratios. A
fine-tuning row compares `fit` with HF PyTorch's training step at equal
batch (`finetune_throughput`).

The models have random weights (latency does not depend on the values),
with trained-like NoNorms (`benchmark_models.trained_like_norms`). The QA
shape times the backbones: the span head, one 512 -> 2 (768 -> 2) dense
layer per token, adds 0.4 (0.6) MFLOP to about 16 (70) GFLOP.
"""

import json
import pathlib
import subprocess
import sys
import time

from keras_mobilebert.export import benchmark_report
from keras_mobilebert.export import latency
from keras_mobilebert.export import reference_models
from keras_mobilebert.export.benchmark_models import HF_MODELS
from keras_mobilebert.export.benchmark_models import MODELS
from keras_mobilebert.export.benchmark_models import build_model
from keras_mobilebert.export.benchmark_ratios import COMPARED
from keras_mobilebert.export.benchmark_ratios import comparison
from keras_mobilebert.export.benchmark_ratios import ratio_rows
from keras_mobilebert.export.benchmark_ratios import targets
from keras_mobilebert.utils.errors import ConfigError
from keras_mobilebert.utils.files import atomic_path

LITERT_MODES = ("float32", "dynamic", "int8")
# What can be timed: the Keras model, LiteRT files of these export modes,
# ONNX Runtime (fp32 and dynamic int8 of the HF model), HF PyTorch, and
# the fine-tuning throughput.
RUNTIMES = ("keras",) + LITERT_MODES + ("onnx", "torch", "finetune")
# The question-answering shape compares these models' LiteRT files.
QA_MODELS = ("mobilebert", "bert_base")
# Random weights: int8 of an untrained deep model is checked for
# agreement, loosely (the QAT recipe checks real accuracy).
RANDOM_WEIGHT_TOLERANCES = {"int8": {"relative_error": 1.0}}
# Bump when what a cached file holds changes (reuse_files).
FILE_FORMAT = 2

# Loads a .tflite file in a fresh process, runs it, prints the peak
# resident memory (VmHWM, not ru_maxrss: Linux carries ru_maxrss over fork
# and exec, so it would report the parent's size).
_MEMORY_PROBE = r"""
import sys
import numpy as np
from ai_edge_litert.interpreter import Interpreter
path, threads, length = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
interpreter = Interpreter(model_path=path, num_threads=threads)
runner = interpreter.get_signature_runner()
ids = np.ones((1, length), "int32")  # Any vocabulary has id 1.
for _ in range(2):
    runner(ids=ids, mask=np.ones_like(ids), segment_ids=np.zeros_like(ids))
with open("/proc/self/status") as status:
    print([int(l.split()[1]) for l in status if l.startswith("VmHWM")][0])
"""


def litert_peak_memory_mib(path, num_threads, sequence_length):
    """Peak resident memory of loading and running a file, in MiB.

    Example:
    ```python
    litert_peak_memory_mib("model.tflite", 2, 128)
    ```
    """
    output = subprocess.run(
        [
            sys.executable,
            "-c",
            _MEMORY_PROBE,
            str(path),
            str(num_threads),
            str(sequence_length),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return int(output.strip().splitlines()[-1]) / 1024.0


def _cached(path, key, reuse):
    """The stored export record of `path` if reusable, else None."""
    sidecar = path.with_suffix(".json")
    if not (reuse and path.exists() and sidecar.exists()):
        return None
    record = json.loads(sidecar.read_text())
    return record if record.get("key") == key else None


def _store(path, key, record):
    with atomic_path(path.with_suffix(".json")) as tmp:
        tmp.write_text(json.dumps({**record, "key": key}, indent=1))


def export_litert_file(model, name, mode, sequence_length, directory, reuse):
    """Export (or reuse) one verified LiteRT file of a benchmark model.

    Returns:
        A dict: `path`, `file_mib`, `relative_error`, `convert_s`,
        `rewrites`.

    Example:
    ```python
    export_litert_file(backbone, "mobilebert", "int8", 128, folder, False)
    ```
    """
    from keras_mobilebert.export.litert import to_litert
    from keras_mobilebert.export.samples import random_inputs

    path = directory / f"{name}_{sequence_length}_{mode}.tflite"
    key = {
        "model": name,
        "mode": mode,
        "sequence_length": sequence_length,
        "format": FILE_FORMAT,
    }
    record = _cached(path, key, reuse)
    if record is not None:
        return {**record, "path": path}
    calibration = random_inputs(
        model.vocabulary_size, sequence_length, 16, seed=3
    )
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
    record = {
        "file_mib": result.size_bytes / 2**20,
        "relative_error": result.relative_error,
        "convert_s": time.perf_counter() - start,
        "rewrites": list(result.rewrites),
    }
    _store(path, key, record)
    return {**record, "path": path}


def _onnx_files(name, sequence_length, directory, reuse, build_torch):
    key = {"model": name, "sequence_length": sequence_length, "format": 1}
    stem = f"{name}_{sequence_length}"
    marker = directory / f"{stem}_onnx.json"
    if reuse and marker.exists():
        record = json.loads(marker.read_text())
        if record.get("key") == key:
            return {
                k: {**v, "path": pathlib.Path(v["path"])}
                for k, v in record["files"].items()
            }
    files = reference_models.write_onnx_files(
        build_torch(name), directory, stem, sequence_length
    )
    serial = {k: {**v, "path": str(v["path"])} for k, v in files.items()}
    with atomic_path(marker) as tmp:
        tmp.write_text(json.dumps({"key": key, "files": serial}, indent=1))
    return files


def check_settings(**settings):
    """Raise `ConfigError` unless every setting is a positive int.

    Checked before `run_benchmark` makes its output folder.

    Example:
    ```python
    check_settings(rounds=10, num_threads=2)
    ```
    """
    for name, value in settings.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name} must be a positive int, got {value!r}.")


def run_benchmark(
    output_dir="runs/benchmark",
    models=tuple(MODELS),
    modes=RUNTIMES,
    sequence_length=128,
    qa_sequence_length=384,
    num_threads=2,
    rounds=10,
    per_round=1,
    warmup=2,
    finetune_batch_size=16,
    finetune_rounds=3,
    finetune_steps=2,
    reuse_files=False,
    compare=None,
    build=build_model,
    build_torch=reference_models.build_torch_model,
    log=print,
):
    """Benchmark the models side by side; write Markdown, CSV, PNG, JSON.

    Args:
        output_dir: directory for `benchmark.md`, `benchmark.csv`,
            `benchmark.png`, `benchmark.json` and the exported files.
        models: names from `MODELS`.
        modes: any of `RUNTIMES`: `"keras"`, the LiteRT modes
            `"float32"`, `"dynamic"`, `"int8"`, `"onnx"` (ONNX Runtime fp32
            and dynamic int8 of the HF model), `"torch"` (HF PyTorch
            eager), `"finetune"` (examples per second of `fit` and of HF
            PyTorch's training step). The last three need the `benchmark`
            extra and are skipped, with a line naming it, without it.
        sequence_length: int. The classification shape.
        qa_sequence_length: int or None. The question-answering shape
            (LiteRT files of `QA_MODELS`); None skips it.
        num_threads: int. Threads of LiteRT, ONNX Runtime and PyTorch.
        rounds: int. Interleaved rounds.
        per_round: int. Timed runs of each row per round.
        warmup: int. Untimed runs of each row first.
        finetune_batch_size: int. Batch of both trainers.
        finetune_rounds: int. Interleaved fine-tuning rounds.
        finetune_steps: int. Training steps of each trainer per round.
        reuse_files: bool. Reuse exported files already in `output_dir`
            (same model, mode and length; written by an earlier run).
        compare: dict of a name to another `.tflite` file (a Model Maker
            export, say), timed interleaved with ours at the classification
            shape, with the same inputs (matched by name or order,
            `latency.match_inputs`), threads and rounds; the report gives
            every such file and our LiteRT files of the first model as
            ratios to our dynamic-range file.
        build: callable from a model name to a Keras backbone
            (`benchmark_models.build_model`).
        build_torch: callable `(name, task=None)` to an HF model
            (`reference_models.build_torch_model`).
        log: callable taking one string, or None.

    Returns:
        A dict: `rows`, `targets`, `finetune`, `settings`.

    Example:
    ```python
    result = run_benchmark(models=["mobilebert_tiny"], rounds=3)
    ```
    """
    check_settings(
        sequence_length=sequence_length,
        num_threads=num_threads,
        rounds=rounds,
        per_round=per_round,
        finetune_batch_size=finetune_batch_size,
        finetune_rounds=finetune_rounds,
        finetune_steps=finetune_steps,
    )
    if qa_sequence_length is not None:
        check_settings(qa_sequence_length=qa_sequence_length)
    if warmup < 0:
        raise ConfigError(f"warmup must be >= 0, got {warmup}.")
    latency.quiet_threads()  # Before anything imports torch.
    log = log or (lambda message: None)
    output_dir = pathlib.Path(output_dir)
    files_dir = output_dir / "files"
    files_dir.mkdir(parents=True, exist_ok=True)
    settings = {
        "machine_before": benchmark_report.machine_state(),
        "num_threads": num_threads,
        "rounds": rounds,
        "per_round": per_round,
        "sequence_length": sequence_length,
        "qa_sequence_length": qa_sequence_length,
    }
    notes = []
    wanted = set(modes)
    for extra_modes, packages, rows_name in (
        (
            {"torch", "finetune"},
            reference_models.TORCH_PACKAGES,
            "HF PyTorch rows",
        ),
        ({"onnx"}, reference_models.ONNX_PACKAGES, "ONNX Runtime rows"),
    ):
        missing = reference_models.missing_packages(packages)
        if wanted & extra_modes and missing:
            notes.append(reference_models.missing_message(missing, rows_name))
            log(notes[-1])
            wanted -= extra_modes
    shapes = [("classification", sequence_length, list(models))]
    if qa_sequence_length:
        qa = [m for m in models if m in QA_MODELS]
        if qa:
            shapes.append(("question answering", qa_sequence_length, qa))
    runners, rows = {}, []

    def add(shape, length, model, runtime, runner, **fields):
        key = f"{shape} {length}|{model}|{runtime}"
        runners[key] = runner
        rows.append(
            {
                "key": key,
                "shape": f"{shape} {length}",
                "sequence_length": length,
                "model": model,
                "runtime": runtime,
                "threads": num_threads,
                **fields,
            }
        )

    keras_models = {}
    for shape, length, names in shapes:
        for name in names:
            if name not in keras_models:
                log(f"== {name}: {MODELS.get(name, name)}")
                keras_models[name] = build(name)
            model = keras_models[name]
            ids = latency.token_ids(
                length, vocabulary_size=model.vocabulary_size
            )
            if "keras" in wanted and shape == "classification":
                add(
                    shape,
                    length,
                    name,
                    "keras",
                    latency.keras_runner(model, ids),
                )
            for mode in LITERT_MODES:
                if mode not in wanted:
                    continue
                exported = export_litert_file(
                    model, name, mode, length, files_dir, reuse_files
                )
                log(
                    f"  {shape} {length} litert {mode}: "
                    f"{exported['file_mib']:.1f} MiB, relative error "
                    f"{exported['relative_error']:.3g}, rewrites "
                    f"{exported['rewrites'] or 'none'}"
                )
                add(
                    shape,
                    length,
                    name,
                    f"litert {mode}",
                    latency.litert_runner(exported["path"], ids, num_threads),
                    file_mib=exported["file_mib"],
                    relative_error=exported["relative_error"],
                    convert_s=exported["convert_s"],
                    rewrites=" ".join(exported["rewrites"]),
                    peak_memory_mib=litert_peak_memory_mib(
                        exported["path"], num_threads, length
                    ),
                )
        if shape != "classification":
            continue
        for name in names:
            hf_name = HF_MODELS.get(name)
            if hf_name is None:
                continue
            if "torch" in wanted:
                hf = build_torch(hf_name)
                ids = latency.token_ids(
                    length, vocabulary_size=hf.config.vocab_size
                )
                add(
                    shape,
                    length,
                    name,
                    "hf pytorch",
                    latency.torch_runner(hf, ids, num_threads),
                )
            if "onnx" in wanted:
                ids = latency.token_ids(length)
                files = _onnx_files(
                    hf_name, length, files_dir, reuse_files, build_torch
                )
                for kind, runtime in (
                    ("fp32", "onnxruntime fp32"),
                    ("dynamic_int8", "onnxruntime dynamic int8"),
                ):
                    info = files[kind]
                    add(
                        shape,
                        length,
                        name,
                        runtime,
                        latency.onnx_runner(info["path"], ids, num_threads),
                        file_mib=info["path"].stat().st_size / 2**20,
                        relative_error=info["max_abs_error"] / info["scale"],
                    )
    for name, path in (compare or {}).items():
        first = keras_models[shapes[0][2][0]]
        ids = latency.token_ids(
            sequence_length, vocabulary_size=first.vocabulary_size
        )
        add(
            shapes[0][0],
            sequence_length,
            name,
            COMPARED,
            latency.litert_runner(path, ids, num_threads),
            file_mib=pathlib.Path(path).stat().st_size / 2**20,
            path=str(path),
        )
    log(f"timing {len(runners)} rows in {rounds} interleaved rounds")
    times = latency.interleave(
        runners, rounds, per_round, warmup=warmup, log=log
    )
    for r in rows:
        r.update(latency.timing_summary(times[r["key"]]))
    ratio_rows(rows, times, per_round)
    found = targets(rows, times, per_round)
    compared = comparison(rows, times, per_round, models[0])
    finetune = {}
    if "finetune" in wanted and "mobilebert" in models:
        log("fine-tuning throughput: keras_mobilebert fit vs HF PyTorch")
        finetune = _finetune_rows(
            keras_models.get("mobilebert") or build("mobilebert"),
            build_torch("mobilebert", task="classification"),
            finetune_batch_size,
            sequence_length,
            finetune_rounds,
            finetune_steps,
            num_threads,
            log,
        )
        settings["finetune_layers"] = keras_models["mobilebert"].num_layers
        settings["finetune_batch_size"] = finetune_batch_size
    settings["machine_after"] = benchmark_report.machine_state()
    report = benchmark_report.format_report(
        rows, found, finetune, settings, notes, compared
    )
    log("\n" + report)
    with atomic_path(output_dir / "benchmark.md") as tmp:
        tmp.write_text(report)
    benchmark_report.write_csv(rows, output_dir / "benchmark.csv")
    benchmark_report.plot(rows, output_dir / "benchmark.png")
    result = {
        "rows": rows,
        "targets": found,
        "comparison": compared,
        "finetune": finetune,
        "settings": settings,
        "notes": notes,
    }
    with atomic_path(output_dir / "benchmark.json") as tmp:
        tmp.write_text(json.dumps({**result, "times": times}, indent=1))
    return result


def _finetune_rows(
    backbone, torch_model, batch_size, length, rounds, steps, threads, log
):
    """`finetune_throughput` plus the keras / torch ratio."""
    from keras_mobilebert.export import finetune_throughput

    result = finetune_throughput.finetune_throughput(
        backbone,
        torch_model,
        batch_size=batch_size,
        sequence_length=length,
        rounds=rounds,
        steps_per_round=steps,
        num_threads=threads,
        log=log,
    )
    result["keras_over_torch"] = (
        result["keras"]["examples_per_second"]
        / result["torch"]["examples_per_second"]
    )
    return result
