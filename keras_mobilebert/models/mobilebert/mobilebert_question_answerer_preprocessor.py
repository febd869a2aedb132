"""Turns (question, context) pairs into MobileBERT span-QA windows."""

import warnings

import keras
import numpy as np
import tensorflow as tf
from keras_hub.models import Preprocessor

from keras_mobilebert.models.mobilebert.builtin_preprocessors import (
    BuiltinPreprocessorMixin,
)
from keras_mobilebert.models.mobilebert.mobilebert_backbone import (
    MobileBertBackbone,
)
from keras_mobilebert.models.mobilebert.mobilebert_tokenizer import (
    MobileBertTokenizer,
)
from keras_mobilebert.models.mobilebert.question_answerer_windows import (
    WindowPacker,
)
from keras_mobilebert.models.mobilebert.question_answerer_windows import (
    answer_token_span,
)
from keras_mobilebert.models.mobilebert.question_answerer_windows import (
    stack_windows,
)
from keras_mobilebert.models.mobilebert.wordpiece_offsets import (
    WordPieceOffsets,
)


def _text(item, what, name):
    """`item` as a string; a one-line error names the field and the pair.

    Args:
        item: str, or bytes in UTF-8.
        what: string. The field, e.g. `"question"`.
        name: string. The pair, e.g. `"pair 3"` or `"id '56be...'"`.
    """
    if isinstance(item, bytes):
        try:
            return item.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ValueError(
                f"The {what} of {name} is not valid UTF-8 ({e}); decode it "
                "with its real encoding first."
            ) from None
    if not isinstance(item, str):
        raise TypeError(
            f"The {what} of {name} is not a string (got {type(item).__name__})."
        )
    return item


def _as_list(value):
    """Strings as a flat list: one string, a list, a NumPy or TF array."""
    if isinstance(value, (str, bytes)):
        return [value]
    if isinstance(value, tf.Tensor):
        value = value.numpy()
    if isinstance(value, np.ndarray):
        return value.reshape(-1).tolist()
    return list(value)


def _strings(value, what):
    return [_text(item, what, f"pair {i}") for i, item in enumerate(value)]


def _is_string_list(value):
    if isinstance(value, (str, bytes)):
        return True
    if isinstance(value, tf.Tensor):
        return value.dtype == tf.string
    if isinstance(value, (list, np.ndarray)):
        return len(value) > 0 and all(
            isinstance(v, (str, bytes)) for v in value
        )
    return False


def _is_records(x):
    return (
        isinstance(x, (list, tuple))
        and len(x) > 0
        and all(hasattr(r, "question") and hasattr(r, "context") for r in x)
    )


def is_text_input(x):
    """Whether `x` is text pairs or records (not windows the model takes).

    Example:
    ```python
    is_text_input((["Who?"], ["The fox."]))  # True
    ```
    """
    if _is_records(x):
        return True
    return (
        isinstance(x, (tuple, list)) and len(x) == 2 and _is_string_list(x[0])
    )


def split_inputs(x, y=None):
    """`(questions, contexts, answers, ids)` from the accepted input forms.

    `x` is `(questions, contexts)` (lists of strings, or one string each)
    or a list of records with `question`, `context` and, for training,
    `answer_texts` and `answer_starts` (e.g.
    `keras_mobilebert.data.squad.SquadExample`; the first gold answer is
    the target). `y` is None or `(answer_texts, answer_starts)`, with `""`
    and -1 for an unanswerable question. `answers` is None or a list of
    `(text, start)` per pair, `None` for no answer; `ids` names the pairs
    in errors.
    """
    if _is_records(x):
        if y is not None:
            raise ValueError(
                "Records carry their answers; pass y=None with a list of "
                "records."
            )
        ids = [f"id {getattr(r, 'id', i)!r}" for i, r in enumerate(x)]
        questions = [_text(r.question, "question", n) for r, n in zip(x, ids)]
        contexts = [_text(r.context, "context", n) for r, n in zip(x, ids)]
        answers = None
        if all(hasattr(r, "answer_texts") for r in x):
            answers = [
                (r.answer_texts[0], r.answer_starts[0])
                if r.answer_texts
                else None
                for r in x
            ]
        return questions, contexts, answers, ids
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        raise ValueError(
            "Expected x=(questions, contexts) or a list of records with "
            f"`question` and `context`; got a {type(x).__name__}."
        )
    questions = _strings(_as_list(x[0]), "question")
    contexts = _strings(_as_list(x[1]), "context")
    if len(questions) != len(contexts):
        raise ValueError(
            f"Got {len(questions)} questions but {len(contexts)} contexts."
        )
    ids = [f"pair {i}" for i in range(len(questions))]
    answers = None
    if y is not None:
        if not isinstance(y, (tuple, list)) or len(y) != 2:
            raise ValueError(
                "Expected y=(answer_texts, answer_starts); got a "
                f"{type(y).__name__}."
            )
        texts = _strings(_as_list(y[0]), "answer text")
        starts = [int(s) for s in np.asarray(y[1]).reshape(-1)]
        if not len(texts) == len(starts) == len(questions):
            raise ValueError(
                f"Got {len(questions)} questions, {len(texts)} answer texts "
                f"and {len(starts)} answer starts."
            )
        answers = [
            (text, start) if text else None
            for text, start in zip(texts, starts)
        ]
    return questions, contexts, answers, ids


@keras.saving.register_keras_serializable(package="keras_mobilebert")
class MobileBertQuestionAnswererPreprocessor(
    BuiltinPreprocessorMixin, Preprocessor
):
    """Pack (question, context) pairs as `[CLS] question [SEP] context [SEP]`.

    Each pair becomes one or more windows of `sequence_length` tokens: the
    question (its first `max_question_length` word pieces; a warning says
    how many were cut), then as much of the context as fits; a longer
    context continues in further windows, each starting `doc_stride`
    context tokens after the previous one (GR `run_squad.py`'s meaning of
    the stride). `segment_ids` are 0 for `[CLS]`, the question and its
    `[SEP]`, 1 for the context and the last `[SEP]`.

    Token ids are exactly those of the tokenizer; every context token also
    keeps its character span in the original context, so answers come back
    as exact substrings (case, accents, punctuation and spacing kept).

    Calling the layer returns the windows' model inputs (and labels) as
    NumPy arrays with one row per window, so the batch grows; `encode`
    returns a `QuestionAnswererWindows` that also maps each window to its
    pair and its tokens to characters, for decoding answers.

    Args:
        tokenizer: a `keras_mobilebert.MobileBertTokenizer`.
        sequence_length: int. Length of every window (GR default 384).
        doc_stride: int. Context tokens between the starts of consecutive
            windows (GR default 128).
        max_question_length: int. Question word pieces kept (GR default
            64).
        windows_without_answer: `"cls"` or `"drop"`. In training, a window
            that does not hold the whole answer points at `[CLS]` (SQuAD
            v2.0 style) or is left out. Unanswerable questions always point
            at `[CLS]`.

    Examples:
    ```python
    import keras_mobilebert

    preprocessor = (
        keras_mobilebert.MobileBertQuestionAnswererPreprocessor.from_preset(
            "mobilebert_en_uncased", sequence_length=128
        )
    )
    questions = ["Who jumped?"]
    contexts = ["The quick brown fox jumped over the lazy dog."]
    x = preprocessor(x=(questions, contexts))
    x["token_ids"].shape  # (1, 128)

    # Training labels from character-level answers.
    x, y = preprocessor(x=(questions, contexts), y=(["brown fox"], [10]))
    y["start_logits"], y["end_logits"]  # token positions of "brown", "fox"
    ```
    """

    backbone_cls = MobileBertBackbone
    tokenizer_cls = MobileBertTokenizer

    def __init__(
        self,
        tokenizer,
        sequence_length=384,
        doc_stride=128,
        max_question_length=64,
        windows_without_answer="cls",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.tokenizer = tokenizer
        for name, value in (
            ("sequence_length", sequence_length),
            ("doc_stride", doc_stride),
            ("max_question_length", max_question_length),
        ):
            if (
                isinstance(value, bool)
                or not isinstance(value, int)
                or (value < 1)
            ):
                raise ValueError(
                    f"{name} must be a positive int, got {value!r}."
                )
        if sequence_length < max_question_length + 4:
            raise ValueError(
                f"sequence_length={sequence_length} leaves no room for "
                f"context after a {max_question_length}-token question, "
                "[CLS] and two [SEP]; make it at least "
                f"{max_question_length + 4}."
            )
        # Checks the option now, not at the first call.
        WindowPacker(1, 1, 0, 0, 0, windows_without_answer)
        self.sequence_length = sequence_length
        self.doc_stride = doc_stride
        self.max_question_length = max_question_length
        self.windows_without_answer = windows_without_answer
        self._offsets = None
        # Nothing to build: the work is Python, outside any graph.
        self.built = True

    def tokenize_with_offsets(self, text):
        """The tokenizer's ids of `text` and each token's character span.

        Args:
            text: string.

        Returns:
            `(ids, starts, ends)`, lists of ints: token `k` came from
            `text[starts[k]:ends[k]]`.

        Example:
        ```python
        ids, starts, ends = preprocessor.tokenize_with_offsets("Café au lait")
        ```
        """
        if self._offsets is None:
            self._offsets = WordPieceOffsets(self.tokenizer)
        return self._offsets.tokenize(text)

    def _packer(self):
        return WindowPacker(
            self.sequence_length,
            self.doc_stride,
            cls_id=self.tokenizer.cls_token_id,
            sep_id=self.tokenizer.sep_token_id,
            pad_id=self.tokenizer.pad_token_id,
            windows_without_answer=self.windows_without_answer,
        )

    def encode(self, x, y=None):
        """Windows of the pairs in `x`, with labels when answers are given.

        Args:
            x: `(questions, contexts)` (lists of strings) or a list of
                records with `question` and `context` (and `answer_texts`,
                `answer_starts` for labels), e.g.
                `keras_mobilebert.data.squad.read_squad(...)`.
            y: None or `(answer_texts, answer_starts)`: each answer's text
                and its character offset in the context (`""` and -1 for
                an unanswerable question).

        Returns:
            A `QuestionAnswererWindows`.

        Example:
        ```python
        windows = preprocessor.encode((["Who jumped?"], ["The fox jumped."]))
        windows.example_index  # the pair of each window
        ```
        """
        questions, contexts, answers, ids = split_inputs(x, y)
        packer = self._packer()
        rows, example_index = [], []
        tokenized = {}
        truncated = 0
        for i, (question, context) in enumerate(zip(questions, contexts)):
            if not question.strip():
                raise ValueError(f"The question of {ids[i]} is empty.")
            if not context.strip():
                raise ValueError(f"The context of {ids[i]} is empty.")
            question_ids = self.tokenize_with_offsets(question)[0]
            if not question_ids:
                raise ValueError(
                    f"The question of {ids[i]} has no word pieces (only "
                    "characters the tokenizer drops)."
                )
            if len(question_ids) > self.max_question_length:
                truncated += 1
                question_ids = question_ids[: self.max_question_length]
            if context not in tokenized:
                tokenized[context] = self.tokenize_with_offsets(context)
            context_ids, starts, ends = tokenized[context]
            if not context_ids:
                raise ValueError(
                    f"The context of {ids[i]} has no word pieces (only "
                    "characters the tokenizer drops)."
                )
            answer = None
            if answers is not None:
                answer = self._answer_tokens(
                    answers[i], context, starts, ends, ids[i]
                )
            for row in packer.pack(
                question_ids, context_ids, starts, ends, answer
            ):
                rows.append(row)
                example_index.append(i)
        if truncated:
            warnings.warn(
                f"{truncated} of {len(questions)} questions are longer than "
                f"max_question_length={self.max_question_length} word "
                "pieces; they were truncated.",
                stacklevel=2,
            )
        return stack_windows(
            rows,
            example_index,
            contexts,
            self.sequence_length,
            labels=answers is not None,
        )

    @staticmethod
    def _answer_tokens(answer, context, starts, ends, name):
        """`()` for no answer, else the answer's (first, last) token."""
        if answer is None:
            return ()
        text, start = answer
        found = context[start : start + len(text)] if start >= 0 else None
        if found != text:
            raise ValueError(
                f"The answer {text!r} of {name} is not at character {start} "
                f"of its context (found {found!r})."
            )
        span = answer_token_span(starts, ends, start, start + len(text))
        if span is None:
            raise ValueError(
                f"The answer {text!r} of {name} covers no word piece of its "
                "context."
            )
        return span

    def call(self, x, y=None, sample_weight=None):
        if _is_string_list(x) and _is_string_list(y):
            # KerasHub's __call__ unpacks a positional `(a, b)` tuple into
            # x and y: strings as y are the contexts.
            x, y = (x, y), None
        data = self.encode(x, y).keras_data(sample_weight)
        return keras.utils.pack_x_y_sample_weight(*data)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "sequence_length": self.sequence_length,
                "doc_stride": self.doc_stride,
                "max_question_length": self.max_question_length,
                "windows_without_answer": self.windows_without_answer,
            }
        )
        return config
