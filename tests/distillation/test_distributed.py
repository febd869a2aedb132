"""One MirroredStrategy step over two logical CPUs equals one plain step."""

import json
import os
import pathlib
import subprocess
import sys
import textwrap

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

    from keras_mobilebert.distillation.distiller import Distiller
    from tests.distillation import tiny


    def one_step(strategy):
        keras.utils.set_random_seed(0)
        with strategy.scope():
            teacher = tiny.teacher()
            student = tiny.student()
            distiller = Distiller(teacher, student, pretraining=True)
            distiller.compile(keras.optimizers.Lamb(1e-2))
        before = tiny.snapshot(student.trainable_variables)
        # Global batch 8: replica 0 gets rows 0-3 (two of them padded),
        # replica 1 rows 4-7 (none padded), so the per-replica token
        # counts differ and only global denominators can match.
        data = tf.data.Dataset.from_tensors(tiny.batch(8)).repeat()
        history = distiller.fit(data, steps_per_epoch=1, epochs=1,
                                verbose=0)
        after = tiny.snapshot(student.trainable_variables)
        teacher_after = tiny.snapshot(teacher.variables)
        return before, after, history.history, teacher_after


    single = one_step(tf.distribute.OneDeviceStrategy("/cpu:0"))
    mirrored = one_step(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))
    assert mirrored[0] is not None
    init_diff = max(float(np.max(np.abs(a - b)))
                    for a, b in zip(single[0], mirrored[0]))
    update = max(float(np.max(np.abs(a - b)))
                 for a, b in zip(single[1], single[0]))
    diff = max(float(np.max(np.abs(a - b)))
               for a, b in zip(single[1], mirrored[1]))
    teacher_diff = max(float(np.max(np.abs(a - b)))
                       for a, b in zip(single[3], mirrored[3]))
    losses = {k: [single[2][k][0], mirrored[2][k][0]] for k in single[2]}
    print("RESULT " + json.dumps({
        "init_diff": init_diff, "update": update, "diff": diff,
        "teacher_diff": teacher_diff, "losses": losses,
        "replicas": 2,
    }))
    """
)


def test_mirrored_step_equals_single_device_step():
    env = dict(
        os.environ,
        PYTHONPATH=str(ROOT),
        TF_CPP_MIN_LOG_LEVEL="2",
        CUDA_VISIBLE_DEVICES="",
    )
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
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
    assert report["init_diff"] == 0.0
    assert report["update"] > 1e-4
    assert report["diff"] < 1e-6 * max(1.0, report["update"] * 100), report
    assert report["teacher_diff"] == 0.0
    for name, (single, mirrored) in report["losses"].items():
        assert abs(single - mirrored) <= 1e-5 * max(1.0, abs(single)), (
            name,
            single,
            mirrored,
        )
