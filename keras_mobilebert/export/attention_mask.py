"""The attention mask a model is exported with.

Full-integer and float16 files cannot take the `"additive"` mask (see
`ExportMode.needs_fill_mask`); the exporter converts a `"fill"` copy.
"""

from keras_mobilebert.export.signatures import backbone_of
from keras_mobilebert.models.rebuild import rebuild_with_config


def attention_mask_mode(model):
    """The model's attention mask mode, or None for other backbones.

    Example:
    ```python
    attention_mask_mode(classifier)  # "additive"
    ```
    """
    return getattr(backbone_of(model), "attention_mask_mode", None)


def with_attention_mask_mode(model, mode):
    """A copy of a MobileBERT model with another attention mask mode.

    Same architecture and weights; only the masking of padded keys
    changes. Full-integer (int8) conversion needs `"fill"`: the
    `"additive"` mask adds the most negative float32 (-3.4e38) to masked
    logits, and the TFLite quantizer of TensorFlow 2.21 aborts the whole
    process (SIGABRT, no Python exception) on that range. `"fill"` sets
    masked logits to -6 (GR's int8 mask), so padded keys keep a weight of
    about e^-6 relative to a zero logit instead of exactly 0; on the main
    job's classifier the two agree on all 800 held-out labels (max logit
    difference 0.09 for logits up to 4.5).

    Args:
        model: a MobileBERT backbone, or a task (classifier, masked LM)
            built on one.
        mode: string. `"additive"` or `"fill"`.

    Returns:
        The model itself if it already uses `mode`, else a copy (rebuilt
        from its whole config, weights copied by path).

    Example:
    ```python
    int8_ready = with_attention_mask_mode(classifier, "fill")
    ```
    """
    if attention_mask_mode(model) == mode:
        return model
    return rebuild_with_config(
        model, backbone_changes={"attention_mask_mode": mode}
    )
