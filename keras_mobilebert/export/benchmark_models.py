"""The Keras models the benchmark times: random weights, trained-like norms.

Latency does not depend on weight values, with one exception: a freshly
initialized NoNorm computes `x * 1 + 0`, which the LiteRT converter drops,
so a random MobileBERT hides the cost its NoNorms have once trained (13 ADD
and 7 MUL per block instead of 7 and 1; docs/performance.md). The
benchmark's MobileBERTs therefore get NoNorm scales and offsets drawn away
from the identity (`trained_like_norms`), as HF's get
(`reference_models.randomize_no_norms`).
"""

import numpy as np

from keras_mobilebert.utils.errors import ConfigError

MODELS = {
    "mobilebert": "MobileBERT (24 layers, 512 wide, 128 bottleneck)",
    "mobilebert_tiny": "MobileBERT-TINY (bottleneck attention, 2 FFNs)",
    "bert_base": "BERT-base-sized (KerasHub BertBackbone, 12 x 768)",
}
# The HF model each of ours is compared with (PyTorch and ONNX Runtime).
HF_MODELS = {"mobilebert": "mobilebert", "bert_base": "bert_base"}


def trained_like_norms(backbone, seed=0):
    """Draw every NoNorm's gamma and beta away from `x * 1 + 0`, in place.

    Gamma in +-[0.5, 1.5] (random sign), beta ~ N(0, 0.5): what a trained
    model's NoNorms look like to the converter. LayerNorm models are left
    alone (their gamma and beta cost the same whatever the values).

    Args:
        backbone: a `MobileBertBackbone`.
        seed: int.

    Returns:
        The backbone.

    Example:
    ```python
    backbone = trained_like_norms(MobileBertBackbone(**config))
    ```
    """
    if getattr(backbone, "normalization", None) != "no_norm":
        return backbone
    rng = np.random.RandomState(seed)
    for w in backbone.weights:
        if w.path.endswith("/gamma"):
            sign = rng.choice([-1.0, 1.0], w.shape)
            w.assign(rng.uniform(0.5, 1.5, w.shape) * sign)
        elif w.path.endswith("/beta"):
            w.assign(rng.normal(0.0, 0.5, w.shape))
    return backbone


def build_model(name, seed=0):
    """A randomly initialized backbone of one of `MODELS`.

    MobileBERTs get trained-like NoNorms (`trained_like_norms`).

    Args:
        name: string. A key of `MODELS`.
        seed: int. Seed of the weights.

    Example:
    ```python
    backbone = build_model("mobilebert_tiny")
    ```
    """
    import keras

    keras.utils.set_random_seed(seed)
    if name == "bert_base":
        import keras_hub

        return keras_hub.models.BertBackbone(
            vocabulary_size=30522,
            num_layers=12,
            num_heads=12,
            hidden_dim=768,
            intermediate_dim=3072,
            max_sequence_length=512,
        )
    from keras_mobilebert.models.mobilebert.mobilebert_backbone import (
        MobileBertBackbone,
    )

    presets = {
        "mobilebert": "mobilebert_en_uncased",
        "mobilebert_tiny": "mobilebert_tiny_en_uncased",
    }
    if name not in presets:
        raise ConfigError(
            f"Unknown benchmark model {name!r}; expected one of "
            f"{tuple(MODELS)}."
        )
    backbone = MobileBertBackbone.from_preset(presets[name], load_weights=False)
    return trained_like_norms(backbone, seed)
