"""The options naming a user's labelled file, shared by the subcommands.

`finetune` and `distill-task` train on `--train FILE`; `evaluate` and
`predict` score `--data FILE`. The columns are named the same way in all
four (`keras_mobilebert.data.labeled_text`).
"""

# keras_mobilebert.finetune.text_file.CLASS_WEIGHTS
CLASS_WEIGHTS = ("none", "balanced")
FORMATS = ("csv", "tsv", "jsonl")


def add_column_arguments(group, label=True):
    """`--text-column`, `--second-text-column`, `--label-column`,
    `--format` on an argparse group."""
    group.add_argument(
        "--text-column", help="the column of the text (default: text)"
    )
    group.add_argument(
        "--second-text-column",
        help="the column of a pair's second text (sentence-pair tasks)",
    )
    if label:
        group.add_argument(
            "--label-column",
            help="the column of the class name (default: label)",
        )
    group.add_argument(
        "--format",
        choices=FORMATS,
        help="the file's format (default: by extension: .csv, .tsv, .jsonl)",
    )


def add_model_arguments(parser):
    """MODEL (a preset folder or `.tflite`) and `--tokenizer`, as
    `evaluate` and `predict` take them."""
    parser.add_argument("model", help="classifier preset folder or .tflite")
    parser.add_argument(
        "--tokenizer",
        help="for a .tflite without metadata: the preset it came from",
    )


def add_text_file_arguments(parser):
    """The training-file options of `finetune` and `distill-task`.

    Example:
    ```python
    add_text_file_arguments(parser)
    ```
    """
    group = parser.add_argument_group(
        "your own labelled file (CSV, TSV or JSON Lines with a header)"
    )
    group.add_argument(
        "--train",
        help="labelled training file: train on it instead of a GLUE task",
    )
    group.add_argument("--validation", help="labelled validation file")
    group.add_argument(
        "--validation-fraction",
        type=float,
        help="without --validation, hold out this fraction of each class "
        "of --train (seeded; default 0.2)",
    )
    add_column_arguments(group)
    group.add_argument(
        "--class-weight",
        choices=CLASS_WEIGHTS,
        help="balanced: weigh each class's loss by n / (k * count)",
    )


def text_file_overrides(args):
    """The config fields the file options set (`text_file`,
    `class_weight`); `{}` without `--train`."""
    if not args.train:
        if args.validation:
            raise SystemExit("--validation needs --train.")
        return {}
    given = {
        "train": args.train,
        "validation": args.validation,
        "validation_fraction": args.validation_fraction,
        "text_column": args.text_column,
        "label_column": args.label_column,
        "second_text_column": args.second_text_column,
        "format": args.format,
    }
    overrides = {"text_file": {k: v for k, v in given.items() if v}}
    if args.class_weight:
        overrides["class_weight"] = args.class_weight
    return overrides
