"""Fine-tuning throughput: keras_mobilebert's `fit` against HF PyTorch.

Both train a two-class MobileBERT sequence classifier (random weights,
the `mobilebert_en_uncased` configuration unless told otherwise) on random
token ids at the same batch size and sequence length, with Adam(W) at
5e-5: keras_mobilebert through `MobileBertClassifier.fit` (KerasHub's
default compile; Keras leaves XLA off on CPU), HF PyTorch through its
usual training step (forward with labels, backward, optimizer step). The
two alternate in rounds, in a new random order each round, so the
machine's load falls on both alike; examples per second are the batch
size over the median step time.
"""

import time

import numpy as np

from keras_mobilebert.export.latency import quiet_threads
from keras_mobilebert.export.latency import timing_summary
from keras_mobilebert.export.latency import token_ids


def _batch(batch_size, sequence_length, vocabulary_size, seed=0):
    ids = token_ids(sequence_length, seed, vocabulary_size, batch_size)
    labels = np.random.RandomState(seed).randint(0, 2, (batch_size,))
    return ids, labels.astype("int32")


def keras_trainer(backbone, batch_size, sequence_length, steps):
    """A callable running `fit` for `steps` batches; returns step seconds.

    Each call is one `fit` of one epoch over `steps` batches; the step
    times come from a callback (`on_train_batch_begin`/`_end`), so the
    set-up of each `fit` call is not counted.

    Example:
    ```python
    train = keras_trainer(backbone, 16, 128, steps=2)
    seconds = train()
    ```
    """
    import keras

    from keras_mobilebert.models.mobilebert.mobilebert_text_classifier import (
        MobileBertTextClassifier,
    )

    classifier = MobileBertTextClassifier(
        backbone=backbone, num_classes=2, preprocessor=None
    )
    classifier.compile()
    ids, labels = _batch(
        batch_size * steps, sequence_length, backbone.vocabulary_size
    )
    x = {
        "token_ids": ids,
        "padding_mask": np.ones_like(ids),
        "segment_ids": np.zeros_like(ids),
    }

    class StepTimes(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            self.start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            self.times.append(time.perf_counter() - self.start)

    callback = StepTimes()

    def train():
        callback.times = []
        classifier.fit(
            x,
            labels,
            batch_size=batch_size,
            epochs=1,
            shuffle=False,
            verbose=0,
            callbacks=[callback],
        )
        return list(callback.times)

    return train


def torch_trainer(model, batch_size, sequence_length, steps, num_threads):
    """A callable running `steps` HF PyTorch training steps; returns step
    seconds.

    Example:
    ```python
    train = torch_trainer(hf_classifier, 16, 128, steps=2, num_threads=2)
    ```
    """
    import torch

    torch.set_num_threads(num_threads)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-5)
    ids, labels = _batch(batch_size, sequence_length, model.config.vocab_size)
    inputs = {
        "input_ids": torch.from_numpy(ids.astype("int64")),
        "attention_mask": torch.ones(ids.shape, dtype=torch.int64),
        "token_type_ids": torch.zeros(ids.shape, dtype=torch.int64),
        "labels": torch.from_numpy(labels.astype("int64")),
    }

    def train():
        times = []
        for _ in range(steps):
            start = time.perf_counter()
            optimizer.zero_grad()
            model(**inputs).loss.backward()
            optimizer.step()
            times.append(time.perf_counter() - start)
        return times

    return train


def finetune_throughput(
    backbone,
    torch_model=None,
    batch_size=16,
    sequence_length=128,
    rounds=3,
    steps_per_round=2,
    num_threads=2,
    log=None,
    seed=0,
):
    """Examples per second of `fit` and (optionally) HF PyTorch, interleaved.

    Args:
        backbone: the Keras `MobileBertBackbone` to fine-tune (a classifier
            is built on it).
        torch_model: an HF sequence classifier
            (`reference_models.build_torch_model(..., task=
            "classification")`), or None for the Keras row only.
        batch_size: int.
        sequence_length: int.
        rounds: int. Timed rounds (after one untimed warm-up round, which
            also builds the Keras train function).
        steps_per_round: int. Training steps of each framework per round.
        num_threads: int. PyTorch's threads (TensorFlow keeps its own pool,
            one thread per core).
        log: callable taking one string, or None.
        seed: int. Seed of the rounds' order.

    Returns:
        A dict of `"keras"` (and `"torch"`) to `timing_summary` of the step
        times plus `examples_per_second`.

    Example:
    ```python
    result = finetune_throughput(backbone, rounds=1, steps_per_round=1)
    ```
    """
    quiet_threads()
    trainers = {
        "keras": keras_trainer(
            backbone, batch_size, sequence_length, steps_per_round
        )
    }
    if torch_model is not None:
        trainers["torch"] = torch_trainer(
            torch_model,
            batch_size,
            sequence_length,
            steps_per_round,
            num_threads,
        )
    for train in trainers.values():
        train()  # Warm-up: graph tracing, allocator, optimizer state.
    times = {name: [] for name in trainers}
    rng = np.random.RandomState(seed)
    for r in range(rounds):
        for name in rng.permutation(sorted(trainers)):
            times[name] += trainers[name]()
        if log:
            log(f"fine-tuning round {r + 1}/{rounds} done")
    result = {}
    for name, seconds in times.items():
        summary = timing_summary(seconds)
        summary["examples_per_second"] = batch_size / (
            summary["median_ms"] / 1000.0
        )
        result[name] = summary
    return result
