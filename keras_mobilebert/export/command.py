"""The `export` and `benchmark` subcommands of `keras-mobilebert`.

`keras_mobilebert.cli` adds them with `register(subparsers)`.
"""

import pathlib


def run_export_command(args):
    """Export a classifier, masked LM or backbone preset to `.tflite`."""
    import keras_hub

    # Importing keras_mobilebert registers our classes with KerasHub.
    import keras_mobilebert  # noqa: F401
    from keras_mobilebert.export import export_and_verify
    from keras_mobilebert.export import to_litert

    model = _load(keras_hub, args.preset)
    if args.data == "rotten_tomatoes":
        from keras_mobilebert.data import load_rotten_tomatoes

        train_x, _ = load_rotten_tomatoes("train")
        test_x, test_y = load_rotten_tomatoes("test")
        representative = list(train_x[: args.num_representative])
        if hasattr(model, "num_classes"):
            report = export_and_verify(
                model,
                args.output,
                args.quantization,
                representative,
                list(test_x),
                test_y,
                sequence_length=args.sequence_length,
                labels=args.labels,
            )
            print(
                f"wrote {report['path']}: {report['size_bytes']:,} bytes, "
                f"max abs error {report['max_abs_error']:.3g}, label "
                f"agreement {report['label_agreement']:.3f}, held-out "
                f"accuracy {report['tflite_accuracy']:.4f} (Keras "
                f"{report['keras_accuracy']:.4f})"
            )
            return
    else:
        representative = _read_lines(args.data) if args.data else None
    result = to_litert(
        model,
        args.output,
        quantization=args.quantization,
        sequence_length=args.sequence_length,
        dynamic_shape=args.dynamic,
        representative_data=representative,
        num_representative=args.num_representative,
        labels=args.labels,
    )
    agreement = (
        "n/a"
        if result.label_agreement is None
        else f"{result.label_agreement:.3f}"
    )
    print(
        f"wrote {result.path}: {result.size_bytes:,} bytes, max abs error "
        f"{result.max_abs_error:.3g}, label agreement {agreement}"
    )


def _read_lines(path):
    lines = pathlib.Path(path).read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip()]


def _load(keras_hub, preset):
    """Load the most specific model a preset directory holds."""
    directory = pathlib.Path(preset)
    if (directory / "task.json").exists():
        config = (directory / "task.json").read_text(encoding="utf-8")
        if "MaskedLM" in config:
            return keras_hub.models.MaskedLM.from_preset(preset)
        return keras_hub.models.TextClassifier.from_preset(preset)
    return keras_hub.models.Backbone.from_preset(preset)


def register(subparsers):
    """Add the `export` and `benchmark` subcommands to an argparse parser.

    Args:
        subparsers: the object `parser.add_subparsers()` returned.

    Example:
    ```python
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    ```
    """
    from keras_mobilebert.export import QUANTIZATIONS
    from keras_mobilebert.export.benchmark import add_benchmark_arguments

    export = subparsers.add_parser(
        "export",
        help="export a preset to a verified LiteRT (.tflite) file",
        description=(
            "Export a classifier, masked LM or backbone preset directory to "
            ".tflite (int32 inputs ids, mask, segment_ids of shape [1, seq]). "
            "The file is run by the LiteRT interpreter and compared with the "
            "Keras model before it is written; a result outside tolerance is "
            "an error and leaves no file."
        ),
    )
    export.add_argument("preset", help="a KerasHub preset directory")
    export.add_argument("output", help="the .tflite path to write")
    export.add_argument(
        "--quantization", choices=QUANTIZATIONS, default="float32"
    )
    export.add_argument(
        "--sequence-length",
        type=int,
        default=None,
        help="fixed input length (default: the preprocessor's, else 128)",
    )
    export.add_argument(
        "--dynamic", action="store_true", help="inputs of shape [None, None]"
    )
    export.add_argument(
        "--data",
        default=None,
        help=(
            "representative texts for int8: 'rotten_tomatoes' (the embedded "
            "data; classifiers are then also scored on its held-out split) "
            "or a text file with one sentence per line"
        ),
    )
    export.add_argument("--num-representative", type=int, default=200)
    export.add_argument(
        "--labels",
        nargs="+",
        default=None,
        help=(
            "class names in index order (classifiers): pack TFLite metadata "
            "(input names, WordPiece vocabulary, labels) so MediaPipe's "
            "TextClassifier and the Task Library's BertNLClassifier take "
            "raw strings"
        ),
    )
    export.set_defaults(func=run_export_command)

    benchmark = subparsers.add_parser(
        "benchmark",
        help="LiteRT latency of MobileBERT, TINY and BERT-base side by side",
        description=(
            "Batch 1, sequence 128: Keras and LiteRT float32, dynamic-range "
            "and int8 for each model (and HF PyTorch MobileBERT when torch "
            "and transformers are installed). Prints a table and writes "
            "benchmark.csv and benchmark.png."
        ),
    )
    add_benchmark_arguments(benchmark)
