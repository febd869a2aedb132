"""Bad Python texts fail before tf.data, in one line naming the input.

Before these checks, `classifier.predict([""])` raised a 700-character
`InvalidArgumentError` from the tf.data iterator with the real message
buried inside and no index.
"""

import numpy as np
import pytest
import tensorflow as tf

from keras_mobilebert import MobileBertBackbone
from keras_mobilebert import MobileBertMaskedLM
from keras_mobilebert import MobileBertMaskedLMPreprocessor
from keras_mobilebert import MobileBertQuestionAnswerer
from keras_mobilebert import MobileBertQuestionAnswererPreprocessor
from keras_mobilebert import MobileBertTextClassifier
from keras_mobilebert import MobileBertTextClassifierPreprocessor
from keras_mobilebert import MobileBertTokenizer
from keras_mobilebert.models.mobilebert.text_checks import check_text_data
from tests.models.helpers import SMALL_BACKBONE
from tests.models.helpers import VOCAB


def _tokenizer():
    return MobileBertTokenizer(vocabulary=VOCAB, lowercase=True)


@pytest.fixture(scope="module")
def classifier():
    return MobileBertTextClassifier(
        backbone=MobileBertBackbone(**SMALL_BACKBONE),
        num_classes=2,
        preprocessor=MobileBertTextClassifierPreprocessor(
            _tokenizer(), sequence_length=8
        ),
    )


@pytest.fixture(scope="module")
def masked_lm():
    return MobileBertMaskedLM(
        backbone=MobileBertBackbone(**SMALL_BACKBONE),
        preprocessor=MobileBertMaskedLMPreprocessor(
            _tokenizer(), sequence_length=8, mask_selection_length=4
        ),
    )


def _one_line_error(call, match):
    with pytest.raises(ValueError, match=match) as info:
        call()
    message = str(info.value)
    assert "\n" not in message, message
    assert len(message) < 200, message
    return message


GOOD = "the quick brown fox"
BAD_TEXTS = [
    # (texts, index in the message, problem)
    ([GOOD, ""], 1, "is empty or only whitespace"),
    ([GOOD, GOOD, " \t\n"], 2, "is empty or only whitespace"),
    ([b"caf\xe9", GOOD], 0, "is not valid UTF-8"),
    (np.array([GOOD, "  "]), 1, "is empty or only whitespace"),
    (np.array([GOOD.encode(), b"\xff"], dtype=object), 1, "is not valid UTF-8"),
    ([GOOD, "\udcff"], 1, "is not valid UTF-8"),
    ([GOOD, None], 1, "is a NoneType, not a string"),
]


@pytest.mark.parametrize("method", ["predict", "evaluate", "fit"])
@pytest.mark.parametrize("texts,index,problem", BAD_TEXTS)
def test_classifier_names_the_bad_text(
    classifier, method, texts, index, problem
):
    y = np.zeros(len(texts), "int32")
    call = {
        "predict": lambda: classifier.predict(texts, verbose=0),
        "evaluate": lambda: classifier.evaluate(texts, y, verbose=0),
        "fit": lambda: classifier.fit(texts, y, epochs=1, verbose=0),
    }[method]
    _one_line_error(call, f"^Text input {index} {problem}")


def test_classifier_names_the_segment_of_a_pair(classifier):
    first = [GOOD, GOOD]
    second = ["a great film", ""]
    message = _one_line_error(
        lambda: classifier.predict((first, second), verbose=0),
        r"^Text input 1 \(second segment\) is empty",
    )
    assert "remove it or give it text" in message
    _one_line_error(
        lambda: classifier.predict((["  "], ["a film"]), verbose=0),
        r"^Text input 0 \(first segment\) is empty",
    )


def test_classifier_checks_validation_data(classifier):
    _one_line_error(
        lambda: classifier.fit(
            [GOOD],
            [1],
            validation_data=([GOOD, ""], [0, 1]),
            epochs=1,
            verbose=0,
        ),
        "^Text input 1 is empty",
    )


def test_good_texts_still_run(classifier):
    texts = [GOOD, "a great film!", "café naïve"]
    assert classifier.predict(texts, verbose=0).shape == (3, 2)
    pairs = ([GOOD, GOOD], ["a film", "a dull movie"])
    assert classifier.predict(pairs, verbose=0).shape == (2, 2)
    assert classifier.predict(np.array(texts), verbose=0).shape == (3, 2)


def test_tensors_keep_the_check_in_the_graph(classifier):
    # Tensors are not inspected in Python: the preprocessor's assertion in
    # the graph still stops them.
    texts = tf.constant([GOOD, ""])
    dataset = tf.data.Dataset.from_tensor_slices(texts).batch(2)
    with pytest.raises(
        tf.errors.InvalidArgumentError, match="empty or only whitespace"
    ):
        classifier.predict(dataset, verbose=0)


@pytest.mark.parametrize("method", ["predict", "fit", "evaluate"])
def test_masked_lm_names_the_bad_text(masked_lm, method):
    texts = [GOOD, "   "]
    call = getattr(masked_lm, method)
    kwargs = {"epochs": 1} if method == "fit" else {}
    _one_line_error(
        lambda: call(texts, verbose=0, **kwargs),
        "^Text input 1 is empty or only whitespace",
    )
    _one_line_error(
        lambda: call([b"\xff\xfe", GOOD], verbose=0, **kwargs),
        "^Text input 0 is not valid UTF-8",
    )


def test_masked_lm_preprocessor_checks_empty_tensors_in_the_graph():
    preprocessor = MobileBertMaskedLMPreprocessor(
        _tokenizer(), sequence_length=8, mask_selection_length=4
    )
    dataset = tf.data.Dataset.from_tensor_slices([GOOD, ""]).batch(2)
    with pytest.raises(
        tf.errors.InvalidArgumentError, match="empty or only whitespace"
    ):
        list(dataset.map(preprocessor))


def test_question_answerer_already_names_the_pair():
    # The QA task windows its text in Python before Keras (its
    # preprocessor's checks); these pin the messages to one line each.
    qa = MobileBertQuestionAnswerer(
        backbone=MobileBertBackbone(**SMALL_BACKBONE),
        preprocessor=MobileBertQuestionAnswererPreprocessor(
            _tokenizer(), sequence_length=16, max_question_length=4
        ),
    )
    _one_line_error(
        lambda: qa.predict((["who?", "who?"], ["the fox", " "])),
        "The context of pair 1 is empty",
    )
    _one_line_error(
        lambda: qa.predict((["who?", ""], ["the fox", "the fox"])),
        "The question of pair 1 is empty",
    )
    _one_line_error(
        lambda: qa.fit(x=([b"\xff"], ["the fox"]), y=(["fox"], [4]), verbose=0),
        "The question of pair 0 is not valid UTF-8",
    )


def test_check_text_data_leaves_non_text_alone():
    ids = {"token_ids": np.zeros((1, 4), "int32")}
    assert check_text_data(ids) is ids
    numbers = np.arange(3)
    assert check_text_data(numbers) is numbers
    tensor = tf.constant([""])
    assert check_text_data(tensor) is tensor
    # A 2-D array names the element by its index tuple.
    _one_line_error(
        lambda: check_text_data(np.array([[GOOD], [""]])),
        r"^Text input \(1, 0\) is empty",
    )
