"""`keras-mobilebert finetune`: the main job (`keras_mobilebert.finetune`)."""


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
        default="runs/finetune_rotten_tomatoes",
        help="output directory (preset, .tflite, backups, results.json)",
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
    parser.set_defaults(func=run)
    return parser


def run(args):
    """Run the fine-tuning job of a config, with the command's overrides.

    Example:
    ```python
    run(parser.parse_args(["finetune", "--epochs", "1"]))
    ```
    """
    from keras_mobilebert.finetune import load_config
    from keras_mobilebert.finetune import run_finetune

    config = load_config(
        args.config,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        sequence_length=args.sequence_length,
    )
    if args.num_layers is not None:
        config["backbone_overrides"]["num_layers"] = args.num_layers
    if args.max_train_examples is not None:
        config["max_train_examples"] = args.max_train_examples
    run_finetune(config, args.output)
