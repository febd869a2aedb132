"""Fine-tuned classifier -> QAT fine-tuning -> verified int8 LiteRT files.

    python recipes/qat_and_export.py --output runs/qat_and_export

Steps:
1. A fine-tuned float classifier: `--preset DIR` loads one you have (for
   instance the main job's `runs/finetune_rotten_tomatoes/preset`);
   otherwise the main job's recipe fine-tunes one here on the Rotten
   Tomatoes sentences, with the architecture of `mobilebert_qat_en_uncased`
   (ReLU6 and GR's -6 attention mask fill, what int8 wants) and the main
   job's 4 layers.
2. Post-training int8 (PTQ): `to_litert(classifier, ..., "int8")`, ranges
   calibrated on training sentences.
3. Quantization-aware training: `quantize_aware(classifier)` and a short
   fine-tune at a low learning rate, then `to_litert(qat, ..., "qat_int8")`.
4. Every file is verified against its Keras model by the exporter; then
   the float model, the float32 file and both int8 files are scored on the
   held-out split, and a table is printed and written to `results.md` and
   `results.json` in the output directory.
"""

import argparse
import gc
import json
import pathlib
import time

import keras
import numpy as np

from keras_mobilebert import MobileBertClassifier
from keras_mobilebert.export.litert import export_and_verify
from keras_mobilebert.finetune import build_classifier
from keras_mobilebert.finetune import compile_for_finetuning
from keras_mobilebert.finetune import load_config
from keras_mobilebert.finetune import load_data
from keras_mobilebert.finetune import save_preset
from keras_mobilebert.finetune import text_dataset
from keras_mobilebert.quantization import quantize_aware
from keras_mobilebert.utils.files import atomic_path


def finetune_float(config, output):
    """Step 1: fine-tune a float classifier with the main job's blocks."""
    (train_x, train_y), _, label_names = load_data(config)
    classifier = build_classifier(config, num_classes=len(label_names))
    train = text_dataset(
        train_x, train_y, config["batch_size"], shuffle_seed=config["seed"]
    )
    steps = config["epochs"] * int(train.cardinality())
    compile_for_finetuning(classifier, config, steps)
    classifier.fit(train, epochs=config["epochs"], shuffle=False, verbose=2)
    save_preset(classifier, output / "float_preset")
    return classifier


def qat_finetune(classifier, config, epochs, learning_rate):
    """Step 3: quantization-aware fine-tuning of the float classifier."""
    (train_x, train_y), _, _ = load_data(config)
    qat = quantize_aware(classifier)
    qat.compile(
        optimizer=keras.optimizers.AdamW(learning_rate, weight_decay=0.01),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    train = text_dataset(
        train_x, train_y, config["batch_size"], shuffle_seed=config["seed"]
    )
    qat.fit(train, epochs=epochs, shuffle=False, verbose=2)
    return qat


def format_table(rows):
    header = (
        "| model | held-out accuracy | file size | max abs error vs Keras "
        "| label agreement |\n|---|---|---|---|---|\n"
    )
    lines = []
    for row in rows:
        size = (
            f"{row['size_bytes'] / 2**20:.2f} MiB"
            if row.get("size_bytes")
            else "-"
        )
        error = (
            f"{row['max_abs_error']:.3g}"
            if row.get("max_abs_error") is not None
            else "-"
        )
        agreement = (
            f"{row['label_agreement']:.3f}"
            if row.get("label_agreement") is not None
            else "-"
        )
        lines.append(
            f"| {row['model']} | {row['accuracy']:.4f} | {size} | {error} "
            f"| {agreement} |"
        )
    return header + "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="runs/qat_and_export")
    parser.add_argument(
        "--preset", default=None, help="a fine-tuned classifier preset"
    )
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--num-layers", type=int, default=4)
    parser.add_argument("--qat-epochs", type=int, default=1)
    parser.add_argument("--qat-learning-rate", type=float, default=2e-5)
    parser.add_argument(
        "--representative", type=int, default=200, help="PTQ calibration"
    )
    args = parser.parse_args()
    output = pathlib.Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()

    config = load_config(preset="mobilebert_qat_en_uncased", epochs=args.epochs)
    config["backbone_overrides"]["num_layers"] = args.num_layers
    (train_x, _), (test_x, test_y), _ = load_data(config)
    test_y = np.asarray(test_y)

    # 1. The fine-tuned float classifier.
    if args.preset:
        classifier = MobileBertClassifier.from_preset(args.preset)
    else:
        classifier = finetune_float(config, output)
    length = classifier.preprocessor.sequence_length
    representative = list(train_x[: args.representative])

    # 2. Float32 and post-training int8 files, verified.
    float_file = export_and_verify(
        classifier,
        output / "classifier_float32.tflite",
        "float32",
        representative,
        test_x,
        test_y,
    )
    ptq_file = export_and_verify(
        classifier,
        output / "classifier_ptq_int8.tflite",
        "int8",
        representative,
        test_x,
        test_y,
    )

    # 3. Quantization-aware fine-tuning, then the QAT int8 file.
    qat = qat_finetune(
        classifier, config, args.qat_epochs, args.qat_learning_rate
    )
    save_preset(qat, output / "qat_preset")
    qat_file = export_and_verify(
        qat,
        output / "classifier_qat_int8.tflite",
        "qat_int8",
        representative,
        test_x,
        test_y,
    )

    # 4. The table.
    rows = [
        {"model": "float (Keras)", "accuracy": float_file["keras_accuracy"]},
        {
            "model": "float32 LiteRT",
            "accuracy": float_file["tflite_accuracy"],
            **float_file,
        },
        {
            "model": "post-training int8 LiteRT",
            "accuracy": ptq_file["tflite_accuracy"],
            **ptq_file,
        },
        {
            "model": "QAT model (Keras, fake-quant)",
            "accuracy": qat_file["keras_accuracy"],
        },
        {
            "model": "QAT int8 LiteRT",
            "accuracy": qat_file["tflite_accuracy"],
            **qat_file,
        },
    ]
    for row in rows:
        row.pop("keras_accuracy", None)
        row.pop("tflite_accuracy", None)
    table = format_table(rows)
    print(
        f"\nheld-out split: {len(test_y)} Rotten Tomatoes sentences, "
        f"sequence length {length}\n"
    )
    print(table)
    seconds = round(time.perf_counter() - start, 1)
    print(f"total time {seconds} s; files in {output}")
    with atomic_path(output / "results.md") as tmp:
        tmp.write_text(table)
    with atomic_path(output / "results.json") as tmp:
        tmp.write_text(
            json.dumps(
                {"rows": rows, "seconds": seconds, "config": config},
                indent=2,
                default=str,
            )
        )


def skip_final_collection():
    """Skip CPython's last full garbage collection at exit.

    After several conversions the process holds a very large graph of
    TensorFlow objects; the collection at interpreter shutdown then ran for
    minutes (measured: over 5 minutes after the table was written). Every
    file is already written (atomically), so freezing the heap is safe.
    """
    gc.freeze()


if __name__ == "__main__":
    main()
    skip_final_collection()
