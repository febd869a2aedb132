"""Overlapping `[CLS] question [SEP] context [SEP]` windows for span QA.

A context longer than one model input becomes several windows, as in GR
`run_squad.py` (`_DocSpan`): each window holds the whole (possibly
truncated) question and up to `sequence_length - len(question) - 3`
context tokens, and the next window starts `doc_stride` tokens later,
until one reaches the end of the context. (Hugging Face's `run_qa.py`
calls the *overlap* between windows its stride; here it is the step.)

Every context token keeps the character span it came from, so a span of
tokens maps back to the exact substring of the original context. For
training, a character-level gold answer becomes the token positions of its
first and last piece in each window that holds all of it; a window that
holds only part of it, or none, points at `[CLS]` (position 0, as SQuAD
v2.0 training does), or is dropped.
"""

import dataclasses

import numpy as np

WINDOWS_WITHOUT_ANSWER = ("cls", "drop")


@dataclasses.dataclass
class QuestionAnswererWindows:
    """Model inputs for (question, context) pairs, one row per window.

    Args:
        token_ids: int32 array `(windows, sequence_length)`.
        segment_ids: int32 array. 0 for `[CLS]`, the question and the first
            `[SEP]`; 1 for the context and the last `[SEP]`; 0 in padding.
        padding_mask: int32 array. 1 for real tokens.
        example_index: int32 array `(windows,)`. The pair each window is
            from.
        token_starts: int32 array `(windows, sequence_length)`. Character
            offset in the pair's context where each context token starts;
            -1 for `[CLS]`, question, `[SEP]` and padding tokens.
        token_ends: int32 array. Where each context token ends (exclusive);
            -1 outside the context.
        contexts: list of strings, one per pair.
        start_positions: int32 array `(windows,)` or None. Training labels:
            the answer's first token in the window, 0 (`[CLS]`) if the
            window does not hold the whole answer.
        end_positions: int32 array or None. The answer's last token.
    """

    token_ids: np.ndarray
    segment_ids: np.ndarray
    padding_mask: np.ndarray
    example_index: np.ndarray
    token_starts: np.ndarray
    token_ends: np.ndarray
    contexts: list
    start_positions: np.ndarray = None
    end_positions: np.ndarray = None

    def __len__(self):
        return len(self.token_ids)

    @property
    def num_examples(self):
        return len(self.contexts)

    def inputs(self):
        """The model inputs: `{"token_ids", "segment_ids", "padding_mask"}`."""
        return {
            "token_ids": self.token_ids,
            "segment_ids": self.segment_ids,
            "padding_mask": self.padding_mask,
        }

    def keras_data(self, sample_weight=None):
        """`(inputs, labels, sample_weight)` for Keras, one row per window.

        Args:
            sample_weight: None or one weight per pair; each window gets
                its pair's weight.

        Returns:
            The inputs dict, the labels dict (None without answers) and
            the per-window weights (or None).
        """
        labels = None if self.start_positions is None else self.labels()
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight)[self.example_index]
        return self.inputs(), labels, sample_weight

    def labels(self):
        """The training targets, keyed by the model outputs they train."""
        if self.start_positions is None:
            raise ValueError(
                "These windows were made without answers; pass answers to "
                "the preprocessor to get training labels."
            )
        return {
            "start_logits": self.start_positions,
            "end_logits": self.end_positions,
        }


def answer_token_span(token_starts, token_ends, answer_start, answer_end):
    """First and last context token overlapping characters `[start, end)`.

    Args:
        token_starts: list of ints. Character start of each context token.
        token_ends: list of ints. Character end of each context token.
        answer_start: int. First character of the answer.
        answer_end: int. One past its last character.

    Returns:
        `(first, last)` token indexes, or None if no token overlaps (the
        answer is only whitespace or characters the tokenizer drops).

    Example:
    ```python
    answer_token_span([0, 4], [3, 7], 4, 7)  # (1, 1)
    ```
    """
    first = last = None
    for k, (start, end) in enumerate(zip(token_starts, token_ends)):
        if end > answer_start and start < answer_end and end > start:
            if first is None:
                first = k
            last = k
        elif start >= answer_end:
            break
    return None if first is None else (first, last)


def window_starts(num_context_tokens, budget, doc_stride):
    """Start of each window over the context tokens (GR's doc spans).

    Example:
    ```python
    window_starts(10, 4, 3)  # [0, 3, 6]
    ```
    """
    starts, start = [], 0
    while True:
        starts.append(start)
        if start + budget >= num_context_tokens:
            return starts
        start += min(budget, doc_stride)


class WindowPacker:
    """Packs tokenized pairs into fixed-length windows.

    Args:
        sequence_length: int. Length of every window.
        doc_stride: int. Tokens between the starts of consecutive windows.
        cls_id, sep_id, pad_id: ints. Special token ids.
        windows_without_answer: `"cls"` or `"drop"`, see the module
            docstring. Unanswerable questions always keep their windows.

    Example:
    ```python
    packer = WindowPacker(384, 128, cls_id=101, sep_id=102, pad_id=0)
    rows = packer.pack(question_ids, context_ids, starts, ends)
    ```
    """

    def __init__(
        self,
        sequence_length,
        doc_stride,
        cls_id,
        sep_id,
        pad_id,
        windows_without_answer="cls",
    ):
        if windows_without_answer not in WINDOWS_WITHOUT_ANSWER:
            raise ValueError(
                f"Unknown windows_without_answer {windows_without_answer!r}; "
                f"expected one of {WINDOWS_WITHOUT_ANSWER}."
            )
        self.sequence_length = sequence_length
        self.doc_stride = doc_stride
        self.cls_id = cls_id
        self.sep_id = sep_id
        self.pad_id = pad_id
        self.windows_without_answer = windows_without_answer

    def pack(self, question_ids, context_ids, starts, ends, answer=None):
        """The windows of one pair, as a list of row dicts.

        Args:
            question_ids: list of ints, already truncated.
            context_ids: list of ints.
            starts: list of ints. Character start of each context token.
            ends: list of ints. Character end of each context token.
            answer: None (no labels), `()` (unanswerable: every window
                points at `[CLS]`) or `(first, last)` context token indexes.

        Returns:
            A list of dicts with `token_ids`, `segment_ids`, `padding_mask`,
            `token_starts`, `token_ends` (each a list of `sequence_length`
            ints) and, with an answer, `start_position`, `end_position`.
        """
        offset = len(question_ids) + 2
        budget = self.sequence_length - offset - 1
        rows = []
        for first in window_starts(len(context_ids), budget, self.doc_stride):
            last = min(first + budget, len(context_ids))
            length = offset + (last - first) + 1
            padding = self.sequence_length - length
            row = {
                "token_ids": [self.cls_id, *question_ids, self.sep_id]
                + context_ids[first:last]
                + [self.sep_id]
                + [self.pad_id] * padding,
                "segment_ids": [0] * offset
                + [1] * (last - first + 1)
                + [0] * padding,
                "padding_mask": [1] * length + [0] * padding,
                "token_starts": [-1] * offset
                + starts[first:last]
                + [-1] * (padding + 1),
                "token_ends": [-1] * offset
                + ends[first:last]
                + [-1] * (padding + 1),
            }
            if answer is not None:
                inside = (
                    bool(answer) and first <= answer[0] and answer[1] < last
                )
                if (
                    not inside
                    and answer
                    and self.windows_without_answer == "drop"
                ):
                    continue
                row["start_position"] = (
                    offset + answer[0] - first if inside else 0
                )
                row["end_position"] = (
                    offset + answer[1] - first if inside else 0
                )
            rows.append(row)
        return rows


def stack_windows(rows, example_index, contexts, sequence_length, labels):
    """A `QuestionAnswererWindows` from the rows of `WindowPacker.pack`.

    Args:
        rows: list of row dicts.
        example_index: list of ints. The pair of each row.
        contexts: list of strings. The context of each pair.
        sequence_length: int. The row length (shapes empty results).
        labels: bool. Whether the rows have answer positions.
    """

    def column(key):
        values = [row[key] for row in rows]
        if not values:
            per_window = key.endswith("_position")
            shape = (0,) if per_window else (0, sequence_length)
            return np.zeros(shape, dtype="int32")
        return np.asarray(values, dtype="int32")

    windows = QuestionAnswererWindows(
        token_ids=column("token_ids"),
        segment_ids=column("segment_ids"),
        padding_mask=column("padding_mask"),
        example_index=np.asarray(example_index, dtype="int32"),
        token_starts=column("token_starts"),
        token_ends=column("token_ends"),
        contexts=list(contexts),
    )
    if labels:
        windows.start_positions = column("start_position")
        windows.end_positions = column("end_position")
    return windows
