"""`keras-mobilebert benchmark`: LiteRT, ONNX Runtime, PyTorch side by side."""

# `keras_mobilebert.export.benchmark.MODELS` (in its order) and
# `RUNTIMES`, spelled out: building the parser must not import TensorFlow
# (a test keeps them equal).
MODELS = ("mobilebert", "mobilebert_tiny", "bert_base")
MODES = ("keras", "float32", "dynamic", "int8", "onnx", "torch", "finetune")


def register(subparsers):
    """Add the `benchmark` subcommand to an argparse `subparsers` object.

    Example:
    ```python
    parser = argparse.ArgumentParser(prog="keras-mobilebert")
    register(parser.add_subparsers(dest="command"))
    ```
    """
    parser = subparsers.add_parser(
        "benchmark",
        help="Latency of MobileBERT, TINY and BERT-base side by side",
        description=(
            "Batch 1, sequence 128 and the question-answering shape (384): "
            "Keras, LiteRT float32, dynamic-range and int8 files (verified, "
            "speed-ups on) of each model, HF PyTorch and ONNX Runtime fp32 "
            "and dynamic int8 of the HF models (with the benchmark extra: "
            'pip install "keras-mobilebert[benchmark]"), all timed in one '
            "process in interleaved rounds; and fine-tuning throughput of "
            "fit against HF PyTorch at equal batch. Prints a table and "
            "writes benchmark.md, .csv, .png and .json."
        ),
    )
    parser.add_argument("--output", default="runs/benchmark")
    parser.add_argument(
        "--models", nargs="+", choices=sorted(MODELS), default=list(MODELS)
    )
    parser.add_argument(
        "--modes", nargs="+", choices=MODES, default=list(MODES)
    )
    parser.add_argument("--sequence-length", type=int, default=128)
    parser.add_argument(
        "--qa-sequence-length",
        type=int,
        default=384,
        help="Sequence length of the question-answering shape; 0 skips it.",
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--per-round", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--finetune-batch-size", type=int, default=16)
    parser.add_argument("--finetune-rounds", type=int, default=3)
    parser.add_argument("--finetune-steps", type=int, default=2)
    parser.add_argument(
        "--compare",
        nargs="+",
        default=[],
        metavar="NAME=FILE.tflite",
        help="Other LiteRT files (a Model Maker export, ...) timed "
        "interleaved with ours at --sequence-length, same inputs (matched by "
        "name or order), threads and rounds; reported as ratios to our "
        "dynamic-range file.",
    )
    parser.add_argument(
        "--reuse-files",
        action="store_true",
        help="Reuse the exported files an earlier run left in --output.",
    )
    parser.set_defaults(func=run)
    return parser


def run(args):
    """Run the side-by-side benchmark.

    Example:
    ```python
    run(parser.parse_args(["benchmark", "--models", "mobilebert_tiny"]))
    ```
    """
    import pathlib

    from keras_mobilebert.export.benchmark import run_benchmark
    from keras_mobilebert.utils.errors import ConfigError
    from keras_mobilebert.utils.errors import MissingInputError

    compare = {}
    for item in args.compare:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise ConfigError(f"--compare takes NAME=FILE.tflite, not {item!r}")
        if not pathlib.Path(path).is_file():
            raise MissingInputError(f"--compare {name}: no file {path}")
        compare[name] = path
    run_benchmark(
        output_dir=args.output,
        models=args.models,
        modes=args.modes,
        sequence_length=args.sequence_length,
        qa_sequence_length=args.qa_sequence_length or None,
        num_threads=args.threads,
        rounds=args.rounds,
        per_round=args.per_round,
        warmup=args.warmup,
        finetune_batch_size=args.finetune_batch_size,
        finetune_rounds=args.finetune_rounds,
        finetune_steps=args.finetune_steps,
        reuse_files=args.reuse_files,
        compare=compare,
    )


def main(argv=None):
    """Entry point of `tools/benchmark_litert.py`: the same options.

    Returns the exit status (2, with one line, for an input error such as
    a missing dependency).

    Example:
    ```python
    main(["--models", "mobilebert_tiny", "--rounds", "5"])
    ```
    """
    import argparse
    import gc
    import sys

    from keras_mobilebert_cli.errors import run_reporting_errors
    from keras_mobilebert_cli.startup import start_library

    parser = argparse.ArgumentParser(prog="benchmark_litert")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["benchmark"] + list(argv or sys.argv[1:]))

    def start_and_run():
        start_library()
        return run(args)

    status = run_reporting_errors("benchmark_litert", start_and_run)
    # Many conversions leave a large heap; CPython's last full collection
    # at exit then takes minutes. Everything is written: skip it.
    gc.freeze()
    return status or 0
