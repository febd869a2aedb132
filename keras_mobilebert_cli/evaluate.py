"""`keras-mobilebert evaluate`: a saved classifier on a labelled file.

MODEL is a classifier preset folder or a `.tflite` file (with metadata,
or `--tokenizer` naming the preset it came from); both are scored by the
same code (`keras_mobilebert.finetune.text_scoring`): accuracy, macro-F1,
per-class precision / recall / F1 / support and the confusion matrix.

Example:
```
keras-mobilebert evaluate runs/tickets/classifier_int8.tflite \
    --data test.csv --text-column message --label-column team
```
"""

import json

from keras_mobilebert_cli.text_file_options import add_column_arguments
from keras_mobilebert_cli.text_file_options import add_model_arguments


def register(subparsers):
    """Add the `evaluate` subcommand to an argparse `subparsers` object.

    Example:
    ```python
    parser = argparse.ArgumentParser(prog="keras-mobilebert")
    register(parser.add_subparsers(dest="command"))
    ```
    """
    parser = subparsers.add_parser(
        "evaluate",
        help="score a preset or .tflite classifier on a labelled file",
        description=__doc__.split("\n\n")[1],
    )
    add_model_arguments(parser)
    parser.add_argument(
        "--data", required=True, help="labelled CSV, TSV or JSON Lines file"
    )
    add_column_arguments(parser)
    parser.add_argument(
        "--output",
        help="write the report as JSON here (and a confusion-matrix PNG "
        "beside it)",
    )
    parser.set_defaults(func=run)
    return parser


def run(args):
    """Evaluate MODEL on --data; print the per-class report.

    Example:
    ```python
    run(parser.parse_args(["evaluate", "preset", "--data", "test.csv"]))
    ```
    """
    import pathlib

    from keras_mobilebert.distillation.plotting import plot_confusion_matrix
    from keras_mobilebert.finetune import evaluate_text_file
    from keras_mobilebert.metrics.classification import format_report
    from keras_mobilebert.utils.files import atomic_path

    report = evaluate_text_file(
        args.model,
        args.data,
        text_column=args.text_column or "text",
        label_column=args.label_column or "label",
        second_text_column=args.second_text_column,
        format=args.format,
        tokenizer=args.tokenizer,
    )
    print(format_report(report, f"{args.model} on {args.data}:"))
    if args.output:
        path = pathlib.Path(args.output)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(report, indent=2))
        plot_confusion_matrix(
            report["confusion_matrix"],
            report["label_names"],
            path.with_suffix(".png"),
            title=f"accuracy {report['accuracy']:.3f}",
        )
        print(f"wrote {path} and {path.with_suffix('.png')}")
    return 0
