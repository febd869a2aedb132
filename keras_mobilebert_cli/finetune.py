"""`keras-mobilebert finetune`: the main job (`keras_mobilebert.finetune`).

Without `--config` or `--task` it runs the main job's embedded default;
`--task` (any GLUE task) runs the GLUE job's, with `--data`, `--init`,
`--preset` and `--train-steps` to change it; `--train FILE` runs the same
job on your own labelled CSV, TSV or JSON Lines file.
"""

import pathlib

from keras_mobilebert_cli.distribute_options import add_distribute_arguments
from keras_mobilebert_cli.distribute_options import run_in_cluster
from keras_mobilebert_cli.distribute_options import set_cluster_timeout
from keras_mobilebert_cli.text_file_options import add_text_file_arguments
from keras_mobilebert_cli.text_file_options import text_file_overrides

# keras_mobilebert.finetune.starting_point.INITS (a directory works too).
INITS = ("random", "pretrained", "teacher_word_table")


def register(subparsers):
    """Add the `finetune` subcommand to an argparse `subparsers` object.

    Example:
    ```python
    parser = argparse.ArgumentParser(prog="keras-mobilebert")
    register(parser.add_subparsers(dest="command"))
    ```
    """
    parser = subparsers.add_parser(
        "finetune",
        help="fine-tune a classifier on the embedded default data",
        description=(
            "Fine-tune a MobileBERT classifier, evaluate it on the held-out "
            "split, predict example sentences, save it as a KerasHub preset "
            "and reload it, then export a verified int8 .tflite and score it "
            "on the held-out split (config field export; null skips it). "
            "Without --config, uses the embedded default (Rotten Tomatoes "
            "sentences, 4-layer MobileBERT)."
        ),
    )
    parser.add_argument("--config", help="JSON config (default: embedded)")
    parser.add_argument(
        "--output",
        default=None,
        help="output directory (preset, .tflite, checkpoints, results.json; "
        "default runs/finetune_rotten_tomatoes, or runs/glue_<task>)",
    )
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--learning-rate", type=float)
    parser.add_argument("--sequence-length", type=int)
    parser.add_argument("--num-layers", type=int)
    parser.add_argument(
        "--max-train-examples",
        type=int,
        help="use only N training examples, drawn across the split (smoke "
        "runs)",
    )
    add_glue_arguments(parser)
    add_text_file_arguments(parser)
    add_distribute_arguments(parser)
    parser.set_defaults(func=run)
    return parser


def add_glue_arguments(parser):
    """The GLUE job's options (`--task` picks its embedded default)."""
    glue = parser.add_argument_group("GLUE")
    glue.add_argument(
        "--task",
        help="a GLUE task (cola, sst2, mrpc, qqp, stsb, mnli, qnli, rte, "
        "wnli): run the GLUE job on it",
    )
    glue.add_argument(
        "--data",
        help="the task's files: its folder, GLUE's data folder, a task .zip "
        "or a URL (default: GLUE's own download of the task)",
    )
    glue.add_argument(
        "--init",
        help=f"where the weights start: {', '.join(INITS)}, or a preset "
        "directory (a distilled student, a converted checkpoint)",
    )
    glue.add_argument(
        "--preset", help="architecture and tokenizer (a preset name or dir)"
    )
    glue.add_argument(
        "--train-steps", type=int, help="steps instead of --epochs"
    )
    glue.add_argument("--eval-split", help="e.g. validation_mismatched")


def glue_overrides(args):
    """The config fields the GLUE options set (None: not given)."""
    return {
        "task": args.task,
        "data": args.data,
        "init": args.init,
        "preset": args.preset,
        "train_steps": args.train_steps,
        "eval_split": args.eval_split,
    }


def run(args):
    """Run the fine-tuning job of a config, with the command's overrides.

    Example:
    ```python
    run(parser.parse_args(["finetune", "--epochs", "1"]))
    ```
    """
    from keras_mobilebert.finetune import load_config
    from keras_mobilebert.finetune import run_finetune
    from keras_mobilebert.finetune.glue import DEFAULT_CONFIG as GLUE_CONFIG

    path = args.config
    files = text_file_overrides(args)
    if path is None and (args.task or files):
        path = GLUE_CONFIG
    overrides = dict(
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        sequence_length=args.sequence_length,
        distribute=args.distribute,
        **glue_overrides(args),
        **files,
    )
    config = load_config(
        path, **{k: v for k, v in overrides.items() if v is not None}
    )
    if args.num_layers is not None:
        config["backbone_overrides"]["num_layers"] = args.num_layers
    if args.max_train_examples is not None:
        config["max_train_examples"] = args.max_train_examples
    output = args.output
    if output is None:
        output = "runs/finetune_rotten_tomatoes"
        if config.get("task"):
            output = f"runs/glue_{config['task']}"
        elif config.get("text_file"):
            stem = pathlib.Path(config["text_file"]["train"]).stem
            output = f"runs/finetune_{stem}"
    set_cluster_timeout(config, args)
    run_in_cluster(run_finetune, config, output)
