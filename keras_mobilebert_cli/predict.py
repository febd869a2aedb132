"""`keras-mobilebert predict`: labels of texts from a saved classifier.

MODEL is a classifier preset folder or a `.tflite` file (as `evaluate`).
Give texts on the command line (each printed with its label and
probability), or `--data FILE` to label a file's text column and write
`--output` as CSV or JSON Lines (by its extension).

Example:
```
keras-mobilebert predict runs/tickets/preset "where is my parcel"
```
"""

from keras_mobilebert_cli.text_file_options import add_column_arguments
from keras_mobilebert_cli.text_file_options import add_model_arguments


def register(subparsers):
    """Add the `predict` subcommand to an argparse `subparsers` object.

    Example:
    ```python
    parser = argparse.ArgumentParser(prog="keras-mobilebert")
    register(parser.add_subparsers(dest="command"))
    ```
    """
    parser = subparsers.add_parser(
        "predict",
        help="label texts with a preset or .tflite classifier",
        description=__doc__.split("\n\n")[1],
    )
    add_model_arguments(parser)
    parser.add_argument("texts", nargs="*", help="texts to label")
    parser.add_argument(
        "--data", help="a CSV, TSV or JSON Lines file of texts to label"
    )
    add_column_arguments(parser, label=False)
    parser.add_argument(
        "--output", help="predictions file (.csv, .tsv or .jsonl)"
    )
    parser.set_defaults(func=run)
    return parser


def run(args):
    """Label the texts or the file's texts; print or write them.

    Example:
    ```python
    run(parser.parse_args(["predict", "preset", "a fine film"]))
    ```
    """
    from keras_mobilebert.utils.errors import ConfigError

    if bool(args.texts) == bool(args.data):
        raise ConfigError("give texts or --data FILE (not both).")
    from keras_mobilebert.finetune.text_scoring import predict_file
    from keras_mobilebert.finetune.text_scoring import predict_texts

    if args.texts:
        for text, row in zip(
            args.texts,
            predict_texts(args.model, list(args.texts), args.tokenizer),
        ):
            print(f"{row['label']}\t{row['probability']:.4f}\t{text}")
        return 0
    path = predict_file(
        args.model,
        args.data,
        args.output,
        text_column=args.text_column or "text",
        second_text_column=args.second_text_column,
        format=args.format,
        tokenizer=args.tokenizer,
    )
    print(f"wrote {path}")
    return 0
