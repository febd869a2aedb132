"""Where a distilled student stops copying its teacher: agreement by length.

A task-distilled student is trained to give its teacher's answers. This
tool scores a teacher and students on a task's dev split and on a seeded
sample of its training split, and reports for each student its accuracy
and its agreement with the teacher (same predicted class), overall and by
sentence length in words (<=10, 11-20, >20). On SST-2 it showed why the
students trail: they copy the teacher on training phrases (mostly short)
far better than on dev (whole sentences); see docs/glue.md.

Single-sentence GLUE tasks (SST-2, CoLA). Every model is any KerasHub
text-classifier preset directory (a `distill-task` run's `student/` or
`teacher/`, a GLUE job's `preset/`); dev never trains anything here.

Example:
```
python tools/sst2_agreement.py --data-dir ../shared/data/sst2 \\
    --teacher runs/sst2_kd/teacher \\
    --student small=runs/sst2_kd/student --output runs/agreement.json
```
"""

import argparse
import json
import os
import pathlib
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
# Name, shortest and longest length in words (None: no upper bound).
LENGTH_BUCKETS = (("<=10", 0, 10), ("11-20", 11, 20), (">20", 21, None))


def length_masks(texts):
    """One boolean mask over `texts` per `LENGTH_BUCKETS` entry.

    Args:
        texts: list of strings; length is the whitespace-split word count.

    Example:
    ```python
    length_masks(["a fine film"])["<=10"]  # array([ True])
    ```
    """
    words = np.asarray([len(t.split()) for t in texts])
    return {
        name: (words >= low) & (words <= (np.inf if high is None else high))
        for name, low, high in LENGTH_BUCKETS
    }


def _rate(flags, mask):
    return float(flags[mask].mean()) if mask.any() else None


def _by_length(flags, masks):
    return {name: _rate(flags, mask) for name, mask in masks.items()}


def agreement_report(texts, labels, teacher, students):
    """Accuracy and agreement with the teacher, overall and by length.

    Args:
        texts: list of strings.
        labels: int array of gold labels.
        teacher: int array, the teacher's predicted classes.
        students: dict of name to int array of predicted classes.

    Returns:
        A dict: `count`, `bucket_sizes`, `teacher` (accuracy, by bucket)
        and per student `accuracy`, `agreement` and both by bucket.

    Example:
    ```python
    agreement_report(["a", "b"], [0, 1], [0, 1], {"s": [0, 0]})
    ```
    """
    labels = np.asarray(labels)
    teacher = np.asarray(teacher)
    masks = length_masks(texts)
    everything = np.ones(len(labels), bool)
    right = teacher == labels
    report = {
        "count": len(labels),
        "bucket_sizes": {name: int(m.sum()) for name, m in masks.items()},
        "teacher": {
            "accuracy": _rate(right, everything),
            "accuracy_by_length": _by_length(right, masks),
        },
    }
    for name, predicted in students.items():
        predicted = np.asarray(predicted)
        if predicted.shape != labels.shape:
            raise ValueError(
                f"Student {name!r} gave {predicted.shape[0]} predictions for "
                f"{labels.shape[0]} texts."
            )
        right = predicted == labels
        same = predicted == teacher
        report[name] = {
            "accuracy": _rate(right, everything),
            "agreement": _rate(same, everything),
            "accuracy_by_length": _by_length(right, masks),
            "agreement_by_length": _by_length(same, masks),
        }
    return report


def _named_presets(values):
    presets = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not name or not path:
            raise SystemExit(
                f"--student takes NAME=PRESET_DIR; received {value!r}."
            )
        if name in presets or name == "teacher":
            raise SystemExit(f"Student name {name!r} is used twice.")
        presets[name] = path
    return presets


def check_local_presets(models):
    """Refuse a wrong local preset path before the long teacher pass.

    Handles (`kaggle://...`, `hf://...`) and built-in preset names are left
    to KerasHub; a path that exists must be a text-classifier preset folder
    (`task_teacher.is_classifier_preset`: it holds `task.json`).

    Args:
        models: dict of model name to preset path or handle.

    Example:
    ```python
    check_local_presets({"teacher": "runs/sst2_kd/teacher"})
    ```
    """
    from keras_mobilebert.finetune.task_teacher import is_classifier_preset

    for name, preset in models.items():
        path = pathlib.Path(preset)
        if "://" in preset:
            continue
        if path.is_dir() and not is_classifier_preset(path):
            raise SystemExit(
                f"{name}: {preset} is not a text-classifier preset (no "
                "task.json); give the classifier's preset folder itself (a "
                "distill-task run's student/, a GLUE job's preset/)."
            )
        if not path.exists() and (os.sep in preset or preset.startswith(".")):
            raise SystemExit(f"{name}: no such preset folder: {preset}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--task", default="sst2")
    parser.add_argument(
        "--data-dir", required=True, help="the task's GLUE folder"
    )
    parser.add_argument("--teacher", required=True, help="classifier preset")
    parser.add_argument(
        "--student",
        action="append",
        default=[],
        help="NAME=PRESET_DIR; give it once per student",
    )
    parser.add_argument("--train-sample", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--output", help="write the report here (JSON)")
    args = parser.parse_args(argv)
    students = _named_presets(args.student)
    if not students:
        raise SystemExit("Give at least one --student NAME=PRESET_DIR.")

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.path.insert(0, str(ROOT))
    import keras_hub

    from keras_mobilebert.data.glue import load_glue
    from keras_mobilebert.data.glue_tasks import glue_task
    from keras_mobilebert.finetune.glue_data import seeded_subset
    from keras_mobilebert.utils.files import atomic_path

    if glue_task(args.task).num_segments != 1:
        raise SystemExit(
            f"{args.task} is a sentence-pair task; this tool measures "
            "single-sentence tasks (sst2, cola)."
        )
    models = {"teacher": args.teacher, **students}
    check_local_presets(models)
    splits = {
        "dev": load_glue(args.task, "validation", args.data_dir),
        "train_sample": seeded_subset(
            load_glue(args.task, "train", args.data_dir),
            args.train_sample,
            args.seed,
        ),
    }
    predictions = {name: {} for name in models}
    for name, path in models.items():
        model = keras_hub.models.TextClassifier.from_preset(path)
        for split, data in splits.items():
            logits = model.predict(
                list(data.segments[0]), batch_size=args.batch_size, verbose=0
            )
            predictions[name][split] = np.asarray(logits).argmax(-1)
    report = {
        "settings": vars(args),
        **{
            split: agreement_report(
                list(data.segments[0]),
                data.labels,
                predictions["teacher"][split],
                {name: predictions[name][split] for name in students},
            )
            for split, data in splits.items()
        },
    }
    text = json.dumps(report, indent=1)
    print(text)
    if args.output:
        path = pathlib.Path(args.output)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            tmp.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
