"""A MirroredStrategy TaskDistiller step over two CPUs equals a plain step."""

import json
import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import json
    import sys

    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    import keras
    import numpy as np

    from keras_mobilebert.distillation.task_distiller import TaskDistiller
    from keras_mobilebert.distillation.task_distiller import task_dataset
    from tests.distillation import task_tiny


    def one_step(strategy, layerwise):
        keras.utils.set_random_seed(0)
        with strategy.scope():
            teacher = task_tiny.bert_teacher()
            student = task_tiny.student()
            distiller = TaskDistiller(
                student, teacher, temperature=2.0, hard_label_weight=0.4,
                layerwise=layerwise, layerwise_weight=0.5)
            distiller.compile(keras.optimizers.Adam(1e-2))
        packed = task_tiny.packed()
        logits = np.random.RandomState(1).randn(8, 2).astype("float32")
        # Gold labels on 5 of 8 examples, unevenly over the replicas.
        labels = np.array([1, -1, 0, -1, 1, 1, -1, 0])
        # Plain order: rows 0-3 and 4-7 have different lengths, so the
        # replicas see different token counts and label counts.
        data = task_dataset(packed, logits, labels, batch_size=8,
                            bucketed=False)
        before = task_tiny.snapshot(distiller.student_variables())
        history = distiller.fit(data, steps_per_epoch=1, epochs=1,
                                verbose=0)
        after = task_tiny.snapshot(distiller.student_variables())
        return before, after, history.history


    # One mode per process: a second MirroredStrategy in the same process
    # aborted with a collective shape mismatch.
    report = {}
    for layerwise in (sys.argv[1] == "layerwise",):
        single = one_step(tf.distribute.OneDeviceStrategy("/cpu:0"),
                          layerwise)
        mirrored = one_step(
            tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]), layerwise)
        report[str(layerwise)] = {
            "init_diff": max(float(np.max(np.abs(a - b)))
                             for a, b in zip(single[0], mirrored[0])),
            "update": max(float(np.max(np.abs(a - b)))
                          for a, b in zip(single[1], single[0])),
            "diff": max(float(np.max(np.abs(a - b)))
                        for a, b in zip(single[1], mirrored[1])),
            "losses": {k: [single[2][k][0], mirrored[2][k][0]]
                       for k in single[2]},
        }
    print("RESULT " + json.dumps(report))
    """
)


@pytest.mark.parametrize("mode", ["logits", "layerwise"])
def test_mirrored_task_step_equals_single_device_step(mode):
    env = dict(
        os.environ,
        PYTHONPATH=str(ROOT),
        TF_CPP_MIN_LOG_LEVEL="2",
        CUDA_VISIBLE_DEVICES="",
    )
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = [
        ln for ln in result.stdout.splitlines() if ln.startswith("RESULT ")
    ]
    assert result.returncode == 0 and lines, result.stderr[-3000:]
    report = json.loads(lines[0][len("RESULT ") :])
    for mode, values in report.items():
        assert values["init_diff"] == 0.0, mode
        assert values["update"] > 1e-4, mode
        assert values["diff"] < 1e-5, (mode, values)
        assert {"loss", "kd_loss", "hard_loss", "accuracy"} <= set(
            values["losses"]
        )
        for name, (single, mirrored) in values["losses"].items():
            assert abs(single - mirrored) <= 1e-5 * max(1.0, abs(single)), (
                mode,
                name,
                single,
                mirrored,
            )
    if mode == "layerwise":
        assert "layerwise_loss" in report["True"]["losses"]
