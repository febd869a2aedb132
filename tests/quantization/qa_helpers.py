"""A small question answerer trained on a toy span task, for the tests.

Each context is a few random words of the test vocabulary with one
"great <noun>" or "dull <noun>" phrase in it; the question names the
noun's kind and the answer is the phrase. The model is the classifier
helpers' toy backbone (2 blocks, 16 wide, QAT settings) with a span head,
16-token windows (questions of up to 4 pieces, a stride of 4: a long
context gives several windows).
"""

import functools

import keras
import numpy as np

from keras_mobilebert import MobileBertBackbone
from keras_mobilebert import MobileBertQuestionAnswerer
from keras_mobilebert import MobileBertQuestionAnswererPreprocessor
from keras_mobilebert import MobileBertTokenizer
from tests.models.helpers import VOCAB
from tests.quantization.helpers import TOY_BACKBONE

SEQUENCE_LENGTH = 16
# The Task Library's BertQuestionAnswerer runs 384-token windows only;
# the toy trains on short windows, with a table long enough to export at
# 384.
TOY_QA_BACKBONE = {**TOY_BACKBONE, "max_sequence_length": 384}
FILLER = ["the", "quick", "brown", "jumped", "a", "was"]
NOUNS = ["fox", "film", "movie"]


def toy_pairs(count, seed=0):
    """`(questions, contexts, answers, starts)` of the toy task."""
    rng = np.random.RandomState(seed)
    questions, contexts, answers, starts = [], [], [], []
    for _ in range(count):
        noun = str(rng.choice(NOUNS))
        phrase = f"{rng.choice(['great', 'dull'])} {noun}"
        words = list(rng.choice(FILLER, rng.randint(2, 9)))
        where = rng.randint(len(words) + 1)
        before = " ".join(words[:where])
        context = " ".join(w for w in (before, phrase, *words[where:]) if w)
        questions.append(f"the {noun}?")
        contexts.append(context + ".")
        answers.append(phrase)
        starts.append(len(before) + 1 if before else 0)
    return questions, contexts, answers, starts


def toy_preprocessor():
    return MobileBertQuestionAnswererPreprocessor(
        MobileBertTokenizer(vocabulary=VOCAB, lowercase=True),
        sequence_length=SEQUENCE_LENGTH,
        doc_stride=4,
        max_question_length=4,
    )


def untrained_question_answerer(seed=0, **backbone_overrides):
    keras.utils.set_random_seed(seed)
    backbone = MobileBertBackbone(**{**TOY_QA_BACKBONE, **backbone_overrides})
    return MobileBertQuestionAnswerer(backbone, preprocessor=toy_preprocessor())


@functools.lru_cache(maxsize=1)
def trained_question_answerer():
    """The toy question answerer after 8 epochs (built once per session)."""
    qa = untrained_question_answerer()
    questions, contexts, answers, starts = toy_pairs(256)
    qa.compile(optimizer=keras.optimizers.Adam(3e-3))
    qa.fit(
        x=(questions, contexts),
        y=(answers, starts),
        batch_size=32,
        epochs=8,
        verbose=0,
    )
    return qa


def with_task_library_windows(qa):
    """The same model (shared weights) with the Task Library's windows.

    384 tokens, questions of up to 64 pieces: what a `[1, 384]` file's
    client feeds it, so `answer` and the file see the same window.
    """
    preprocessor = MobileBertQuestionAnswererPreprocessor(
        qa.preprocessor.tokenizer, sequence_length=384
    )
    copy = MobileBertQuestionAnswerer(qa.backbone, preprocessor=preprocessor)
    copy.span_head.set_weights(qa.span_head.get_weights())
    return copy
