"""The fine-tuning optimizer every job uses: AdamW, warmup, cosine decay."""

import keras


def finetuning_optimizer(learning_rate, warmup_fraction, steps):
    """AdamW with linear warmup then cosine decay to zero, BERT-style.

    Args:
        learning_rate: float. The rate reached at the end of the warmup.
        warmup_fraction: float. Share of `steps` spent warming up from 0
            (at least one step).
        steps: int. Total optimizer steps of the run.

    Returns:
        A `keras.optimizers.AdamW` (weight decay 0.01).

    Example:
    ```python
    optimizer = finetuning_optimizer(5e-4, 0.1, steps=400)
    classifier.compile(optimizer=optimizer, loss=..., metrics=...)
    ```
    """
    warmup = max(1, int(steps * warmup_fraction))
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0,
        decay_steps=max(1, steps - warmup),
        warmup_target=learning_rate,
        warmup_steps=warmup,
    )
    return keras.optimizers.AdamW(schedule, weight_decay=0.01)
