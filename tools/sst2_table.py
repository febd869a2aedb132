"""The SST-2 evidence table: baselines, the teacher, students, int8 files.

Rows, each scored on SST-2 dev (872 sentences) with its parameter count,
int8 LiteRT file size and LiteRT latency at sequence 64:

- `tfidf`: TF-IDF word 1-2 grams + logistic regression, all of train;
- `teacher`: the MiniLM-L6 teacher fine-tuned on SST-2 train;
- for two student shapes, `main` (the main job's: 4 MobileBERT blocks at
  full width) and `small` (4 blocks, 256 wide, bottleneck 64, word table
  64 wide, 2 FFNs):
  - `<shape>_random`: fine-tuned from random initialization;
  - `<shape>_general`: fine-tuned after general distillation (auxiliary
    layer-wise transfer from MiniLM-L6 on SST-2 train sentences, never
    dev; the `distill` machinery);
  - `<shape>_task`: that start trained by task distillation on the
    teacher's logits over SST-2 train;
  - `<shape>_task_aug`: the same with augmented text added.

Every student row trains the same number of steps of the same batch
(`--steps`, `--batch-size`); the rule and the measured seconds are
written beside the table. Rows are resumable: each row's result is saved
in `<output>/rows/<row>.json` as it finishes (and the runs inside a row
checkpoint themselves), so a killed run started again continues; the
table is rewritten (`table.md`, `table.json`) after every row. Latency is
measured last, for every file in one pass (`--rows latency`).

Example:
```
KERAS_MOBILEBERT_SHARED_DATA=../shared/data \\
    python tools/sst2_table.py --output runs/sst2_table
```
"""

import argparse
import importlib.util
import json
import os
import pathlib
import shutil
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_DATA = pathlib.Path(
    os.environ.get("KERAS_MOBILEBERT_SHARED_DATA")
    or ROOT.parent / "shared" / "data"
)
SHAPES = {
    "main": {"num_layers": 4},
    "small": {
        "num_layers": 4,
        "hidden_dim": 256,
        "intermediate_dim": 256,
        "embedding_dim": 64,
        "bottleneck_dim": 64,
        "num_feedforward_networks": 2,
    },
}
STUDENT_ROWS = ("random", "general", "task", "task_aug")
ROWS = (
    ("tfidf", "teacher")
    + tuple(f"{s}_{r}" for s in SHAPES for r in STUDENT_ROWS)
    + ("latency",)
)
TITLES = {
    "tfidf": "TF-IDF 1-2 grams + logistic regression",
    "teacher": "MiniLM-L6 teacher, fine-tuned",
    "random": "random init, fine-tuned",
    "general": "general distillation, then fine-tuned",
    "task": "general distillation, then task distillation",
    "task_aug": "general distillation, then task distillation + augmentation",
}


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def _write_json(path, data):
    from keras_mobilebert.utils.files import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, default=float))


class Table:
    """The run's folder, its settings and the rows done so far."""

    def __init__(self, args):
        self.args = args
        self.output = pathlib.Path(args.output)
        self.rows_dir = self.output / "rows"
        self.rows_dir.mkdir(parents=True, exist_ok=True)
        self._splits = None

    def done(self, name):
        path = self.rows_dir / f"{name}.json"
        return json.loads(path.read_text()) if path.is_file() else None

    def save(self, name, result):
        _write_json(self.rows_dir / f"{name}.json", result)
        write_table(self)

    def splits(self):
        if self._splits is None:
            from keras_mobilebert.data.glue import load_glue

            data = pathlib.Path(self.args.data_dir) / "sst2"
            self._splits = (
                load_glue("sst2", "train", data),
                load_glue("sst2", "validation", data),
            )
        return self._splits

    def teacher_preset(self):
        return self.output / "teacher" / "teacher"


def _file_report(export):
    return {
        "int8_accuracy": export["tflite_metrics"]["accuracy"],
        "int8_path": export["path"],
        "int8_mib": round(export["size_bytes"] / 2**20, 2),
        "int8_label_agreement": export["heldout_label_agreement"],
        "int8_quantization": export["quantization"],
    }


def row_tfidf(table):
    spec = importlib.util.spec_from_file_location(
        "glue_baselines", ROOT / "tools" / "glue_baselines.py"
    )
    baselines = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(baselines)
    train, dev = table.splits()
    accuracy, size = baselines.tfidf_accuracy(train, dev)
    return {
        "accuracy": accuracy,
        "examples": size,
        "parameters": None,
        "note": "sublinear tf, C=4 (tools/glue_baselines.py); no LiteRT file",
    }


def _student_preprocessor(args):
    from keras_mobilebert import MobileBertTextClassifierPreprocessor

    return MobileBertTextClassifierPreprocessor.from_preset(
        "mobilebert_en_uncased", sequence_length=args.sequence_length
    )


def _export(model, train_packed, dev_packed, dev, output_dir):
    from keras_mobilebert.export.errors import VerificationError
    from keras_mobilebert.finetune.classifier_export import (
        export_task_classifier,
    )

    settings = {"quantization": "int8", "num_representative": 200}
    settings["metadata"] = False
    try:
        return export_task_classifier(
            model, settings, train_packed, dev_packed, dev, output_dir, log
        )
    except VerificationError as e:
        log(f"int8 refused ({e}); exporting dynamic-range instead")
        settings["quantization"] = "dynamic"
        report = export_task_classifier(
            model, settings, train_packed, dev_packed, dev, output_dir, log
        )
        report["int8_refused"] = str(e)
        return report


def row_teacher(table):
    import keras

    from keras_mobilebert.data.length_buckets import pack_texts
    from keras_mobilebert.finetune.glue_data import TaskData
    from keras_mobilebert.finetune.task_teacher import finetune_teacher
    from keras_mobilebert.finetune.task_teacher import teacher_classifier

    args = table.args
    train, dev = table.splits()
    preprocessor = _student_preprocessor(args)
    train_packed = pack_texts(preprocessor, train.features)
    dev_packed = pack_texts(preprocessor, dev.features)
    keras.utils.set_random_seed(args.seed)
    teacher = teacher_classifier("minilm_l6", 2, preprocessor)
    settings = {
        "steps": args.teacher_steps,
        "batch_size": args.batch_size,
        "learning_rate": args.teacher_learning_rate,
        "warmup_fraction": 0.1,
        "max_train_examples": None,
    }
    start = time.perf_counter()
    preset, metrics = finetune_teacher(
        teacher,
        TaskData(train, dev, train_packed, dev_packed),
        table.output / "teacher",
        settings,
        seed=args.seed,
        log=log,
    )
    seconds = time.perf_counter() - start
    export = _export(teacher, train_packed, dev_packed, dev, preset.parent)
    return {
        "accuracy": metrics["accuracy"],
        "parameters": int(teacher.count_params()),
        "steps": args.teacher_steps,
        "examples": len(train),
        "train_seconds": round(seconds, 1),
        **_file_report(export),
        "export": export,
    }


def general_distillation(table, shape):
    """The `distill` machinery on SST-2 train sentences: a student preset."""
    import keras

    from keras_mobilebert.data import bert_uncased_vocabulary
    from keras_mobilebert.distillation.data import pretraining_dataset_factory
    from keras_mobilebert.distillation.optimizers import optimizer_factory
    from keras_mobilebert.distillation.runner import DistillationRun
    from keras_mobilebert.distillation.teacher_student import build_student
    from keras_mobilebert.distillation.teacher_student import load_teacher
    from keras_mobilebert.models.mobilebert import MobileBertTokenizer

    args = table.args
    output = table.output / f"general_{shape}"
    if (output / "student" / "config.json").is_file():
        return output / "student", json.loads((output / "gd.json").read_text())
    train, _ = table.splits()
    keras.utils.set_random_seed(args.seed)
    teacher = load_teacher("minilm_l6")
    student = build_student("mobilebert_en_uncased", SHAPES[shape])
    tokenizer = MobileBertTokenizer(
        vocabulary=bert_uncased_vocabulary(), lowercase=True
    )
    start = time.perf_counter()
    summary = DistillationRun(
        teacher=teacher,
        student=student,
        strategy="auxiliary",
        output_dir=output,
        make_dataset=pretraining_dataset_factory(
            [[text] for text in train.segments[0]],
            tokenizer,
            args.batch_size,
            sequence_length=args.gd_sequence_length,
            max_predictions=5,
            seed=args.seed,
        ),
        layer_steps=args.gd_layer_steps,
        pretraining_steps=0,
        make_optimizer=optimizer_factory("lamb", 1e-2, "constant"),
        checkpoint_every=50,
        init_embeddings="auto",
        verbose=2,
        config={"shape": shape, "seed": args.seed},
    ).run()
    record = {
        "steps": summary["total_steps"],
        "seconds": round(time.perf_counter() - start, 1),
        "final_losses": summary["final_losses"],
        "embedding_init": summary["embedding_init"],
    }
    _write_json(output / "gd.json", record)
    return output / "student", record


def _config_file(path, config):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2))
    return path


def row_student(table, shape, kind):
    from keras_mobilebert.finetune import load_config
    from keras_mobilebert.finetune import run_finetune

    args = table.args
    output = table.output / f"{shape}_{kind}"
    common = {
        "task": "sst2",
        "data": str(pathlib.Path(args.data_dir) / "sst2"),
        "preset": "mobilebert_en_uncased",
        "sequence_length": args.sequence_length,
        "batch_size": args.batch_size,
        "epochs": None,
        "train_steps": args.steps,
        "learning_rate": args.learning_rate,
        "seed": args.seed,
        "export": {
            "quantization": "int8",
            "num_representative": 200,
            "metadata": False,
        },
    }
    gd = None
    if kind == "random":
        config = {
            **common,
            "job": "glue",
            "init": "random",
            "backbone_overrides": SHAPES[shape],
        }
    else:
        student, gd = general_distillation(table, shape)
        config = {
            **common,
            "init": str(student),
            "backbone_overrides": {},
        }
        if kind == "general":
            config["job"] = "glue"
        else:
            if table.done("teacher") is None:
                raise SystemExit("Run the teacher row first (--rows teacher).")
            config.update(
                job="distill_task",
                teacher=str(table.teacher_preset()),
                temperature=args.temperature,
                layerwise=args.layerwise,
                layerwise_weight=args.layerwise_weight,
                augmentation={
                    "copies": args.augment_copies if kind == "task_aug" else 0,
                    "max_sources": args.augment_sources,
                    "min_words": args.augment_min_words,
                },
            )
            _share_teacher_logits(table, output)
    path = _config_file(output / "config.json", config)
    start = time.perf_counter()
    results = run_finetune(load_config(str(path)), output, log=log)
    seconds = time.perf_counter() - start
    from keras_mobilebert import MobileBertClassifier

    model = MobileBertClassifier.from_preset(results["preset_dir"])
    row = {
        "accuracy": results["metrics"]["accuracy"],
        "parameters": int(model.count_params()),
        "steps": results["steps"],
        "examples": results["train_size"] + results.get("extra_text", 0),
        "seconds": round(seconds, 1),
        "teacher_agreement": results.get("teacher_agreement"),
        "final_training_row": results["final_training_row"],
        **_file_report(results["export"]),
    }
    if gd is not None:
        row["general_distillation"] = gd
    return row


def _share_teacher_logits(table, output):
    """Copy cached teacher logits from earlier task rows (same teacher).

    `cached_teacher_logits` names each file by the teacher's, the inputs'
    and the texts' fingerprints and checks them on reading, so a copy is
    used only where it belongs.
    """
    target = output / "teacher_logits"
    target.mkdir(parents=True, exist_ok=True)
    for folder in table.output.glob("*/teacher_logits"):
        for path in folder.glob("*.npz"):
            if not (target / path.name).exists():
                shutil.copyfile(path, target / path.name)


def row_latency(table):
    """Every row's LiteRT file, timed in interleaved rounds in one process."""
    from keras_mobilebert.export import latency

    ids = latency.token_ids(table.args.sequence_length)
    runners = {}
    for name in ROWS:
        row = table.done(name)
        if row and row.get("int8_path"):
            runners[name] = latency.litert_runner(
                row["int8_path"], ids, table.args.threads
            )
    times = latency.interleave(
        runners, rounds=table.args.latency_runs, per_round=1, warmup=10
    )
    timings = {name: latency.timing_summary(t) for name, t in times.items()}
    for name, timing in timings.items():
        log(f"latency {name}: {timing['median_ms']:.2f} ms")
    return {
        "threads": table.args.threads,
        "runs": table.args.latency_runs,
        "interleaved": True,
        "timings": timings,
    }


def _cell(value, digits=4):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _file_cell(row):
    cell = _cell(row.get("int8_mib"), 2)
    mode = row.get("int8_quantization")
    return cell if mode in (None, "int8") else f"{cell} ({mode})"


def write_table(table):
    """`table.md` and `table.json` from the rows done so far."""
    rows = {name: table.done(name) for name in ROWS}
    latency = (rows.pop("latency") or {}).get("timings", {})
    lines = [
        "| row | SST-2 dev accuracy | int8 LiteRT accuracy | parameters "
        "| int8 MiB | LiteRT ms (seq 64) | steps x batch | seconds |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, row in rows.items():
        if row is None:
            continue
        shape, _, kind = name.partition("_")
        title = TITLES.get(name) or f"{shape} student, {TITLES[kind]}"
        steps = row.get("steps")
        timing = latency.get(name, {}).get("median_ms")
        lines.append(
            f"| {title} | {_cell(row['accuracy'])} | "
            f"{_cell(row.get('int8_accuracy'))} | "
            f"{_cell(row.get('parameters'))} | "
            f"{_file_cell(row)} | {_cell(timing, 2)} | "
            f"{f'{steps} x {table.args.batch_size}' if steps else '-'} | "
            f"{_cell(row.get('seconds') or row.get('train_seconds'), 0)} |"
        )
    (table.output / "table.md").write_text("\n".join(lines) + "\n")
    _write_json(
        table.output / "table.json",
        {"settings": vars(table.args), "rows": rows, "latency": latency},
    )


def run_row(table, name):
    if table.done(name) is not None and name != "latency":
        log(f"{name}: done before")
        return
    log(f"{name}: start")
    start = time.perf_counter()
    if name == "tfidf":
        result = row_tfidf(table)
    elif name == "teacher":
        result = row_teacher(table)
    elif name == "latency":
        result = row_latency(table)
    else:
        shape, _, kind = name.partition("_")
        result = row_student(table, shape, kind)
    result["row_seconds"] = round(time.perf_counter() - start, 1)
    table.save(name, result)
    scores = {k: result.get(k) for k in ("accuracy", "int8_accuracy")}
    log(f"{name}: {json.dumps(scores)}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=str(DEFAULT_DATA))
    parser.add_argument("--output", default="runs/sst2_table")
    parser.add_argument("--rows", nargs="*", default=list(ROWS), choices=ROWS)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--sequence-length", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=5e-4)
    parser.add_argument("--teacher-steps", type=int, default=1000)
    parser.add_argument("--teacher-learning-rate", type=float, default=1e-4)
    parser.add_argument("--gd-layer-steps", type=int, default=150)
    parser.add_argument("--gd-sequence-length", type=int, default=32)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument(
        "--layerwise",
        action="store_true",
        help="task rows add MobileBERT's layer-wise losses (the teacher "
        "runs every step: TinyBERT's intermediate-layer distillation)",
    )
    parser.add_argument("--layerwise-weight", type=float, default=1.0)
    parser.add_argument("--augment-copies", type=int, default=1)
    parser.add_argument("--augment-sources", type=int, default=32000)
    parser.add_argument(
        "--augment-min-words",
        type=int,
        default=0,
        help="augment only training texts of at least this many words",
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--latency-runs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    table = Table(args)
    for name in args.rows:
        run_row(table, name)
    write_table(table)
    print((table.output / "table.md").read_text())


if __name__ == "__main__":
    sys.exit(main())
