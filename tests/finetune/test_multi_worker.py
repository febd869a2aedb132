"""Fine-tuning jobs on a cluster of two real worker processes on loopback.

A tiny model fine-tuned by one process and by two workers of
`multi_worker_mirrored` on the same global batches ends with the same
weights, and only the chief writes the output folder: exactly the files
one process writes, no `workers/` folder, and the other worker leaves no
temporary folder behind (its `TMPDIR` is checked empty).

Tolerance (`tests.multi_worker.assert_weights_match`, as for `distill`):
the losses agree to 1e-5; the workers' gradients are summed in another
order, and Adam's first steps turn a gradient's sign, not its size, into
the update, so a gradient within rounding of zero may move a weight by up
to about `2 * lr` a step differently. So: every weight within
`2 * lr * steps`, 99% of them within `0.001 * lr` (measured: SQuAD 1.5 lr
at most, 99% within 1.1e-7 after 4 steps; the file task's figures are in
docs/distributed.md).
"""

import csv
import json

import numpy as np
import pytest

from keras_mobilebert import MobileBertClassifier
from tests.finetune import glue_tiny
from tests.finetune.squad_tiny import tiny_config
from tests.finetune.test_resumable_fit import preset_weights
from tests.multi_worker import assert_weights_match
from tests.multi_worker import run_cluster
from tests.multi_worker import written_files as files

CLUSTER_TIMEOUT = ["--cluster-timeout", "60"]


def squad_args(config_path, output, distribute):
    return [
        "finetune-squad",
        "--config",
        str(config_path),
        "--output",
        str(output),
        "--distribute",
        distribute,
        *CLUSTER_TIMEOUT,
    ]


def weights(preset_dir):
    return np.concatenate([np.ravel(w) for w in preset_weights(preset_dir)])


def classifier_weights(preset_dir):
    """The saved classifier's weights (dropout seed states left out)."""
    model = MobileBertClassifier.from_preset(str(preset_dir), compile=False)
    return np.concatenate(
        [
            np.ravel(v.numpy())
            for v in model.variables
            if "seed_generator" not in v.path
        ]
    )


def run_single_and_pair(argv, tmp_path, output_flag="--output"):
    """Run `argv` as one process and as two workers, each worker with a
    `TMPDIR` of its own; return `(single dir, cluster dir, tmpdirs)`."""
    single, cluster = tmp_path / "single", tmp_path / "cluster"
    codes, logs = run_cluster(
        [*argv, output_flag, str(single), "--distribute", "none"],
        0,
        tmp_path,
        "single",
    )
    assert codes == [0], logs[0][-3000:]
    tmpdirs = [tmp_path / f"tmp_{i}" for i in range(2)]
    for folder in tmpdirs:
        folder.mkdir()
    codes, logs = run_cluster(
        [
            *argv,
            output_flag,
            str(cluster),
            "--distribute",
            "multi_worker_mirrored",
            *CLUSTER_TIMEOUT,
        ],
        2,
        tmp_path,
        "cluster",
        extra_env={i: {"TMPDIR": str(t)} for i, t in enumerate(tmpdirs)},
    )
    assert codes == [0, 0], logs[0][-3000:] + logs[1][-3000:]
    return single, cluster, tmpdirs


def assert_chief_wrote_alone(single, cluster, tmpdirs):
    assert files(cluster) == files(single)
    assert not (cluster / "workers").exists()
    # The other worker's scratch folder is gone (and the chief made none).
    for folder in tmpdirs:
        assert list(folder.iterdir()) == [], folder


@pytest.mark.large
def test_two_workers_match_one_process(tmp_path):
    config = tiny_config(tmp_path, epochs=2)
    config["example_questions"] = []
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(config))
    single = tmp_path / "single"
    codes, logs = run_cluster(
        squad_args(path, single, "none"), 0, tmp_path, "single"
    )
    assert codes == [0], logs[0][-3000:]
    cluster = tmp_path / "cluster"
    codes, logs = run_cluster(
        squad_args(path, cluster, "multi_worker_mirrored"),
        2,
        tmp_path,
        "cluster",
    )
    assert codes == [0, 0], logs[0][-3000:] + logs[1][-3000:]
    a = json.loads((single / "results.json").read_text())
    b = json.loads((cluster / "results.json").read_text())
    assert b["replicas"] == 2 and a["replicas"] == 1
    np.testing.assert_allclose(
        [r["loss"] for r in b["training"]["history"]],
        [r["loss"] for r in a["training"]["history"]],
        rtol=1e-5,
    )
    assert_weights_match(
        weights(single / "preset"),
        weights(cluster / "preset"),
        config["learning_rate"],
        a["training"]["steps"],
        1e-3,
    )
    assert files(cluster) == files(single)


def write_labelled(path, count, seed):
    """A CSV of `count` tiny sentences, labelled by whether "great" is in
    them (both classes present)."""
    texts = glue_tiny.sentences(count, seed)
    texts[0] += " great"
    texts[1] = texts[1].replace("great", "dull")
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        for text in texts:
            writer.writerow([text, "good" if "great" in text else "bad"])
    return path


def losses(run_dir, folder):
    with open(run_dir / folder / "losses.csv", newline="") as f:
        return [float(row["loss"]) for row in csv.DictReader(f)]


def file_task_config(tmp_path, **fields):
    """A config of the tiny file task (32 rows at global batch 8: every
    batch splits 4 + 4), 4 steps, no dropout."""
    train = write_labelled(tmp_path / "train.csv", 32, 0)
    validation = write_labelled(tmp_path / "validation.csv", 8, 50)
    return glue_tiny.config_file(
        tmp_path / "config.json",
        text_file={"train": str(train), "validation": str(validation)},
        train_steps=4,
        checkpoint_every=2,
        # Dropout masks are drawn per replica: without dropout the two
        # workers take the very steps of one process.
        backbone_overrides={"attention_dropout": 0.0},
        classifier_dropout=0.0,
        **fields,
    )


def assert_same_run(single, cluster, training, preset, steps):
    """Losses of every chunk within 1e-5; weights as `assert_weights_match`
    says; the figures printed for docs/distributed.md."""
    np.testing.assert_allclose(
        losses(cluster, training), losses(single, training), rtol=1e-5
    )
    largest, q99 = assert_weights_match(
        classifier_weights(single / preset),
        classifier_weights(cluster / preset),
        1e-3,
        steps,
        1e-3,
    )
    print(f"{cluster}: max |diff| {largest:.3g}, 99% within {q99:.3g}")


@pytest.mark.large
def test_a_file_task_on_two_workers_matches_one_process(tmp_path):
    preset = glue_tiny.student_preset(tmp_path / "student")
    config = file_task_config(tmp_path, job="glue", preset=preset)
    single, cluster, tmpdirs = run_single_and_pair(
        ["finetune", "--config", config], tmp_path
    )
    assert_same_run(single, cluster, "training", "preset", 4)
    a = json.loads((single / "results.json").read_text())
    b = json.loads((cluster / "results.json").read_text())
    assert a["steps"] == b["steps"] == 4
    assert_chief_wrote_alone(single, cluster, tmpdirs)


@pytest.mark.large
def test_distill_task_on_two_workers_matches_one_process(tmp_path):
    """A given teacher classifier: the chief alone caches its logits and
    writes the student's run; both workers train the same student."""
    student = glue_tiny.student_preset(tmp_path / "student")
    teacher = glue_tiny.teacher_preset(
        tmp_path / "teacher", 2, labels=["bad", "good"]
    )
    config = file_task_config(
        tmp_path,
        job="distill_task",
        teacher=teacher,
        preset=student,
        hard_label_weight=0.5,
    )
    single, cluster, tmpdirs = run_single_and_pair(
        ["distill-task", "--config", config], tmp_path, "--output-dir"
    )
    assert_same_run(single, cluster, "student_training", "student", 4)
    assert_chief_wrote_alone(single, cluster, tmpdirs)


@pytest.mark.large
def test_the_classification_job_on_two_workers_matches_one_process(
    tmp_path,
):
    """The main job (Rotten Tomatoes), tiny: `Task.fit` on a `tf.data`
    pipeline of strings, auto-sharded by data (each worker preprocesses
    every global batch and keeps its half), `ChiefBackupAndRestore`."""
    from keras_mobilebert.finetune import load_config
    from tests.test_finetune import TINY_BACKBONE

    config = load_config(
        epochs=2,
        batch_size=8,
        sequence_length=16,
        learning_rate=1e-3,
        init="random",
        classifier_dropout=0.0,
    )
    config["backbone_overrides"] = {**TINY_BACKBONE, "attention_dropout": 0.0}
    config["export"] = None
    path = tmp_path / "classification.json"
    path.write_text(json.dumps(config))
    # 32 sentences at global batch 8: 4 steps an epoch, 8 in all.
    single, cluster, tmpdirs = run_single_and_pair(
        ["finetune", "--config", str(path), "--max-train-examples", "32"],
        tmp_path,
    )
    a = json.loads((single / "results.json").read_text())
    b = json.loads((cluster / "results.json").read_text())
    largest, q99 = assert_weights_match(
        classifier_weights(single / "preset"),
        classifier_weights(cluster / "preset"),
        1e-3,
        8,
        1e-3,
    )
    print(f"classification: max |diff| {largest:.3g}, 99% within {q99:.3g}")
    # The held-out accuracy, a mean over both workers' halves of 800
    # sentences: a weight difference of rounding size flips few labels.
    assert abs(a["accuracy"] - b["accuracy"]) <= 2 / 800
    assert_chief_wrote_alone(single, cluster, tmpdirs)


@pytest.mark.large
def test_distill_task_fine_tunes_its_teacher_on_two_workers_and_resumes(
    tmp_path,
):
    """A teacher backbone fine-tuned by the cluster: the chief alone
    writes `teacher/`, `teacher_training/` and the logits cache; started
    again, both workers reuse the chief's teacher and logits (a worker
    that fine-tuned or labelled anew would wait alone in its collectives
    or train on other logits)."""
    student = glue_tiny.student_preset(tmp_path / "student")
    teacher = glue_tiny.student_preset(tmp_path / "teacher_backbone")
    config = file_task_config(
        tmp_path,
        job="distill_task",
        teacher=teacher,
        teacher_finetune={"steps": 2, "batch_size": 8},
        preset=student,
    )
    run = tmp_path / "run"
    tmpdirs = [tmp_path / f"tmp_{i}" for i in range(2)]
    argv = [
        "distill-task",
        "--config",
        config,
        "--output-dir",
        str(run),
        "--distribute",
        "multi_worker_mirrored",
        *CLUSTER_TIMEOUT,
    ]
    for attempt in ("first", "again"):
        for folder in tmpdirs:
            folder.mkdir(exist_ok=True)
        codes, logs = run_cluster(
            argv,
            2,
            tmp_path,
            attempt,
            extra_env={i: {"TMPDIR": str(t)} for i, t in enumerate(tmpdirs)},
        )
        assert codes == [0, 0], logs[0][-3000:] + logs[1][-3000:]
        for folder in tmpdirs:
            assert list(folder.iterdir()) == [], folder
    written = files(run)
    for path in (
        "teacher/task.json",
        "teacher_results.json",
        "teacher_training/losses.csv",
        "student_training/losses.csv",
        "student/task.json",
        "results.json",
    ):
        assert path in written, written
    assert len([p for p in written if p.startswith("teacher_logits/")]) == 1
    assert not any(p.startswith("workers/") for p in written)
    for log in logs:  # the second start
        assert "teacher: reusing the fine-tuned teacher" in log, log[-3000:]
        assert "teacher logits: reused" in log, log[-3000:]
