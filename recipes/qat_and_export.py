"""Fine-tuned classifier -> QAT fine-tuning -> verified int8 LiteRT files.

    python recipes/qat_and_export.py --output runs/qat_and_export

Steps:
1. The main job's fine-tuned float classifier: the preset in
   `runs/finetune_rotten_tomatoes/preset` (`--preset` for another one) if
   it exists, else the main job is run here first with its embedded config
   (`keras_mobilebert.finetune.run_finetune`, export step off), which
   writes that preset.
2. Post-training int8 (PTQ): `export_and_verify(classifier, ..., "int8")`,
   ranges calibrated on training sentences. The main job's model uses the
   "additive" attention mask, so the exporter converts it with the int8
   "fill" mask and verifies the file against the original.
3. Quantization-aware training: `quantize_aware(classifier)` and a short
   fine-tune at a low learning rate, then `export_and_verify(qat, ...,
   "qat_int8")`. The QAT copy keeps the model's ReLU and NoNorm and
   switches to the "fill" mask; GR's QAT config also uses ReLU6, which
   bounds activation ranges in advance, but the fake-quant ranges here are
   learned from the data, so plain ReLU quantizes too.
4. Every file is verified against its Keras model by the exporter; then the
   float model and the files are scored on the 800 held-out sentences and
   compared with the float model, and a table is printed and written to
   `results.md` and `results.json` in the output directory. The files give
   probabilities (a softmax in the graph) and the Keras models logits, so
   every row is compared as probabilities: the softmax of the Keras logits.

`--max-train-examples N` trains on N sentences only (a smoke run: the
README checker, tools/check_readme_commands.py, runs it so).
"""

import argparse
import gc
import json
import pathlib
import time

import keras
import numpy as np

from keras_mobilebert import MobileBertClassifier
from keras_mobilebert.export import export_and_verify
from keras_mobilebert.export import run_tflite
from keras_mobilebert.export import texts_to_inputs
from keras_mobilebert.finetune import load_config
from keras_mobilebert.finetune import load_data
from keras_mobilebert.finetune import run_finetune
from keras_mobilebert.finetune import save_preset
from keras_mobilebert.finetune import text_dataset
from keras_mobilebert.finetune.datasets import subsample
from keras_mobilebert.quantization import quantize_aware
from keras_mobilebert.utils.files import atomic_path
from keras_mobilebert.utils.numerics import softmax

MAIN_JOB_PRESET = "runs/finetune_rotten_tomatoes/preset"


def float_classifier(preset, config):
    """Step 1: the main job's classifier, trained here if it is missing."""
    preset = pathlib.Path(preset)
    if not (preset / "task.json").exists():
        print(f"no preset in {preset}: running the main job first")
        config = dict(config, export=None)  # This recipe exports itself.
        run_finetune(config, preset.parent)
    print(f"float classifier: {preset}")
    return MobileBertClassifier.from_preset(str(preset), compile=False)


def training_data(config):
    """The training split, or `max_train_examples` of it (smoke runs)."""
    (train_x, train_y), _, _ = load_data(config)
    limit = config.get("max_train_examples")
    if limit:
        train_x, train_y = subsample(train_x, train_y, limit, config["seed"])
    return list(train_x), train_y


def qat_finetune(classifier, config, epochs, learning_rate):
    """Step 3: quantization-aware fine-tuning of the float classifier."""
    train_x, train_y = training_data(config)
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


def agreement_with(reference_logits, model, report, test_x):
    """Share of held-out labels a `.tflite` file shares with the float
    model, and its largest probability difference from it (the file's
    softmax against the softmax of the float model's logits)."""
    samples = texts_to_inputs(model, test_x)
    tflite_bytes = pathlib.Path(report["path"]).read_bytes()
    probabilities = run_tflite(tflite_bytes, samples)["probabilities"]
    reference = softmax(reference_logits)
    probabilities = probabilities.reshape(reference.shape)
    same = np.mean(probabilities.argmax(-1) == reference.argmax(-1))
    return float(same), float(np.max(np.abs(probabilities - reference)))


def format_table(rows):
    header = (
        "| model | held-out accuracy | same label as float | max abs "
        "probability diff vs float | file size |\n|---|---|---|---|---|\n"
    )
    lines = []
    for row in rows:
        size = (
            f"{row['size_bytes'] / 2**20:.2f} MiB"
            if row.get("size_bytes")
            else "-"
        )
        lines.append(
            f"| {row['model']} | {row['accuracy']:.4f} | "
            f"{row['agreement']:.4f} | {row['max_abs_diff']:.3g} | {size} |"
        )
    return header + "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="runs/qat_and_export")
    parser.add_argument(
        "--preset",
        default=MAIN_JOB_PRESET,
        help="the fine-tuned float classifier (trained here if missing)",
    )
    parser.add_argument("--qat-epochs", type=int, default=1)
    parser.add_argument("--qat-learning-rate", type=float, default=2e-5)
    parser.add_argument(
        "--representative", type=int, default=200, help="PTQ calibration"
    )
    parser.add_argument(
        "--max-train-examples",
        type=int,
        default=None,
        help="train on N sentences only (smoke runs)",
    )
    args = parser.parse_args()
    output = pathlib.Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    seconds = {}

    def phase_done(name, since):
        seconds[name] = round(time.perf_counter() - since, 1)
        print(f"[{name}: {seconds[name]} s]")
        return time.perf_counter()

    config = load_config()
    if args.max_train_examples:
        config["max_train_examples"] = args.max_train_examples
    _, (test_x, test_y), _ = load_data(config)
    train_x, _ = training_data(config)
    test_x, test_y = list(test_x), np.asarray(test_y)
    representative = list(train_x[: args.representative])

    # 1. The fine-tuned float classifier and its held-out logits.
    classifier = float_classifier(args.preset, config)
    float_logits = classifier.predict(test_x, verbose=0)
    float_accuracy = float(np.mean(float_logits.argmax(-1) == test_y))
    since = phase_done("float classifier", start)

    # 2. Float32 and post-training int8 files, verified.
    files = {}
    for quantization in ("float32", "int8"):
        files[quantization] = export_and_verify(
            classifier,
            output / f"classifier_{quantization}.tflite",
            quantization,
            representative,
            test_x,
            test_y,
            num_representative=args.representative,
        )
    since = phase_done("float32 and PTQ int8 export", since)

    # 3. Quantization-aware fine-tuning, then the QAT int8 file.
    qat = qat_finetune(
        classifier, config, args.qat_epochs, args.qat_learning_rate
    )
    save_preset(qat, output / "qat_preset")
    since = phase_done("QAT fine-tuning", since)
    files["qat_int8"] = export_and_verify(
        qat,
        output / "classifier_qat_int8.tflite",
        "qat_int8",
        representative,
        test_x,
        test_y,
        num_representative=args.representative,
    )
    qat_logits = qat.predict(test_x, verbose=0)
    since = phase_done("QAT int8 export", since)

    # 4. The table: every row against the float model.
    rows = [
        {
            "model": "float (Keras)",
            "accuracy": float_accuracy,
            "agreement": 1.0,
            "max_abs_diff": 0.0,
        }
    ]
    names = {
        "float32": "float32 LiteRT",
        "int8": "post-training int8 LiteRT",
        "qat_int8": "QAT int8 LiteRT",
    }
    for quantization, report in files.items():
        # export_and_verify compared the PTQ files with the float model
        # already; the QAT file it compared with the QAT model.
        agreement = report["heldout_label_agreement"]
        max_abs_diff = report["heldout_max_abs_error"]
        if quantization == "qat_int8":
            same = np.mean(qat_logits.argmax(-1) == float_logits.argmax(-1))
            difference = softmax(qat_logits) - softmax(float_logits)
            rows.append(
                {
                    "model": "QAT model (Keras, fake-quant)",
                    "accuracy": report["keras_accuracy"],
                    "agreement": float(same),
                    "max_abs_diff": float(np.max(np.abs(difference))),
                }
            )
            agreement, max_abs_diff = agreement_with(
                float_logits, qat, report, test_x
            )
        rows.append(
            {
                "model": names[quantization],
                "accuracy": report["tflite_accuracy"],
                "agreement": agreement,
                "max_abs_diff": max_abs_diff,
                "size_bytes": report["size_bytes"],
                "export": report,
            }
        )
    table = format_table(rows)
    print(
        f"\nheld-out split: {len(test_y)} Rotten Tomatoes sentences, "
        f"sequence length {classifier.preprocessor.sequence_length}\n"
    )
    print(table)
    seconds["total"] = round(time.perf_counter() - start, 1)
    print(f"total time {seconds['total']} s; files in {output}")
    with atomic_path(output / "results.md") as tmp:
        tmp.write_text(table)
    with atomic_path(output / "results.json") as tmp:
        tmp.write_text(
            json.dumps(
                {
                    "rows": rows,
                    "seconds": seconds,
                    "float_preset": str(args.preset),
                    "qat_epochs": args.qat_epochs,
                    "qat_learning_rate": args.qat_learning_rate,
                },
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
