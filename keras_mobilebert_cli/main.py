"""The `keras-mobilebert` command: the parser and the entry point.

Subcommands:
    info       versions of the stack and the built-in presets
    finetune   the main job: fine-tune, evaluate, predict, save, reload, export
    finetune-squad  the SQuAD job: fine-tune, evaluate (EM/F1), save, export
    convert    Hugging Face / TF1 checkpoints to KerasHub presets, and back
    prepare-corpus  text files to sharded TFRecords of tokenized
               documents (Apache Beam; the `corpus` extra)
    distill    layer-wise knowledge transfer from a teacher to a student
    distill-task  task distillation: a fine-tuned teacher's logits
               teach a student on a GLUE task or your labelled file
    export     a classifier, masked LM or backbone to a verified .tflite
    benchmark  LiteRT and Keras latency side by side
    evaluate   a preset or .tflite classifier on a labelled file
    predict    labels of texts from a preset or .tflite classifier
"""

import argparse
import gc
import sys

from keras_mobilebert_cli import benchmark
from keras_mobilebert_cli import convert
from keras_mobilebert_cli import distill
from keras_mobilebert_cli import distill_task
from keras_mobilebert_cli import evaluate
from keras_mobilebert_cli import export
from keras_mobilebert_cli import finetune
from keras_mobilebert_cli import finetune_squad
from keras_mobilebert_cli import info
from keras_mobilebert_cli import predict
from keras_mobilebert_cli import prepare_corpus
from keras_mobilebert_cli.errors import DEBUG_ENV
from keras_mobilebert_cli.errors import run_reporting_errors
from keras_mobilebert_cli.startup import start_library

SUBCOMMANDS = (
    info,
    finetune,
    finetune_squad,
    convert,
    prepare_corpus,
    distill,
    distill_task,
    export,
    benchmark,
    evaluate,
    predict,
)


def build_parser():
    """The argparse parser of `keras-mobilebert` (no TensorFlow import).

    Example:
    ```python
    args = build_parser().parse_args(["info"])
    ```
    """
    parser = argparse.ArgumentParser(
        prog="keras-mobilebert",
        description=(
            "MobileBERT for Keras 3: fine-tune, convert, distil, export, "
            "benchmark, inspect presets."
        ),
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show the traceback of an error about the input too (or set "
        f"{DEBUG_ENV}=1)",
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for command in SUBCOMMANDS:
        command.register(subparsers)
    return parser


def main(argv=None):
    """Entry point of the `keras-mobilebert` console script.

    Parses `argv` (default `sys.argv[1:]`), starts TensorFlow and the
    library quietly, runs the subcommand and returns its exit status. An
    error about the input (a bad data file, config, checkpoint or preset,
    a missing extra, an unreachable URL) is one line,
    `keras-mobilebert <command>: error: <message>`, with status 2; a bug
    keeps its traceback (see `errors.py`; `--debug` shows it for input
    errors too).

    Example:
    ```python
    main(["info"])
    ```
    """
    parser = build_parser()
    # `prepare-corpus` passes the options it does not know to Apache Beam
    # (`--runner`, `--project`, ...), as Beam's own examples do; every
    # other subcommand refuses them.
    args, unknown = parser.parse_known_args(argv)
    if getattr(args, "pass_unknown_options", False):
        args.unknown_options = unknown
    elif unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    status = run_reporting_errors(
        f"keras-mobilebert {args.command}",
        _start_and_run,
        args,
        debug=args.debug,
    )
    # After a conversion or training the heap holds a large graph of
    # TensorFlow objects, and CPython's last full collection at exit can
    # take minutes. The command's files are written: freeze the heap so
    # the exit skips that collection.
    gc.freeze()
    return status if isinstance(status, int) else 0


def _start_and_run(args):
    start_library()
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
