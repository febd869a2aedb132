"""The `keras-mobilebert` command.

Subcommands:
    info       versions of the stack and the built-in presets
    finetune   the main job: fine-tune, evaluate, predict, save, reload, export
    convert    Hugging Face / TF1 checkpoints to KerasHub presets, and back
    distill    layer-wise knowledge transfer from a teacher to a student
    export     a classifier, masked LM or backbone to a verified .tflite
    benchmark  LiteRT and Keras latency side by side
"""

import argparse
import gc
import os
import sys


def _quiet_tensorflow():
    # TensorFlow's C++ start-up chatter hides the job's own output.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def run_info(args):
    """Print the versions of the stack and the built-in presets."""
    import importlib.metadata

    import keras_mobilebert

    print(f"keras-mobilebert {keras_mobilebert.__version__}")
    for package in (
        "tensorflow",
        "keras",
        "keras-hub",
        "tensorflow-text",
        "tensorflow-model-optimization",
        "ai-edge-litert",
    ):
        try:
            version = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            version = "not installed"
        print(f"  {package:<30} {version}")
    print("presets:")
    for name, preset in keras_mobilebert.presets.items():
        params = preset["metadata"]["params"]
        source = preset["source"] or "architecture only"
        print(f"  {name:<28} {params:>12,} params  weights: {source}")


def run_finetune_command(args):
    """Run the fine-tuning main job with the given config and overrides."""
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


def build_parser():
    """The argparse parser of `keras-mobilebert`."""
    parser = argparse.ArgumentParser(
        prog="keras-mobilebert",
        description="MobileBERT for Keras 3: fine-tune, inspect presets.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True)

    info = subparsers.add_parser("info", help="versions and built-in presets")
    info.set_defaults(func=run_info)

    finetune = subparsers.add_parser(
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
    finetune.add_argument("--config", help="JSON config (default: embedded)")
    finetune.add_argument(
        "--output",
        default="runs/finetune_rotten_tomatoes",
        help="output directory (preset, .tflite, backups, results.json)",
    )
    finetune.add_argument("--epochs", type=int)
    finetune.add_argument("--batch-size", type=int)
    finetune.add_argument("--learning-rate", type=float)
    finetune.add_argument("--sequence-length", type=int)
    finetune.add_argument("--num-layers", type=int)
    finetune.add_argument(
        "--max-train-examples",
        type=int,
        help="use only the first N training examples (smoke runs)",
    )
    finetune.set_defaults(func=run_finetune_command)

    from keras_mobilebert.convert import command as convert_command
    from keras_mobilebert.distillation import command as distill_command
    from keras_mobilebert.export import command as export_command

    convert_command.register(subparsers)
    distill_command.register(subparsers)
    export_command.register(subparsers)
    return parser


def main(argv=None):
    """Entry point of the `keras-mobilebert` console script."""
    _quiet_tensorflow()
    args = build_parser().parse_args(argv)
    args.func(args)
    # After a conversion or training the heap holds a large graph of
    # TensorFlow objects, and CPython's last full collection at exit can
    # take minutes. The command's files are written: freeze the heap so
    # the exit skips that collection.
    gc.freeze()
    return 0


if __name__ == "__main__":
    sys.exit(main())
