"""The `keras-mobilebert distill-task` subcommand.

Task-specific distillation: a fine-tuned teacher classifier labels the
training text of a GLUE task or of your own labelled file (`--train`),
and augmented or unlabelled in-domain text, once,
and a MobileBERT student learns its logits at a temperature, resumably;
the student is saved as a preset and exported to a verified int8 LiteRT
file. Run the same command again after an interruption (even `kill -9`)
and it continues where it was.

Example:
```
keras-mobilebert distill-task --task sst2 --data glue_data/SST-2 \
    --teacher minilm_l6 --augment-copies 1 --output-dir runs/sst2_kd
```
"""

import json
import pathlib

from keras_mobilebert_cli.distribute_options import add_distribute_arguments
from keras_mobilebert_cli.distribute_options import run_in_cluster
from keras_mobilebert_cli.distribute_options import set_cluster_timeout
from keras_mobilebert_cli.text_file_options import add_text_file_arguments
from keras_mobilebert_cli.text_file_options import text_file_overrides

# Options that set a top-level config field (dest -> field).
TOP_LEVEL = {
    "task": "task",
    "data": "data",
    "eval_split": "eval_split",
    "teacher": "teacher",
    "student": "preset",
    "init": "init",
    "student_overrides": "backbone_overrides",
    "sequence_length": "sequence_length",
    "batch_size": "batch_size",
    "train_steps": "train_steps",
    "learning_rate": "learning_rate",
    "temperature": "temperature",
    "hard_label_weight": "hard_label_weight",
    "layerwise_weight": "layerwise_weight",
    "unlabelled_text": "unlabelled_text",
    "max_train_examples": "max_train_examples",
    "seed": "seed",
    "checkpoint_every": "checkpoint_every",
    "distribute": "distribute",
}
# Options that set a field of a nested setting: dest -> (setting, field).
NESTED = {
    "teacher_steps": ("teacher_finetune", "steps"),
    "teacher_learning_rate": ("teacher_finetune", "learning_rate"),
    "teacher_max_train_examples": ("teacher_finetune", "max_train_examples"),
    "augment_copies": ("augmentation", "copies"),
    "augment_max_sources": ("augmentation", "max_sources"),
    "augment_min_words": ("augmentation", "min_words"),
}


def register(subparsers):
    """Add the `distill-task` subparser to a `keras-mobilebert` CLI.

    Example:
    ```python
    parser = argparse.ArgumentParser(prog="keras-mobilebert")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["distill-task", "--task", "rte"])
    ```
    """
    parser = subparsers.add_parser(
        "distill-task",
        help="Distil a fine-tuned teacher into a MobileBERT student on a "
        "GLUE task (resumable).",
        description=__doc__.split("\n\n")[1],
    )
    parser.add_argument(
        "--config",
        help="JSON config (default: the embedded SST-2 one; see "
        "keras_mobilebert/configs/distill_task_sst2.json)",
    )
    parser.add_argument(
        "--output-dir", help="run directory (default runs/distill_<task>)"
    )
    parser.add_argument("--task", help="a GLUE task, e.g. sst2, rte, stsb")
    parser.add_argument(
        "--data",
        help="the task's files: its folder, GLUE's data folder, a task .zip "
        "or a URL (default: GLUE's own download)",
    )
    parser.add_argument("--eval-split")
    parser.add_argument(
        "--teacher",
        help="a fine-tuned classifier preset directory, or a backbone to "
        "fine-tune first: 'minilm_l6' (the default), a BERT or MobileBERT "
        "backbone preset, a Hugging Face BERT snapshot",
    )
    parser.add_argument("--teacher-steps", type=int)
    parser.add_argument("--teacher-learning-rate", type=float)
    parser.add_argument("--teacher-max-train-examples", type=int)
    parser.add_argument(
        "--student", help="student architecture and tokenizer (a preset)"
    )
    parser.add_argument(
        "--init",
        help="student start: random, teacher_word_table (default), "
        "pretrained, or a preset directory (e.g. a `distill` student)",
    )
    parser.add_argument(
        "--student-overrides",
        type=json.loads,
        help="JSON of backbone fields, e.g. '{\"num_layers\": 4}'",
    )
    parser.add_argument("--sequence-length", type=int)
    parser.add_argument("--batch-size", type=int, help="global batch size")
    parser.add_argument("--train-steps", type=int)
    parser.add_argument("--learning-rate", type=float)
    parser.add_argument("--temperature", type=float)
    parser.add_argument(
        "--hard-label-weight",
        type=float,
        help="weight of the gold labels beside the teacher's (0 to 1)",
    )
    parser.add_argument(
        "--layerwise",
        action="store_true",
        default=None,
        help="add MobileBERT's layer-wise losses (the teacher runs every step)",
    )
    parser.add_argument("--layerwise-weight", type=float)
    parser.add_argument(
        "--augment-copies",
        type=int,
        help="augmented texts per training example (0: none)",
    )
    parser.add_argument(
        "--augment-max-sources",
        type=int,
        help="augment a seeded subset of this many training examples",
    )
    parser.add_argument(
        "--augment-min-words",
        type=int,
        help="augment only training examples of at least this many words "
        "(SST-2: dev sentences are longer than most training phrases)",
    )
    parser.add_argument(
        "--unlabelled-text",
        help="a file of in-domain text, one example per line (pairs: two "
        "tab-separated fields), labelled by the teacher",
    )
    parser.add_argument("--max-train-examples", type=int)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--checkpoint-every", type=int)
    add_distribute_arguments(parser)
    parser.add_argument(
        "--no-export", action="store_true", help="skip the LiteRT export"
    )
    add_text_file_arguments(parser)
    parser.set_defaults(func=run)
    return parser


def config_overrides(args):
    """`(top-level fields, nested fields)` the options set."""
    top = {
        field: getattr(args, dest)
        for dest, field in TOP_LEVEL.items()
        if getattr(args, dest) is not None
    }
    if args.layerwise:
        top["layerwise"] = True
    nested = {
        key: getattr(args, dest)
        for dest, key in NESTED.items()
        if getattr(args, dest) is not None
    }
    return top, nested


def run(args):
    """Run task distillation with the command's options; return results.

    Example:
    ```python
    run(parser.parse_args(["distill-task", "--task", "sst2"]))
    ```
    """
    from keras_mobilebert.finetune import load_config
    from keras_mobilebert.finetune import run_finetune
    from keras_mobilebert.finetune.task_distillation import DEFAULT_CONFIG
    from keras_mobilebert.utils.errors import ConfigError

    top, nested = config_overrides(args)
    top.update(text_file_overrides(args))
    config = load_config(args.config or DEFAULT_CONFIG, **top)
    if config["job"] != "distill_task":
        raise ConfigError(
            f"{args.config} is a {config['job']!r} config; distill-task "
            "runs configs whose job is 'distill_task'."
        )
    for (setting, field), value in nested.items():
        config[setting][field] = value
    if args.no_export:
        config["export"] = None
    name = config["task"] or pathlib.Path(args.train or "file").stem
    output = args.output_dir or f"runs/distill_{name}"
    set_cluster_timeout(config, args)
    results = run_in_cluster(run_finetune, config, output)
    summary = {
        "output_dir": output,
        "teacher": results["teacher_metrics"],
        "student": results["metrics"],
        "teacher_agreement": results["teacher_agreement"],
    }
    if results["export"] and "tflite_metrics" in results["export"]:
        summary["litert"] = results["export"]["tflite_metrics"]
    if "baseline" in results:
        summary["tfidf_baseline"] = results["baseline"]
    print(json.dumps(summary, indent=1))
    return 0
