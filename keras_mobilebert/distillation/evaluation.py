"""Scoring a distilled student on a labelled text task.

Fine-tuning accuracy mixes two things: what the student learned from the
teacher and how well a short fine-tuning run exploits it. The tools that
measure distillation (`tools/distillation_check.py`,
`tools/distillation_probe.py`) therefore score every starting point in
three ways, with the functions here:

- a linear probe of frozen features (`mean_pooled_features`,
  `linear_probe_accuracy`): what the backbone already separates;
- plain fine-tuning of a mean-pooled classifier (`fine_tune_classifier`);
- LP-FT (Kumar et al. 2022): the head trained alone on the frozen backbone
  first, then everything (`fine_tune_classifier(head_steps=...)`).

Inputs are the backbone's token arrays (`encode_texts`), not strings: the
same arrays serve every model compared.
"""

import keras
import keras_hub
import numpy as np
import tensorflow as tf


def encode_texts(tokenizer, texts, sequence_length):
    """Pack texts into `token_ids`, `segment_ids`, `padding_mask` arrays.

    Each text becomes `[CLS] tokens [SEP]`, truncated and padded to
    `sequence_length`.

    Args:
        tokenizer: a `keras_mobilebert.MobileBertTokenizer` (or any
            KerasHub WordPiece tokenizer with `[CLS]`, `[SEP]`, `[PAD]`).
        texts: list of strings.
        sequence_length: int.

    Returns:
        A dict of int32 arrays of shape `(len(texts), sequence_length)`.

    Example:
    ```python
    inputs = encode_texts(tokenizer, ["a fine film"], sequence_length=16)
    ```
    """
    packer = keras_hub.layers.MultiSegmentPacker(
        sequence_length=sequence_length,
        start_value=tokenizer.cls_token_id,
        end_value=tokenizer.sep_token_id,
        pad_value=tokenizer.pad_token_id,
    )
    token_ids, segment_ids = packer((tokenizer(tf.constant(texts)),))
    token_ids = np.asarray(token_ids, "int32")
    return {
        "token_ids": token_ids,
        "segment_ids": np.asarray(segment_ids, "int32"),
        "padding_mask": (token_ids != tokenizer.pad_token_id).astype("int32"),
    }


def mean_pooled_features(backbone, inputs, batch_size=100):
    """The backbone's sequence output averaged over real tokens.

    Args:
        backbone: a backbone returning `sequence_output`.
        inputs: dict of arrays from `encode_texts`.
        batch_size: int. Examples per forward pass.

    Returns:
        A numpy array `(examples, hidden_dim)`.

    Example:
    ```python
    features = mean_pooled_features(backbone, encode_texts(tok, texts, 64))
    ```
    """
    pooled = []
    n = len(inputs["token_ids"])
    for start in range(0, n, batch_size):
        batch = {k: v[start : start + batch_size] for k, v in inputs.items()}
        sequence = backbone(batch, training=False)["sequence_output"]
        mask = tf.cast(batch["padding_mask"], sequence.dtype)[..., None]
        pooled.append(
            (tf.reduce_sum(sequence * mask, 1) / tf.reduce_sum(mask, 1)).numpy()
        )
    return np.concatenate(pooled)


def linear_probe_accuracy(train_x, train_y, test_x, test_y, seed=0):
    """Test accuracy of a logistic regression on standardized features.

    The features are standardized with the training set's mean and
    standard deviation; the regression (L2 1e-3, Adam 1e-2, 300 full-batch
    epochs) is trained on the training set.

    Args:
        train_x: array `(examples, features)`.
        train_y: int array of labels.
        test_x: array `(examples, features)`.
        test_y: int array of labels.
        seed: int.

    Example:
    ```python
    accuracy = linear_probe_accuracy(train_x, train_y, test_x, test_y)
    ```
    """
    mean, std = train_x.mean(0), train_x.std(0) + 1e-6
    train_x, test_x = (train_x - mean) / std, (test_x - mean) / std
    keras.utils.set_random_seed(seed)
    num_classes = int(max(np.max(train_y), np.max(test_y))) + 1
    model = keras.Sequential(
        [
            keras.Input((train_x.shape[1],)),
            keras.layers.Dense(
                max(2, num_classes),
                kernel_regularizer=keras.regularizers.L2(1e-3),
            ),
        ]
    )
    model.compile(
        keras.optimizers.Adam(1e-2),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(train_x, train_y, batch_size=len(train_y), epochs=300, verbose=0)
    return float(model.evaluate(test_x, test_y, verbose=0)[1])


def mean_pooled_classifier(backbone, num_classes=2):
    """Mean-pooled sequence output -> LayerNorm -> Dropout -> Dense.

    Args:
        backbone: a backbone returning `sequence_output`.
        num_classes: int.

    Example:
    ```python
    model = mean_pooled_classifier(backbone)
    ```
    """
    inputs = backbone.input
    sequence = backbone(inputs)["sequence_output"]
    mask = keras.ops.cast(inputs["padding_mask"], sequence.dtype)[..., None]
    pooled = keras.ops.sum(sequence * mask, 1) / keras.ops.maximum(
        keras.ops.sum(mask, 1), 1.0
    )
    pooled = keras.layers.LayerNormalization(name="pool_norm")(pooled)
    pooled = keras.layers.Dropout(0.1)(pooled)
    logits = keras.layers.Dense(num_classes, name="logits")(pooled)
    return keras.Model(inputs, logits)


def fine_tune_classifier(
    backbone,
    train,
    test,
    steps,
    batch_size,
    learning_rate,
    seed,
    head_steps=0,
    head_learning_rate=1e-2,
):
    """Fine-tune a classifier on `backbone`; return train and test accuracy.

    AdamW (weight decay 0.01) with a 10% warm-up and cosine decay, on
    batches reshuffled every pass. With `head_steps`, the head is first
    trained alone on the frozen backbone at `head_learning_rate`, then
    everything for `steps` ("LP-FT", Kumar et al. 2022): the full
    fine-tuning then starts from a head that reads the backbone's
    features instead of a random one, which must otherwise be matched by
    bending those features.

    Args:
        backbone: a backbone returning `sequence_output` (trained in place).
        train: `(inputs, labels)`, inputs from `encode_texts`.
        test: `(inputs, labels)`.
        steps: int. Steps of the full fine-tuning.
        batch_size: int.
        learning_rate: float. Peak rate of the full fine-tuning.
        seed: int.
        head_steps: int. Head-only steps first (0: none).
        head_learning_rate: float. Peak rate of the head-only steps.

    Returns:
        A dict with `accuracy` (test) and `train_accuracy`.

    Example:
    ```python
    scores = fine_tune_classifier(backbone, train, test, steps=200,
                                  batch_size=32, learning_rate=2e-4, seed=0)
    ```
    """
    keras.utils.set_random_seed(seed)
    model = mean_pooled_classifier(backbone)
    x, y = train
    dataset = (
        tf.data.Dataset.from_tensor_slices((x, y))
        .shuffle(len(y), seed=seed, reshuffle_each_iteration=True)
        .repeat()
        .batch(batch_size, drop_remainder=True)
    )

    def phase(phase_steps, rate, train_backbone):
        backbone.trainable = train_backbone
        schedule = keras.optimizers.schedules.CosineDecay(
            0.0,
            phase_steps,
            alpha=0.0,
            warmup_target=rate,
            warmup_steps=max(1, phase_steps // 10),
        )
        model.compile(
            optimizer=keras.optimizers.AdamW(schedule, weight_decay=0.01),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
        model.fit(dataset, steps_per_epoch=phase_steps, epochs=1, verbose=0)

    if head_steps:
        phase(head_steps, head_learning_rate, False)
    phase(steps, learning_rate, True)
    _, train_accuracy = model.evaluate(x, y, batch_size=100, verbose=0)
    _, accuracy = model.evaluate(test[0], test[1], batch_size=100, verbose=0)
    return {
        "accuracy": float(accuracy),
        "train_accuracy": float(train_accuracy),
    }
