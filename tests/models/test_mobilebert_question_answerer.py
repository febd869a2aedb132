import os
import warnings

import keras
import numpy as np
import pytest

from keras_mobilebert import MobileBertBackbone
from keras_mobilebert import MobileBertQuestionAnswerer
from keras_mobilebert import MobileBertQuestionAnswererPreprocessor
from keras_mobilebert import MobileBertTokenizer
from keras_mobilebert.data.squad import make_example
from tests.models.helpers import SMALL_BACKBONE
from tests.models.helpers import VOCAB
from tests.models.helpers import backbone_inputs

CONTEXTS = [
    "The quick brown fox jumped.",
    "A great film was a dull movie!",
    "The movie was great, the film was dull.",
]
QUESTIONS = ["the fox?", "a film?", "the movie?"]
ANSWERS = ["brown fox", "dull movie", "great"]
STARTS = [c.index(a) for c, a in zip(CONTEXTS, ANSWERS)]


def small_qa(seed=0, **preprocessor_kwargs):
    keras.utils.set_random_seed(seed)
    preprocessor_kwargs.setdefault("sequence_length", 16)
    preprocessor_kwargs.setdefault("doc_stride", 4)
    preprocessor_kwargs.setdefault("max_question_length", 4)
    preprocessor = MobileBertQuestionAnswererPreprocessor(
        MobileBertTokenizer(vocabulary=VOCAB, lowercase=True),
        **preprocessor_kwargs,
    )
    backbone = MobileBertBackbone(**SMALL_BACKBONE)
    return MobileBertQuestionAnswerer(backbone, preprocessor=preprocessor)


def test_backbone_only_construction_still_works():
    backbone = MobileBertBackbone(**SMALL_BACKBONE)
    model = MobileBertQuestionAnswerer(backbone)
    outputs = model(backbone_inputs())
    assert set(outputs) == {"start_logits", "end_logits"}
    assert outputs["start_logits"].shape == (2, 6)
    assert model.span_head.kernel.shape == (16, 2)
    assert model.preprocessor is None
    with pytest.raises(ValueError, match="has no preprocessor"):
        model.answer("the fox?", "the fox jumped")


def test_compile_defaults_average_the_two_cross_entropies():
    qa = small_qa()
    assert isinstance(qa.optimizer, keras.optimizers.Adam)
    assert float(qa.optimizer.learning_rate) == pytest.approx(5e-5)
    windows = qa.preprocessor.encode((QUESTIONS, CONTEXTS), (ANSWERS, STARTS))
    logits = qa.predict(windows.inputs(), verbose=0)
    # Independent NumPy cross-entropy from the logits.
    expected = []
    for name, labels in (
        ("start_logits", windows.start_positions),
        ("end_logits", windows.end_positions),
    ):
        z = logits[name].astype("float64")
        z = z - z.max(-1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(-1, keepdims=True))
        expected.append(-log_p[np.arange(len(labels)), labels].mean())
    result = qa.evaluate(
        (QUESTIONS, CONTEXTS), (ANSWERS, STARTS), verbose=0, return_dict=True
    )
    assert result["loss"] == pytest.approx(np.mean(expected), rel=1e-5)
    assert result["start_logits_loss"] == pytest.approx(expected[0], rel=1e-5)


def test_fit_on_text_learns_and_answer_returns_the_context_text():
    qa = small_qa()
    qa.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = qa.fit(
        x=(QUESTIONS, CONTEXTS),
        y=(ANSWERS, STARTS),
        batch_size=3,
        epochs=60,
        verbose=0,
    )
    losses = history.history["loss"]
    assert losses[-1] < 0.2 * losses[0]
    answers = qa.answer(QUESTIONS, CONTEXTS)
    assert [a.text for a in answers] == ANSWERS
    for answer, context in zip(answers, CONTEXTS):
        assert context[answer.start : answer.end] == answer.text
        assert answer.n_best[0].text == answer.text
        assert answer.score == answer.n_best[0].score
    single = qa.answer(QUESTIONS[0], CONTEXTS[0], n_best=3)
    assert single.text == "brown fox" and len(single.n_best) == 3


def test_fit_on_records_and_validation_data():
    qa = small_qa()
    records = [
        make_example(f"q{i}", q, c, [a], [s])
        for i, (q, c, a, s) in enumerate(
            zip(QUESTIONS, CONTEXTS, ANSWERS, STARTS)
        )
    ]
    history = qa.fit(
        records,
        batch_size=2,
        epochs=1,
        validation_data=((QUESTIONS, CONTEXTS), (ANSWERS, STARTS)),
        verbose=0,
    )
    assert "val_loss" in history.history
    history = qa.fit(
        records, batch_size=2, epochs=1, validation_data=records, verbose=0
    )
    assert np.isfinite(history.history["val_loss"][0])
    answers = qa.answer(records)
    assert len(answers) == 3


def test_long_contexts_become_several_windows_in_predict():
    qa = small_qa()
    context = " ".join(["the quick brown fox jumped"] * 4)
    logits = qa.predict((["the fox?"], [context]), verbose=0)
    windows = qa.preprocessor.encode((["the fox?"], [context]))
    assert len(windows) > 1
    assert logits["start_logits"].shape == (len(windows), 16)
    direct = qa.predict(windows.inputs(), verbose=0)
    np.testing.assert_allclose(
        direct["end_logits"], logits["end_logits"], atol=1e-6
    )


def test_sample_weight_follows_the_windows():
    qa = small_qa()
    context = " ".join(["the quick brown fox jumped"] * 4)
    x = (["the fox?", "a film?"], [context, CONTEXTS[1]])
    y = (["brown fox", "dull movie"], [10, STARTS[1]])
    zero = qa.evaluate(x, y, sample_weight=[0.0, 1.0], verbose=0)
    second = qa.evaluate(
        ([x[0][1]], [x[1][1]]), ([y[0][1]], [y[1][1]]), verbose=0
    )
    # The first pair's windows weigh 0: the second pair's one window's
    # loss over the batch size (Keras averages weighted losses over all
    # samples).
    windows = qa.preprocessor.encode(x)
    assert windows.example_index.tolist() == [0, 0, 0, 0, 1]
    assert zero[0] == pytest.approx(second[0] / 5, rel=1e-5)


def test_null_threshold_answers_empty():
    qa = small_qa()
    answer = qa.answer(QUESTIONS[0], CONTEXTS[0], null_threshold=-1e9)
    assert answer.text == "" and answer.start == -1
    answer = qa.answer(QUESTIONS[0], CONTEXTS[0], null_threshold=1e9)
    assert answer.text != ""


def test_preset_round_trip_gives_identical_logits(tmp_path):
    qa = small_qa(doc_stride=5)
    qa.fit((QUESTIONS, CONTEXTS), (ANSWERS, STARTS), epochs=1, verbose=0)
    expected = qa.predict((QUESTIONS, CONTEXTS), verbose=0)
    preset = str(tmp_path / "qa")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        qa.save_to_preset(preset)
    for name in ("task.json", "task.weights.h5", "preprocessor.json"):
        assert name in os.listdir(preset)
    restored = MobileBertQuestionAnswerer.from_preset(preset)
    assert restored.preprocessor.doc_stride == 5
    got = restored.predict((QUESTIONS, CONTEXTS), verbose=0)
    for name in ("start_logits", "end_logits"):
        np.testing.assert_array_equal(got[name], expected[name])
    # A converter-style preset (backbone and tokenizer only) gets a fresh
    # head and a default preprocessor.
    backbone_only = str(tmp_path / "backbone")
    qa.backbone.save_to_preset(backbone_only)
    qa.preprocessor.tokenizer.save_to_preset(backbone_only)
    fresh = MobileBertQuestionAnswerer.from_preset(backbone_only)
    assert fresh.preprocessor.sequence_length == 384


def test_builtin_preset_without_weights_builds_offline():
    qa = MobileBertQuestionAnswerer.from_preset(
        "mobilebert_tiny_en_uncased", load_weights=False
    )
    assert qa.backbone.num_layers == 24
    assert isinstance(qa.preprocessor, MobileBertQuestionAnswererPreprocessor)
    assert qa.preprocessor.sequence_length == 384
    assert qa.preprocessor.tokenizer.vocabulary_size() == 30522


def test_text_datasets_are_refused_with_a_clear_error():
    qa = small_qa()
    with pytest.raises(ValueError, match="windows text before Keras"):
        qa.preprocess_samples(["the fox?"])


def test_answer_names_bad_input():
    qa = small_qa()
    with pytest.raises(ValueError, match="question of pair 0 is not valid"):
        qa.answer(b"\xfffox?", "the fox jumped.")
    with pytest.raises(ValueError, match="context of pair 1 is empty"):
        qa.answer(["the fox?", "a film?"], ["the fox jumped.", " "])
    with pytest.raises(ValueError, match="context of id 'q1' has no word"):
        qa.answer([make_example("q1", "the fox?", "\u200b", [], [])])
