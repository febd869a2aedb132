"""The classification job: fine-tune, evaluate, save, reload, export.

The main job (`keras-mobilebert finetune`, README's first command) runs it
on the embedded default configuration `DEFAULT_CONFIG`
(`keras_mobilebert/configs/finetune_rotten_tomatoes.json`): fine-tune a
classifier of a preset's architecture, evaluate on the held-out split,
predict a few sentences, save a KerasHub preset, reload it, then export it
to a verified int8 LiteRT file and score that file on the held-out split.
`recipes/finetune_classifier.py` walks through the same steps.

The config's `distribute` (default `"none"`) names the `tf.distribute`
strategy; under `multi_worker_mirrored` the `batch_size` is the global
batch, each worker reads its part of every batch (`tf.data` auto-sharding
by data), and only the chief writes the output directory
(`utils.distribute.job_output_dir`, `ChiefBackupAndRestore`).
"""

import json
import pathlib

import keras
import numpy as np

from keras_mobilebert.finetune.classifier_export import check_export_config
from keras_mobilebert.finetune.classifier_export import export_classifier
from keras_mobilebert.finetune.datasets import DATASETS
from keras_mobilebert.finetune.datasets import load_data
from keras_mobilebert.finetune.datasets import subsample
from keras_mobilebert.finetune.datasets import text_dataset
from keras_mobilebert.finetune.optimizer import finetuning_optimizer
from keras_mobilebert.finetune.phase_timer import PhaseTimer
from keras_mobilebert.finetune.starting_point import check_vocabulary
from keras_mobilebert.finetune.starting_point import starting_backbone
from keras_mobilebert.finetune.starting_point import starting_tokenizer
from keras_mobilebert.models.mobilebert.mobilebert_text_classifier import (
    MobileBertClassifier,
)
from keras_mobilebert.models.mobilebert.mobilebert_text_classifier_preprocessor import (  # noqa: E501
    MobileBertTextClassifierPreprocessor,
)
from keras_mobilebert.models.preset_writer import save_preset
from keras_mobilebert.utils.distribute import ChiefBackupAndRestore
from keras_mobilebert.utils.distribute import check_strategy_name
from keras_mobilebert.utils.distribute import config_strategy
from keras_mobilebert.utils.distribute import fit_under_multi_worker
from keras_mobilebert.utils.distribute import job_output_dir
from keras_mobilebert.utils.errors import ConfigError
from keras_mobilebert.utils.files import atomic_path

DEFAULT_CONFIG = (
    pathlib.Path(__file__).parent.parent
    / "configs"
    / "finetune_rotten_tomatoes.json"
)
# Fields a config may leave out; `complete_config` fills them from the
# embedded default (configs written before the export step existed still
# run, and export).
OPTIONAL_FIELDS = ("export", "init", "distribute", "classifier_dropout")


def complete_config(config, default):
    """Fill the optional fields a config left out, then check the values.

    Args:
        config: dict read from a config file, overrides applied (changed in
            place).
        default: dict, the embedded default config.

    Example:
    ```python
    complete_config(config, json.loads(DEFAULT_CONFIG.read_text()))
    ```
    """
    if config["dataset"] not in DATASETS:
        raise ConfigError(
            f"Unknown dataset {config['dataset']!r}; known: {sorted(DATASETS)}."
        )
    config.setdefault("export", default["export"])
    config.setdefault("init", "random")
    config.setdefault("distribute", default["distribute"])
    config.setdefault("classifier_dropout", default["classifier_dropout"])
    check_strategy_name(config["distribute"])
    check_classifier_dropout(config["classifier_dropout"])
    check_export_config(config["export"])


def check_classifier_dropout(rate):
    """Raise a `ConfigError` unless `rate` is a number in [0, 1).

    `classifier_dropout` is the dropout rate before the classifier's
    output layer (`MobileBertClassifier(dropout=...)`). Dropout masks are
    drawn per replica, so only a run without dropout (0, with the
    backbone's `attention_dropout` 0 too) takes the very steps of a
    one-process run on several workers (docs/distributed.md).

    Example:
    ```python
    check_classifier_dropout(0.1)
    ```
    """
    if (
        isinstance(rate, bool)
        or not isinstance(rate, (int, float))
        or not 0 <= rate < 1
    ):
        raise ConfigError(
            f"classifier_dropout must be a number in [0, 1), got {rate!r}."
        )


def build_classifier(config, num_classes):
    """A classifier on the backbone the config's `init` names.

    `init` (default `"random"`) is read by `starting_point`: the preset's
    architecture with random weights, its released weights, or a preset
    directory (a distilled student, a converted checkpoint).

    Args:
        config: dict from `load_config`.
        num_classes: int.

    Example:
    ```python
    classifier = build_classifier(load_config(), num_classes=2)
    ```
    """
    keras.utils.set_random_seed(config["seed"])
    init = config.get("init", "random")
    backbone = starting_backbone(
        config["preset"], init, config["backbone_overrides"]
    )
    tokenizer = starting_tokenizer(config["preset"], init)
    check_vocabulary(backbone, tokenizer, init)
    preprocessor = MobileBertTextClassifierPreprocessor(
        tokenizer, sequence_length=config["sequence_length"]
    )
    # Configs made by code rather than `load_config` may lack the field.
    dropout = {}
    if "classifier_dropout" in config:
        dropout["dropout"] = config["classifier_dropout"]
    return MobileBertClassifier(
        backbone=backbone,
        num_classes=num_classes,
        preprocessor=preprocessor,
        **dropout,
    )


def compile_for_finetuning(classifier, config, steps):
    """AdamW with linear warmup then cosine decay, BERT-style."""
    classifier.compile(
        optimizer=finetuning_optimizer(
            config["learning_rate"], config["warmup_fraction"], steps
        ),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )


def run_classification(config, output_dir, log=print):
    """Run the main job and return its results.

    Fine-tunes, evaluates on the held-out split, predicts the config's
    example sentences, saves a preset to `output_dir/preset`, reloads it and
    checks the reloaded model predicts the same logits; then, unless the
    config's `export` is None, exports the reloaded classifier with
    `export_classifier` (by default a verified int8 `.tflite` with
    metadata, scored on the held-out split). Training state is backed up in
    `output_dir/backup` each epoch, so a killed run started again with the
    same command resumes from the last finished epoch.

    Args:
        config: dict from `load_config`.
        output_dir: directory for the preset, backups, the `.tflite` file
            and `results.json`. Under a multi-worker strategy (the
            config's `distribute`) only the chief writes it; every worker
            restores the chief's backup, and the others write their
            (identical) outputs to a temporary folder, removed at the
            end.
        log: callable taking one string.

    Returns:
        A dict with accuracy, the export's figures, timings per phase and
        predictions.

    Example:
    ```python
    results = run_classification(load_config(epochs=1), "runs/demo")
    ```
    """
    strategy = config_strategy(config)
    with job_output_dir(strategy, output_dir) as own_dir:
        return _run_classification(
            config, strategy, pathlib.Path(output_dir), own_dir, log
        )


def _run_classification(config, strategy, shared_dir, output_dir, log):
    timer = PhaseTimer(log)
    (train_x, train_y), (test_x, test_y), label_names = load_data(config)
    limit = config.get("max_train_examples")
    if limit:
        train_x, train_y = subsample(train_x, train_y, limit, config["seed"])
    log(
        f"data: {config['dataset']}, {len(train_x)} train / {len(test_x)} "
        "test sentences"
    )
    with strategy.scope():
        classifier = build_classifier(config, num_classes=len(label_names))
    log(
        f"model: {config['preset']} architecture with "
        f"{config['backbone_overrides']}, "
        f"{classifier.backbone.count_params():,} backbone parameters, "
        f"init {config['init']}"
    )
    train_ds = text_dataset(
        train_x, train_y, config["batch_size"], shuffle_seed=config["seed"]
    )
    test_ds = text_dataset(test_x, test_y, config["batch_size"])
    steps = config["epochs"] * int(train_ds.cardinality())
    with strategy.scope():
        compile_for_finetuning(classifier, config, steps)
    fit_under_multi_worker(classifier)
    timer.done("data and model")
    classifier.fit(
        train_ds,
        epochs=config["epochs"],
        callbacks=[ChiefBackupAndRestore(shared_dir / "backup", strategy)],
        shuffle=False,  # The dataset reshuffles itself each epoch.
        verbose=2,
    )
    timer.done("training")
    _, accuracy = classifier.evaluate(test_ds, verbose=0)
    log(f"held-out accuracy: {accuracy:.4f} on {len(test_x)} sentences")

    sentences = config["example_sentences"]
    logits = classifier.predict(sentences, verbose=0)
    probabilities = keras.ops.convert_to_numpy(keras.ops.softmax(logits))
    predictions = []
    for sentence, p in zip(sentences, probabilities):
        label = label_names[int(np.argmax(p))]
        predictions.append(
            {"text": sentence, "label": label, "p": float(p.max())}
        )
        log(f"  {label:>8} ({p.max():.2f})  {sentence}")
    timer.done("evaluation")

    preset_dir = save_preset(classifier, output_dir / "preset")
    # Reloaded for inference only (compile=False); the preset holds no
    # optimizer state (models/preset_writer.py).
    reloaded = MobileBertClassifier.from_preset(str(preset_dir), compile=False)
    reloaded_logits = reloaded.predict(sentences, verbose=0)
    max_diff = float(np.max(np.abs(reloaded_logits - logits)))
    if max_diff > 1e-5:
        raise RuntimeError(
            f"The reloaded preset predicts differently (max |diff| "
            f"{max_diff:.3g}); the saved preset in {preset_dir} is not usable."
        )
    log(f"saved preset to {preset_dir}; reloaded, max |diff| {max_diff:.2g}")
    timer.done("save and reload")
    export = None
    if config["export"]:
        # The reloaded preset is what a user exports later, so the file is
        # checked against it.
        export = export_classifier(
            reloaded,
            config["export"],
            train_x,
            test_x,
            test_y,
            label_names,
            output_dir,
            log=log,
        )
        timer.done("export")
    results = {
        "accuracy": float(accuracy),
        "test_size": len(test_x),
        "export": export,
        "train_seconds": timer.phases["training"],
        "total_seconds": timer.total(),
        "phase_seconds": timer.phases,
        "preset_dir": str(preset_dir),
        "predictions": predictions,
        "config": config,
    }
    with atomic_path(output_dir / "results.json") as tmp:
        tmp.write_text(json.dumps(results, indent=2))
    summary = f"accuracy {accuracy:.4f}"
    if export and "path" in export:
        summary += (
            f"; {export['quantization']} LiteRT {export['path']}: "
            f"accuracy {export['tflite_accuracy']:.4f}, same label as "
            f"Keras on {export['heldout_label_agreement']:.2%}, "
            f"{export['size_bytes'] / 2**20:.2f} MiB"
        )
    log(
        f"{summary}; total time {results['total_seconds']} s "
        f"(training {results['train_seconds']} s)"
    )
    return results
