"""Fine-tune a MobileBERT classifier: the building blocks of the main job.

The main job (`keras-mobilebert finetune`, README's first command) runs
`run_finetune` on the embedded default configuration
`keras_mobilebert/configs/finetune_rotten_tomatoes.json`: fine-tune, evaluate
on the held-out split, predict a few sentences, save a KerasHub preset,
reload it, then export it to a verified int8 LiteRT file and score that file
on the held-out split. `recipes/finetune_classifier.py` walks through the
same steps.
"""

import json
import pathlib
import time

import keras
import numpy as np
import tensorflow as tf

from keras_mobilebert.data.rotten_tomatoes import LABEL_NAMES
from keras_mobilebert.data.rotten_tomatoes import load_rotten_tomatoes
from keras_mobilebert.export import QUANTIZATIONS
from keras_mobilebert.export import export_and_verify
from keras_mobilebert.export.metadata import metadata_schema
from keras_mobilebert.models.mobilebert.mobilebert_backbone import (
    MobileBertBackbone,
)
from keras_mobilebert.models.mobilebert.mobilebert_text_classifier import (
    MobileBertClassifier,
)
from keras_mobilebert.models.mobilebert.mobilebert_text_classifier_preprocessor import (  # noqa: E501
    MobileBertTextClassifierPreprocessor,
)
from keras_mobilebert.models.preset_writer import save_preset
from keras_mobilebert.utils.files import atomic_path

DEFAULT_CONFIG = (
    pathlib.Path(__file__).parent / "configs" / "finetune_rotten_tomatoes.json"
)
DATASETS = {"rotten_tomatoes": (load_rotten_tomatoes, LABEL_NAMES)}
# Fields a config may leave out; the embedded default's value applies
# (configs written before the export step existed still run, and export).
OPTIONAL_FIELDS = ("description", "export")
EXPORT_FIELDS = ("quantization", "num_representative", "metadata")


def load_config(path=None, **overrides):
    """Read a fine-tuning config (JSON) and apply overrides.

    Args:
        path: path of the JSON file; None for the embedded default.
        **overrides: top-level fields to replace (None values are ignored).

    Example:
    ```python
    config = load_config(epochs=1)
    ```
    """
    required = json.loads(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    path = DEFAULT_CONFIG if path is None else pathlib.Path(path)
    config = json.loads(path.read_text(encoding="utf-8"))
    missing = set(required) - set(config) - set(OPTIONAL_FIELDS)
    if missing:
        raise ValueError(
            f"Config {path} lacks the fields {sorted(missing)}; see "
            f"{DEFAULT_CONFIG} for a complete one."
        )
    unknown = set(overrides) - set(required)
    if unknown:
        raise ValueError(
            f"Unknown config fields {sorted(unknown)}; known: "
            f"{sorted(required)}."
        )
    config.update({k: v for k, v in overrides.items() if v is not None})
    if config["dataset"] not in DATASETS:
        raise ValueError(
            f"Unknown dataset {config['dataset']!r}; known: {sorted(DATASETS)}."
        )
    config.setdefault("export", required["export"])
    _check_export_config(config["export"])
    return config


def _check_export_config(export):
    if export is None:
        return
    unknown = set(export) - set(EXPORT_FIELDS)
    if unknown:
        raise ValueError(
            f"Unknown export fields {sorted(unknown)}; known: "
            f'{list(EXPORT_FIELDS)} (or "export": null to skip it).'
        )
    # qat_int8 needs a quantization-aware model: recipes/qat_and_export.py.
    modes = [q for q in QUANTIZATIONS if q != "qat_int8"]
    if export.get("quantization") not in modes:
        raise ValueError(
            f"Unknown export quantization {export.get('quantization')!r}; "
            f"expected one of {modes}."
        )


def load_data(config):
    """`((train_texts, train_labels), (test_texts, test_labels), names)`."""
    loader, label_names = DATASETS[config["dataset"]]
    kwargs = {
        "test_fraction": config["test_fraction"],
        "seed": config["split_seed"],
    }
    return loader("train", **kwargs), loader("test", **kwargs), label_names


def build_classifier(config, num_classes):
    """A randomly initialized classifier of the config's preset architecture.

    Args:
        config: dict from `load_config`.
        num_classes: int.

    Example:
    ```python
    classifier = build_classifier(load_config(), num_classes=2)
    ```
    """
    keras.utils.set_random_seed(config["seed"])
    backbone = MobileBertBackbone.from_preset(
        config["preset"], load_weights=False, **config["backbone_overrides"]
    )
    preprocessor = MobileBertTextClassifierPreprocessor.from_preset(
        config["preset"], sequence_length=config["sequence_length"]
    )
    return MobileBertClassifier(
        backbone=backbone, num_classes=num_classes, preprocessor=preprocessor
    )


def text_dataset(texts, labels, batch_size, shuffle_seed=None):
    """A batched `tf.data.Dataset` of `(text, label)`, reshuffled per epoch."""
    ds = tf.data.Dataset.from_tensor_slices((list(texts), np.asarray(labels)))
    if shuffle_seed is not None:
        ds = ds.shuffle(len(texts), seed=shuffle_seed)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def compile_for_finetuning(classifier, config, steps):
    """AdamW with linear warmup then cosine decay, BERT-style."""
    warmup = max(1, int(steps * config["warmup_fraction"]))
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0,
        decay_steps=max(1, steps - warmup),
        warmup_target=config["learning_rate"],
        warmup_steps=warmup,
    )
    classifier.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=0.01),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )


def export_classifier(
    classifier,
    export,
    train_texts,
    test_texts,
    test_labels,
    label_names,
    output_dir,
    log=print,
):
    """Export a fine-tuned classifier to a verified LiteRT file and score it.

    Writes `output_dir/classifier_<quantization>.tflite` through
    `keras_mobilebert.export.export_and_verify`: full-integer int8 is
    calibrated on the first training texts, the file is compared with the
    Keras model before it is moved into place (outside tolerance it is a
    `VerificationError` and nothing is written), then both run on all
    held-out texts. With `metadata`, the labels and WordPiece vocabulary
    are packed in, so MediaPipe's `TextClassifier` takes raw strings.

    Args:
        classifier: a fine-tuned `MobileBertClassifier`.
        export: dict, the config's `export` field (`quantization`,
            `num_representative`, `metadata`).
        train_texts: list of strings calibrating int8 ranges.
        test_texts: list of held-out strings.
        test_labels: int array of held-out labels.
        label_names: list of class names (the metadata labels).
        output_dir: directory of the `.tflite` file.
        log: callable taking one string.

    Returns:
        The dict of `export_and_verify`, plus `metadata` (bool) and, when
        something was skipped, `skipped` (why).

    Example:
    ```python
    report = export_classifier(
        classifier, {"quantization": "int8"}, train_x, test_x, test_y,
        ["negative", "positive"], "runs/demo",
    )
    ```
    """
    quantization = export["quantization"]
    try:
        import ai_edge_litert  # noqa: F401
    except ImportError:
        # Without the LiteRT interpreter the file cannot be verified, and
        # an unverified file is never delivered.
        reason = (
            "the export is verified with the LiteRT interpreter: pip install "
            "'keras-mobilebert[litert]' (ai-edge-litert)"
        )
        log(f"export skipped: {reason}")
        return {"quantization": quantization, "skipped": reason}
    metadata = bool(export.get("metadata", True))
    report = {}
    if metadata:
        try:
            metadata_schema()
        except ImportError:
            metadata = False
            report["skipped"] = (
                "metadata: writing it needs MediaPipe's schema, pip install "
                "'keras-mobilebert[metadata]'"
            )
            log(f"writing the file without {report['skipped']}")
    count = export.get("num_representative", 200)
    report.update(
        export_and_verify(
            classifier,
            pathlib.Path(output_dir) / f"classifier_{quantization}.tflite",
            quantization,
            list(train_texts[:count]),
            list(test_texts),
            test_labels,
            num_representative=count,
            labels=list(label_names) if metadata else None,
            log=log,
        )
    )
    report["metadata"] = metadata
    return report


def run_finetune(config, output_dir, log=print):
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
            and `results.json`.
        log: callable taking one string.

    Returns:
        A dict with accuracy, the export's figures, timings per phase and
        predictions.

    Example:
    ```python
    results = run_finetune(load_config(epochs=1), "runs/demo")
    ```
    """
    start = time.perf_counter()
    phases = {}
    phase_start = [start]

    def phase_done(name):
        now = time.perf_counter()
        phases[name] = round(now - phase_start[0], 1)
        phase_start[0] = now
        log(f"[{name}: {phases[name]} s]")

    output_dir = pathlib.Path(output_dir)
    (train_x, train_y), (test_x, test_y), label_names = load_data(config)
    limit = config.get("max_train_examples")
    if limit:
        # The split is sorted by index; sample across it so both classes stay.
        keep = np.random.RandomState(config["seed"]).permutation(len(train_x))
        keep = np.sort(keep[:limit])
        train_x, train_y = [train_x[i] for i in keep], train_y[keep]
    log(
        f"data: {config['dataset']}, {len(train_x)} train / {len(test_x)} "
        "test sentences"
    )
    classifier = build_classifier(config, num_classes=len(label_names))
    log(
        f"model: {config['preset']} architecture with "
        f"{config['backbone_overrides']}, "
        f"{classifier.backbone.count_params():,} backbone parameters, "
        "random initialization"
    )
    train_ds = text_dataset(
        train_x, train_y, config["batch_size"], shuffle_seed=config["seed"]
    )
    test_ds = text_dataset(test_x, test_y, config["batch_size"])
    steps = config["epochs"] * int(train_ds.cardinality())
    compile_for_finetuning(classifier, config, steps)
    phase_done("data and model")
    classifier.fit(
        train_ds,
        epochs=config["epochs"],
        callbacks=[
            keras.callbacks.BackupAndRestore(str(output_dir / "backup"))
        ],
        shuffle=False,  # The dataset reshuffles itself each epoch.
        verbose=2,
    )
    phase_done("training")
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
    phase_done("evaluation")

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
    phase_done("save and reload")
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
        phase_done("export")
    results = {
        "accuracy": float(accuracy),
        "test_size": len(test_x),
        "export": export,
        "train_seconds": phases["training"],
        "total_seconds": round(time.perf_counter() - start, 1),
        "phase_seconds": phases,
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
