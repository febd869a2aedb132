"""Against live `transformers` models (skipped when it is not installed).

These build small HF models of each head type, save them as users'
snapshots are saved (`save_pretrained`), load them through the public
`from_preset` paths and compare with HF's own outputs.
"""

import numpy as np
import pytest

import keras_mobilebert
from keras_mobilebert.convert.hf_checkpoint import convert_snapshot
from keras_mobilebert.convert.task_builders import build_question_answerer

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

CONFIG = dict(
    vocab_size=50,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=24,
    embedding_size=8,
    intra_bottleneck_size=16,
    max_position_embeddings=20,
    num_feedforward_networks=2,
    hidden_dropout_prob=0.0,
    attention_probs_dropout_prob=0.0,
    attn_implementation="eager",
)
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [
    f"w{i}" for i in range(45)
]


def _save(model, path):
    model.save_pretrained(str(path))
    (path / "vocab.txt").write_text("\n".join(VOCAB) + "\n")
    return path


def _perturb(model, seed=0):
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in model.parameters():
            noise = torch.randn(param.shape, generator=generator)
            if param.dim() == 1:
                param.add_(0.1 * noise)
            else:
                param.copy_(noise / np.sqrt(param.shape[-1]))
    return model


def _inputs(padded=False):
    rng = np.random.default_rng(1)
    ids = rng.integers(5, 50, size=(2, 10))
    ids[:, 0] = 2
    mask = np.ones_like(ids)
    if padded:
        ids[1, 7:] = 0
        mask[1, 7:] = 0
    segments = np.zeros_like(ids)
    segments[:, 5:] = 1
    return ids, segments, mask


def _torch(ids, segments, mask):
    return dict(
        input_ids=torch.tensor(ids),
        token_type_ids=torch.tensor(segments),
        attention_mask=torch.tensor(mask),
    )


def _keras(ids, segments, mask):
    return {
        "token_ids": ids.astype("int32"),
        "segment_ids": segments.astype("int32"),
        "padding_mask": mask.astype("int32"),
    }


def _close(actual, expected, rel=1e-5):
    expected = np.asarray(expected)
    np.testing.assert_allclose(
        np.asarray(actual), expected, rtol=0, atol=rel * np.abs(expected).max()
    )


@pytest.mark.parametrize("padded", [False, True])
def test_sequence_classifier(tmp_path, padded):
    config = transformers.MobileBertConfig(
        **CONFIG,
        num_labels=3,
        id2label={0: "a", 1: "b", 2: "c"},
        label2id={"a": 0, "b": 1, "c": 2},
    )
    model = _perturb(
        transformers.MobileBertForSequenceClassification(config).eval()
    )
    path = _save(model, tmp_path / "cls")
    x = _inputs(padded)
    with torch.no_grad():
        expected = model(**_torch(*x)).logits.numpy()
    classifier = keras_mobilebert.MobileBertTextClassifier.from_preset(
        str(path)
    )
    assert classifier.id2label == {0: "a", 1: "b", 2: "c"}
    assert classifier.backbone.use_pooler  # HF default classifier_activation
    _close(classifier(_keras(*x)), expected)


def test_question_answering(tmp_path):
    config = transformers.MobileBertConfig(**CONFIG, num_labels=2)
    model = _perturb(transformers.MobileBertForQuestionAnswering(config).eval())
    path = _save(model, tmp_path / "qa")
    x = _inputs()
    with torch.no_grad():
        out = model(**_torch(*x))
    qa = build_question_answerer(convert_snapshot(path))
    result = qa(_keras(*x))
    _close(result["start_logits"], out.start_logits.numpy())
    _close(result["end_logits"], out.end_logits.numpy())


def test_masked_lm(tmp_path):
    config = transformers.MobileBertConfig(**CONFIG)
    model = _perturb(transformers.MobileBertForMaskedLM(config).eval())
    model.tie_weights()
    path = _save(model, tmp_path / "mlm")
    x = _inputs()
    with torch.no_grad():
        expected = model(**_torch(*x)).logits.numpy()
    masked_lm = keras_mobilebert.MobileBertMaskedLM.from_preset(str(path))
    positions = np.tile(np.arange(10), (2, 1)).astype("int32")
    logits = masked_lm({**_keras(*x), "mask_positions": positions})
    np.testing.assert_allclose(np.asarray(logits), expected, atol=1e-4)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_base_model_in_half_precision(tmp_path, dtype):
    config = transformers.MobileBertConfig(**CONFIG)
    model = _perturb(transformers.MobileBertModel(config).eval())
    model = model.to(getattr(torch, dtype))
    path = _save(model, tmp_path / "base")
    backbone = keras_mobilebert.MobileBertBackbone.from_preset(str(path))
    reference = model.float()
    x = _inputs()
    with torch.no_grad():
        expected = reference(**_torch(*x)).last_hidden_state.numpy()
    # The same (half-precision-rounded) weights, computed in float32.
    _close(backbone(_keras(*x))["sequence_output"], expected)


def test_teacher_style_layer_norm_model_per_layer(tmp_path):
    config = transformers.MobileBertConfig(
        **{
            **CONFIG,
            "intra_bottleneck_size": 32,
            "num_feedforward_networks": 1,
        },
        normalization_type="layer_norm",
        hidden_act="gelu",
        key_query_shared_bottleneck=False,
    )
    model = transformers.MobileBertModel(config).eval()
    path = _save(model, tmp_path / "teacher")
    x = _inputs(padded=True)
    with torch.no_grad():
        out = model(**_torch(*x), output_hidden_states=True)
    backbone = keras_mobilebert.MobileBertBackbone.from_preset(str(path))
    assert backbone.activation == "gelu"  # HF "gelu" is the exact erf form
    hidden = backbone.intermediates_model()(_keras(*x))["hidden_states"]
    assert len(hidden) == len(out.hidden_states)
    for ours, theirs in zip(hidden, out.hidden_states):
        _close(ours, theirs.numpy())


@pytest.mark.large
def test_full_size_mobilebert_per_layer(tmp_path):
    # google/mobilebert-uncased's configuration with random weights (HF's
    # std-0.02 initializer, NoNorm and biases perturbed), end to end through
    # the converter; the same check as tools/make_parity_fixtures.py
    # --full-size, which also reports the figures.
    config = transformers.MobileBertConfig(
        classifier_activation=False, attn_implementation="eager"
    )
    model = transformers.MobileBertForPreTraining(config).eval()
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if param.dim() == 1:
                noise = torch.randn(param.shape, generator=generator)
                base = 1.0 if name.endswith("LayerNorm.weight") else 0.0
                param.copy_(base + 0.1 * noise)
    model.tie_weights()
    model.save_pretrained(str(tmp_path))
    rng = np.random.default_rng(0)
    ids = rng.integers(1000, 30000, size=(2, 64))
    mask = np.ones_like(ids)
    ids[1, 48:] = 0
    mask[1, 48:] = 0
    segments = np.zeros_like(ids)
    with torch.no_grad():
        out = model(
            **_torch(ids, segments, mask),
            output_hidden_states=True,
        )
    converted = convert_snapshot(tmp_path)
    assert converted.backbone.count_params() == 24581888
    x = _keras(ids, segments, mask)
    hidden = converted.backbone.intermediates_model()(x)["hidden_states"]
    assert len(hidden) == 25
    for ours, theirs in zip(hidden, out.hidden_states):
        _close(ours, theirs.numpy())
    positions = np.tile(np.arange(64), (2, 1)).astype("int32")
    logits = converted.pretraining_model({**x, "mask_positions": positions})
    np.testing.assert_allclose(
        np.asarray(logits["mlm_logits"]),
        out.prediction_logits.numpy(),
        atol=1e-4,
    )


@pytest.mark.large
def test_full_size_question_answering_from_preset(tmp_path):
    # google/mobilebert-uncased's configuration (transformers' defaults,
    # its config.json's classifier_activation=False: no pooler) with
    # torch's seeded initialization, saved as a user's SQuAD fine-tune is
    # (`qa_outputs.weight/bias`), loaded by the task's from_preset;
    # unpadded inputs (REFERENCE.md section 3).
    torch.manual_seed(0)
    config = transformers.MobileBertConfig(
        classifier_activation=False, attn_implementation="eager"
    )
    model = transformers.MobileBertForQuestionAnswering(config).eval()
    model.save_pretrained(str(tmp_path))
    (tmp_path / "vocab.txt").write_text(
        "\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
        + "\n"
        + "\n".join(f"w{i}" for i in range(config.vocab_size - 5))
        + "\n"
    )
    rng = np.random.default_rng(0)
    ids = rng.integers(1000, 30000, size=(2, 128))
    ids[:, 0] = 2
    segments = np.zeros_like(ids)
    segments[:, 40:] = 1
    mask = np.ones_like(ids)
    with torch.no_grad():
        out = model(**_torch(ids, segments, mask))
    qa = keras_mobilebert.MobileBertQuestionAnswerer.from_preset(str(tmp_path))
    assert qa.backbone.count_params() == 24581888
    assert qa.preprocessor.sequence_length == 384
    result = qa(_keras(ids, segments, mask))
    _close(result["start_logits"], out.start_logits.numpy())
    _close(result["end_logits"], out.end_logits.numpy())
