"""Numerical parity of converted checkpoints with the frameworks they left.

The fixtures (tools/make_parity_fixtures.py) hold small seeded-random HF
`MobileBertForPreTraining` models of the three variants, the same weights as
an original TF1 checkpoint, and HF's outputs; `ib_bert` is the real IB-BERT
shape (inner width != hidden width), which HF cannot run, with outputs of a
float64 transcription of GR's `modeling.py`.
"""

import numpy as np
import pytest

from keras_mobilebert.convert.hf_checkpoint import convert_snapshot
from keras_mobilebert.convert.tf1_checkpoint import convert_tf1_checkpoint

from .parity import FIXTURES
from .parity import HF_VARIANTS
from .parity import assert_parity
from .parity import compare
from .parity import inputs
from .parity import load_io
from .parity import run_keras

_CACHE = {}


def hf_converted(variant):
    key = ("hf", variant)
    if key not in _CACHE:
        _CACHE[key] = convert_snapshot(FIXTURES / variant / "hf")
    return _CACHE[key]


def tf1_converted(variant, **kwargs):
    key = ("tf1", variant, tuple(sorted(kwargs.items())))
    if key not in _CACHE:
        _CACHE[key] = convert_tf1_checkpoint(
            FIXTURES / variant / "tf1" / "model.ckpt", **kwargs
        )
    return _CACHE[key]


@pytest.mark.parametrize("variant", HF_VARIANTS)
def test_huggingface_unpadded_parity(variant):
    io = load_io(variant)
    model = hf_converted(variant).pretraining_model
    figures = compare(run_keras(model, inputs(io)), io)
    assert len(figures["hidden"]) == model.backbone.num_layers + 1
    assert_parity(figures)


@pytest.mark.parametrize("variant", HF_VARIANTS)
def test_huggingface_padded_parity(variant):
    # Same padding as HF: [PAD] ids in the trigram window and HF's additive
    # mask give HF's numbers at every position, padded ones included.
    io = load_io(variant)
    model = hf_converted(variant).pretraining_model
    figures = compare(run_keras(model, inputs(io, padded=True)), io, "padded_")
    assert_parity(figures)


@pytest.mark.parametrize("variant", HF_VARIANTS)
def test_padding_changes_real_tokens(variant):
    # HF issues 7070 / 9860: the last real token's trigram sees the [PAD]
    # embedding instead of the zeros past the sequence end, and every token
    # attends to that token, so real-token outputs depend on the padding.
    # keras_mobilebert reproduces that (test above) rather than hiding it.
    io = load_io(variant)
    model = hf_converted(variant).pretraining_model
    x = inputs(io, padded=True)
    real = int(x["padding_mask"][1].sum())
    short = {k: v[1:2, :real] for k, v in x.items()}
    padded_out = run_keras(model, x)
    short_out = run_keras(model, short)
    last = f"hidden_{model.backbone.num_layers}"
    diff = np.abs(padded_out[last][1, :real] - short_out[last][0]).max()
    assert diff > 1e-3 * np.abs(short_out[last]).max()
    # HF itself shows the same dependence: its padded output is what we
    # compute for the padded row, not the short sequence's.
    np.testing.assert_allclose(
        padded_out[last][1, :real],
        io[f"padded_{last}"][1, :real],
        rtol=0,
        atol=1e-5 * np.abs(io[f"padded_{last}"]).max(),
    )


@pytest.mark.parametrize("variant", ("mobilebert", "tiny"))
def test_tf1_unpadded_parity(variant):
    # NoNorm models: GR and HF compute the same function, so the TF1
    # checkpoint must give HF's outputs.
    io = load_io(variant)
    model = tf1_converted(variant).pretraining_model
    assert model.backbone.attention_mask_mode == "fill"
    assert_parity(compare(run_keras(model, inputs(io)), io))


@pytest.mark.parametrize("variant", HF_VARIANTS)
def test_tf1_and_hf_give_the_same_weights(variant):
    hf = hf_converted(variant).pretraining_model
    tf1 = tf1_converted(variant).pretraining_model
    hf_weights = {w.path: np.asarray(w) for w in hf.weights}
    tf1_weights = {w.path: np.asarray(w) for w in tf1.weights}
    assert sorted(hf_weights) == sorted(tf1_weights)
    for path, value in hf_weights.items():
        np.testing.assert_array_equal(tf1_weights[path], value, err_msg=path)


def test_teacher_epsilons_follow_the_source_framework():
    hf = hf_converted("teacher").backbone
    tf1 = tf1_converted("teacher").backbone
    assert hf.embedding_layer_norm_epsilon == 1e-5
    assert hf.last_ffn_layer_norm_epsilon == 1e-5
    assert hf.layer_norm_epsilon == 1e-12
    assert tf1.embeddings.norm.epsilon == 1e-12
    assert tf1.transformer_layers[0].stacked_ffn.norm_layers[-1].epsilon == (
        1e-12
    )


def test_tf1_ib_bert_matches_gr_math():
    io = load_io("ib_bert")
    converted = tf1_converted("ib_bert")
    backbone = converted.backbone
    assert backbone.bottleneck_dim != backbone.hidden_dim
    assert not backbone.key_query_shared_bottleneck
    assert backbone.activation == "gelu_approximate"
    assert_parity(
        compare(run_keras(converted.pretraining_model, inputs(io)), io)
    )


def test_tf1_ib_bert_padded_matches_gr_fill_mask():
    io = load_io("ib_bert")
    model = tf1_converted("ib_bert").pretraining_model
    x = inputs(io, padded=True)
    assert_parity(compare(run_keras(model, x), io, "padded_"))


def test_tf1_additive_mask_differs_from_gr_on_padding():
    # The mask mode matters only for padded inputs: GR's -6 leaves
    # e^-6-weighted attention on [PAD] keys, HF's mask none.
    io = load_io("mobilebert")
    fill = tf1_converted("mobilebert").pretraining_model
    additive = tf1_converted(
        "mobilebert", attention_mask_mode="additive"
    ).pretraining_model
    x = inputs(io, padded=True)
    fill_out = run_keras(fill, x)
    additive_out = run_keras(additive, x)
    assert_parity(compare(additive_out, io, "padded_"))
    last = "hidden_2"
    assert np.abs(fill_out[last] - additive_out[last]).max() > 1e-4


def test_real_weights_are_not_available():
    # REFERENCE.md section 8: no package registry ships MobileBERT weights,
    # so the section 3 reference values of google/mobilebert-uncased cannot
    # be checked offline. A converted copy in the cache would be used.
    from keras_mobilebert.models.mobilebert.builtin_presets import (
        converted_preset_dir,
    )

    path = converted_preset_dir("mobilebert_en_uncased")
    if not (path / "config.json").is_file():
        pytest.skip(f"no converted google/mobilebert-uncased at {path}")
    import keras_mobilebert

    backbone = keras_mobilebert.MobileBertBackbone.from_preset(
        "mobilebert_en_uncased"
    )
    ids = np.array([[101, 7110, 1005, 1056, 2023, 11333, 17413, 1029, 102]])
    out = backbone(
        {
            "token_ids": ids,
            "segment_ids": np.zeros_like(ids),
            "padding_mask": np.ones_like(ids),
        }
    )["sequence_output"]
    expected = np.array(
        [
            [-2.4736526e07, 8.2691656e04, 1.6521838e05],
            [-5.7541704e-01, 3.9056022e00, 4.4011507e00],
            [2.6047359e00, 1.5677652e00, -1.7324188e-01],
        ]
    )
    ratio = np.asarray(out)[0, :3, :3] / expected
    np.testing.assert_allclose(ratio, 1.0, rtol=1e-3)


def test_additive_mask_masks_huge_logits():
    # MobileBERT's NoNorm activations reach ~1e7 on the released weights,
    # so attention logits can pass 1e9; HF's mask (most negative float32)
    # still zeroes padded keys, and so must ours.
    import keras

    from keras_mobilebert.layers.attention import mask_attention_scores

    scores = np.full((1, 1, 1, 3), 1e12, "float32")
    scores[..., 2] = 3e12
    masked = mask_attention_scores(scores, np.array([[1, 1, 0]]), "additive")
    probs = np.asarray(keras.ops.softmax(masked, axis=-1))
    np.testing.assert_array_equal(probs[..., 2], 0.0)
    np.testing.assert_allclose(probs[..., :2], 0.5)
