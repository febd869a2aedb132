"""`keras-mobilebert export`: a preset to a verified LiteRT (.tflite) file."""

import pathlib

from keras_mobilebert_cli.preset_models import load_preset_model

# `keras_mobilebert.export.QUANTIZATIONS`, spelled out: building the parser
# must not import TensorFlow (a test keeps the two equal).
QUANTIZATIONS = ("float32", "float16", "dynamic", "int8", "qat_int8")


def register(subparsers):
    """Add the `export` subcommand to an argparse `subparsers` object.

    Args:
        subparsers: the object `parser.add_subparsers()` returned.

    Example:
    ```python
    parser = argparse.ArgumentParser(prog="keras-mobilebert")
    register(parser.add_subparsers(dest="command"))
    ```
    """
    parser = subparsers.add_parser(
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
    parser.add_argument("preset", help="a KerasHub preset directory")
    parser.add_argument("output", help="the .tflite path to write")
    parser.add_argument(
        "--quantization", choices=QUANTIZATIONS, default="float32"
    )
    parser.add_argument(
        "--sequence-length",
        type=int,
        default=None,
        help="fixed input length (default: the preprocessor's, else 128)",
    )
    parser.add_argument(
        "--dynamic", action="store_true", help="inputs of shape [None, None]"
    )
    parser.add_argument(
        "--data",
        default=None,
        help=(
            "representative texts for int8: 'rotten_tomatoes' (the embedded "
            "data; classifiers are then also scored on its held-out split) "
            "or a text file with one sentence per line"
        ),
    )
    parser.add_argument("--num-representative", type=int, default=200)
    parser.add_argument(
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
    parser.set_defaults(func=run)
    return parser


def run(args):
    """Export a classifier, masked LM or backbone preset to `.tflite`.

    Example:
    ```python
    run(parser.parse_args(["export", "preset", "model.tflite"]))
    ```
    """
    from keras_mobilebert.export import export_and_verify
    from keras_mobilebert.export import to_litert

    model = load_preset_model(args.preset)
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
