"""`keras-mobilebert benchmark`: LiteRT and Keras latency side by side."""

# `keras_mobilebert.export.benchmark.MODELS` (in its order) and
# `run_benchmark`'s modes, spelled out: building the parser must not
# import TensorFlow (a test keeps them equal).
MODELS = ("mobilebert", "mobilebert_tiny", "bert_base")
MODES = ("keras", "float32", "dynamic", "int8", "torch")


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
        help="LiteRT latency of MobileBERT, TINY and BERT-base side by side",
        description=(
            "Batch 1, sequence 128: Keras and LiteRT float32, dynamic-range "
            "and int8 for each model (and HF PyTorch MobileBERT when torch "
            "and transformers are installed). Prints a table and writes "
            "benchmark.csv and benchmark.png."
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
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.set_defaults(func=run)
    return parser


def run(args):
    """Run the side-by-side LiteRT benchmark.

    Example:
    ```python
    run(parser.parse_args(["benchmark", "--models", "mobilebert_tiny"]))
    ```
    """
    from keras_mobilebert.export.benchmark import run_benchmark

    run_benchmark(
        output_dir=args.output,
        models=args.models,
        modes=args.modes,
        sequence_length=args.sequence_length,
        num_threads=args.threads,
        runs=args.runs,
        warmup=args.warmup,
    )


def main(argv=None):
    """Entry point of `tools/benchmark_litert.py`: the same options.

    Returns the exit status (1, with one line, for a missing dependency).

    Example:
    ```python
    main(["--models", "mobilebert_tiny", "--runs", "5"])
    ```
    """
    import argparse
    import gc
    import sys

    from keras_mobilebert_cli.missing_dependencies import run_reporting_missing
    from keras_mobilebert_cli.startup import start_library

    parser = argparse.ArgumentParser(prog="benchmark_litert")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["benchmark"] + list(argv or sys.argv[1:]))

    def start_and_run():
        start_library()
        return run(args)

    status = run_reporting_missing("benchmark_litert", start_and_run)
    # Many conversions leave a large heap; CPython's last full collection
    # at exit then takes minutes. Everything is written: skip it.
    gc.freeze()
    return status or 0
