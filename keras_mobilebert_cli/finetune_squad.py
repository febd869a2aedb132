"""`keras-mobilebert finetune-squad`: the SQuAD job (`finetune.squad`).

Fine-tune a MobileBERT question answerer on SQuAD-format data, evaluate it
on a dev file with the official metric, save it as a KerasHub preset and
reload it, then export a verified int8 .tflite (config field export; null
or --no-export skips it). A killed run started again with the same command
continues from its last checkpoint.

Example:
```
keras-mobilebert finetune-squad --train train-v1.1.json \
    --dev dev-v1.1.json --init runs/kd/student \
    --sequence-length 256 --epochs 2 --output runs/squad
```
"""

from keras_mobilebert_cli.distribute_options import add_distribute_arguments
from keras_mobilebert_cli.distribute_options import run_in_cluster
from keras_mobilebert_cli.distribute_options import set_cluster_timeout

DEFAULT_OUTPUT = "runs/finetune_squad"


def register(subparsers):
    """Add the `finetune-squad` subcommand to an argparse `subparsers`.

    Example:
    ```python
    parser = argparse.ArgumentParser(prog="keras-mobilebert")
    register(parser.add_subparsers(dest="command"))
    ```
    """
    parser = subparsers.add_parser(
        "finetune-squad",
        help="fine-tune a question answerer on SQuAD-format data",
        description=__doc__.split("\n\n")[1],
    )
    parser.add_argument(
        "--config",
        help="JSON config of the squad job (default: embedded, "
        "keras_mobilebert/configs/finetune_squad.json)",
    )
    parser.add_argument(
        "--output",
        default=DEFAULT_OUTPUT,
        help="output directory (preset, .tflite, backup, predictions.json, "
        "results.json)",
    )
    parser.add_argument(
        "--train", help="SQuAD JSON training file or URL (default: official)"
    )
    parser.add_argument(
        "--dev", help="SQuAD JSON dev file or URL (default: official)"
    )
    parser.add_argument(
        "--init",
        help="'random', 'pretrained' or a preset directory (a distilled "
        "student, a converted checkpoint)",
    )
    parser.add_argument(
        "--preset", help="built-in preset name: architecture and tokenizer"
    )
    parser.add_argument("--epochs", type=int)
    parser.add_argument(
        "--batch-size", type=int, help="global batch, split across replicas"
    )
    parser.add_argument("--learning-rate", type=float)
    parser.add_argument("--sequence-length", type=int)
    parser.add_argument(
        "--doc-stride", type=int, help="context tokens between windows"
    )
    parser.add_argument("--max-question-length", type=int)
    parser.add_argument(
        "--num-layers", type=int, help="with --init random: backbone depth"
    )
    parser.add_argument("--max-train-examples", type=int)
    parser.add_argument("--max-dev-examples", type=int)
    parser.add_argument(
        "--checkpoint-every", type=int, help="steps between checkpoints"
    )
    add_distribute_arguments(parser)
    parser.add_argument(
        "--no-export", action="store_true", help="skip the LiteRT export"
    )
    parser.set_defaults(func=run)
    return parser


def run(args):
    """Run the SQuAD job with the command's overrides; return its results.

    Example:
    ```python
    run(parser.parse_args(["finetune-squad", "--train", "train.json"]))
    ```
    """
    from keras_mobilebert.finetune import load_config
    from keras_mobilebert.finetune import run_finetune
    from keras_mobilebert.finetune.squad import DEFAULT_CONFIG
    from keras_mobilebert.utils.errors import ConfigError

    overrides = {
        "train": args.train,
        "dev": args.dev,
        "init": args.init,
        "preset": args.preset,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "sequence_length": args.sequence_length,
        "doc_stride": args.doc_stride,
        "max_question_length": args.max_question_length,
        "max_train_examples": args.max_train_examples,
        "max_dev_examples": args.max_dev_examples,
        "checkpoint_every": args.checkpoint_every,
        "distribute": args.distribute,
    }
    config = load_config(
        args.config or DEFAULT_CONFIG,
        **{k: v for k, v in overrides.items() if v is not None},
    )
    if config["job"] != "squad":
        raise ConfigError(
            f"{args.config} is a {config['job']!r} config; finetune-squad "
            "runs squad configs (use keras-mobilebert finetune for others)."
        )
    if args.num_layers is not None:
        config["backbone_overrides"]["num_layers"] = args.num_layers
    if args.no_export:
        config["export"] = None
    set_cluster_timeout(config, args)
    return run_in_cluster(run_finetune, config, args.output)
