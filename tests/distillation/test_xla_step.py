"""The distillation step is TPU-ready on paper: XLA-compiled at static
shapes (`jit_compile=True`, what a TPU runs) it gives the eager step's
losses and update, and several steps per execution change nothing."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_mobilebert.distillation.distiller import Distiller
from tests.distillation import tiny


def train(steps=2, **compile_kwargs):
    keras.utils.set_random_seed(3)
    teacher = tiny.teacher()
    student = tiny.student()
    distiller = Distiller(teacher, student, layerwise=True, pretraining=True)
    distiller.compile(keras.optimizers.Adam(1e-3), **compile_kwargs)
    before = tiny.snapshot(student.trainable_variables)
    # Static shapes, as on a TPU: every batch has the same fixed shape.
    data = tf.data.Dataset.from_tensors(tiny.batch()).repeat()
    history = distiller.fit(data, steps_per_epoch=steps, epochs=1, verbose=0)
    after = tiny.snapshot(student.trainable_variables)
    return history.history, after, before


# XLA compiles the whole step (teacher, student, losses, optimizer): about
# a minute of CPU on its own.
@pytest.mark.large
def test_xla_compiled_step_equals_eager_step():
    eager_losses, eager_weights, initial = train(run_eagerly=True)
    xla_losses, xla_weights, _ = train(jit_compile=True)
    assert set(xla_losses) == set(eager_losses) and "mlm_loss" in xla_losses
    for name, values in eager_losses.items():
        # XLA fuses and reorders float32 sums: agreement to 1e-4 relative.
        np.testing.assert_allclose(
            xla_losses[name], values, rtol=1e-4, atol=1e-6, err_msg=name
        )
    moved = max(
        float(np.max(np.abs(a - b))) for a, b in zip(xla_weights, initial)
    )
    diff = max(
        float(np.max(np.abs(a - b))) for a, b in zip(xla_weights, eager_weights)
    )
    assert moved > 1e-4
    # Two Adam steps of lr 1e-3: a sign flip of a rounding-level
    # gradient moves a weight by at most 2 lr per step.
    assert diff <= 4e-3, diff


def test_steps_per_execution_changes_nothing():
    one, weights_one, _ = train(steps=4)
    four, weights_four, _ = train(steps=4, steps_per_execution=2)
    np.testing.assert_allclose(four["loss"], one["loss"], rtol=1e-6)
    for a, b in zip(weights_one, weights_four):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
