"""MobileBERT extractive question answering (SQuAD-style span prediction)."""

import keras
from keras_hub.models import Task

from keras_mobilebert.layers.dense import make_dense
from keras_mobilebert.models.mobilebert.builtin_tasks import BuiltinTaskMixin
from keras_mobilebert.models.mobilebert.mobilebert_backbone import (
    MobileBertBackbone,
)
from keras_mobilebert.models.mobilebert.mobilebert_question_answerer_preprocessor import (  # noqa: E501
    MobileBertQuestionAnswererPreprocessor,
)
from keras_mobilebert.models.mobilebert.mobilebert_question_answerer_preprocessor import (  # noqa: E501
    is_text_input,
)
from keras_mobilebert.models.mobilebert.span_decoding import decode_answers
from keras_mobilebert.models.task_weights import TaskWeightsMixin

OUTPUTS = ("start_logits", "end_logits")


@keras.saving.register_keras_serializable(package="keras_mobilebert")
class MobileBertQuestionAnswerer(BuiltinTaskMixin, TaskWeightsMixin, Task):
    """MobileBERT with a span head: start and end logits for every token.

    A dense layer maps each token's `sequence_output` to two numbers, the
    logits of the answer starting and ending there (HF
    `MobileBertForQuestionAnswering`, GR `run_squad.py`). Converted SQuAD
    checkpoints load into it.

    With a preprocessor (the default from `from_preset`), the task takes
    text. Training data are `x=(questions, contexts)` with
    `y=(answer_texts, answer_starts)` (each answer's text and its character
    offset in its context, as in SQuAD files; `""` and -1 for an
    unanswerable question), or `x=` a list of SQuAD records
    (`keras_mobilebert.data.squad.read_squad(...)`, whose first gold answer
    is the target) with no `y`. Each pair becomes one or more windows
    before Keras sees it (see `MobileBertQuestionAnswererPreprocessor`);
    windows are batched and shuffled like any NumPy input. The default loss
    averages the sparse cross-entropies of the start and the end position.

    `predict` returns `{"start_logits", "end_logits"}`, one row per window
    (in the order of `preprocessor.encode(x).example_index`); `answer`
    returns the decoded answer of each pair.

    Args:
        backbone: a `keras_mobilebert.MobileBertBackbone`.
        preprocessor: a
            `keras_mobilebert.MobileBertQuestionAnswererPreprocessor` or
            None (then inputs must be windows already).

    Examples:
    ```python
    import keras_mobilebert

    qa = keras_mobilebert.MobileBertQuestionAnswerer.from_preset(
        "mobilebert_en_uncased", load_weights=False
    )
    questions = ["Who jumped?"]
    contexts = ["The quick brown fox jumped over the lazy dog."]
    qa.fit(x=(questions, contexts), y=(["brown fox"], [10]), batch_size=1)
    answer = qa.answer("Who jumped?", contexts[0])
    answer.text, answer.start, answer.end, answer.score
    ```
    """

    backbone_cls = MobileBertBackbone
    preprocessor_cls = MobileBertQuestionAnswererPreprocessor

    def __init__(self, backbone, preprocessor=None, **kwargs):
        # === Layers ===
        self.backbone = backbone
        self.preprocessor = preprocessor
        self.span_head = make_dense(
            2, backbone.initializer_range, backbone.dtype_policy, "qa_outputs"
        )

        # === Functional Model ===
        inputs = dict(backbone.input)
        logits = self.span_head(backbone(inputs)["sequence_output"])
        outputs = {
            "start_logits": logits[..., 0],
            "end_logits": logits[..., 1],
        }
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

    def compile(
        self,
        optimizer="auto",
        loss="auto",
        *,
        metrics="auto",
        **kwargs,
    ):
        """Compile with SQuAD fine-tuning defaults.

        Args:
            optimizer: `"auto"` (Adam, learning rate 5e-5), an optimizer
                name or instance.
            loss: `"auto"` (the mean of the start and the end position's
                sparse categorical cross-entropy from logits) or any Keras
                loss structure for the two outputs.
            metrics: `"auto"` (start and end position accuracy) or Keras
                metrics.
            **kwargs: passed to `keras.Model.compile`.
        """
        if optimizer == "auto":
            optimizer = keras.optimizers.Adam(5e-5)
        if loss == "auto":
            loss = {
                name: keras.losses.SparseCategoricalCrossentropy(
                    from_logits=True
                )
                for name in OUTPUTS
            }
            kwargs.setdefault("loss_weights", {name: 0.5 for name in OUTPUTS})
        if metrics == "auto":
            metrics = {
                name: [keras.metrics.SparseCategoricalAccuracy("accuracy")]
                for name in OUTPUTS
            }
        super().compile(
            optimizer=optimizer, loss=loss, metrics=metrics, **kwargs
        )

    # === Text in: window before Keras ===

    def _windows(self, x, y=None):
        if self.preprocessor is None:
            raise ValueError(
                "This MobileBertQuestionAnswerer has no preprocessor, so it "
                "takes windows (token_ids, segment_ids, padding_mask), not "
                "text; build it with from_preset or pass preprocessor=."
            )
        return self.preprocessor.encode(x, y)

    def _encoded(self, x, y, sample_weight):
        """`(x, y, sample_weight)` with text pairs replaced by windows."""
        if not is_text_input(x):
            return x, y, sample_weight
        return self._windows(x, y).keras_data(sample_weight)

    def preprocess_samples(self, x, y=None, sample_weight=None):
        # KerasHub maps this over datasets; QA windows are made earlier
        # (one pair gives several windows), so datasets must hold windows.
        if isinstance(x, dict) and "token_ids" in x:
            return keras.utils.pack_x_y_sample_weight(x, y, sample_weight)
        raise ValueError(
            "MobileBertQuestionAnswerer windows text before Keras: pass "
            "x=(questions, contexts) or SQuAD records to fit/evaluate/"
            "predict, or a dataset of windows "
            "(preprocessor.encode(x, y).inputs() and .labels())."
        )

    def fit(
        self,
        x=None,
        y=None,
        batch_size=None,
        sample_weight=None,
        validation_data=None,
        **kwargs,
    ):
        x, y, sample_weight = self._encoded(x, y, sample_weight)
        if validation_data is not None:
            if is_text_input(validation_data):
                validation_data = (validation_data, None)
            vx, vy, vsw = keras.utils.unpack_x_y_sample_weight(validation_data)
            vx, vy, vsw = self._encoded(vx, vy, vsw)
            validation_data = keras.utils.pack_x_y_sample_weight(vx, vy, vsw)
        # keras.Model.fit: the windows are NumPy arrays now, and Keras
        # shuffles those (KerasHub's pipeline would not).
        return keras.Model.fit(
            self,
            x=x,
            y=y,
            batch_size=batch_size,
            sample_weight=sample_weight,
            validation_data=validation_data,
            **kwargs,
        )

    def evaluate(
        self, x=None, y=None, batch_size=None, sample_weight=None, **kwargs
    ):
        x, y, sample_weight = self._encoded(x, y, sample_weight)
        return keras.Model.evaluate(
            self,
            x=x,
            y=y,
            batch_size=batch_size,
            sample_weight=sample_weight,
            **kwargs,
        )

    def predict(self, x=None, batch_size=None, **kwargs):
        """Start and end logits of every window of `x`.

        Args:
            x: `(questions, contexts)`, SQuAD records, or windows.
            batch_size: int or None. Windows per batch.

        Returns:
            `{"start_logits", "end_logits"}`, each `(windows,
            sequence_length)`.
        """
        x, _, _ = self._encoded(x, None, None)
        return keras.Model.predict(self, x=x, batch_size=batch_size, **kwargs)

    def answer(
        self,
        questions,
        contexts=None,
        n_best=20,
        max_answer_length=30,
        null_threshold=None,
        batch_size=None,
    ):
        """Answer each question from its context.

        Args:
            questions: string, list of strings, or a list of SQuAD records
                (then `contexts` is None).
            contexts: string or list of strings, one per question.
            n_best: int. Candidates kept per answer (`Answer.n_best`).
            max_answer_length: int. Longest answer in word pieces (GR and
                HF default 30).
            null_threshold: float or None. None: always answer with a span
                (SQuAD v1.1). A float: answer `""` when the `[CLS]`
                no-answer score beats the best span by more than it (SQuAD
                v2.0).
            batch_size: int or None. Windows per batch.

        Returns:
            A `keras_mobilebert.models.mobilebert.span_decoding.Answer`
            (`text`, `start`, `end`: character offsets in the context,
            `score`, `probability`, `n_best`) for one question given as a
            string, else a list of them.

        Example:
        ```python
        answer = qa.answer("Who jumped?", "The fox jumped.")
        answer.text  # e.g. "fox"
        ```
        """
        single = isinstance(questions, str) and isinstance(contexts, str)
        x = questions if contexts is None else (questions, contexts)
        windows = self._windows(x)
        logits = keras.Model.predict(
            self, windows.inputs(), batch_size=batch_size, verbose=0
        )
        answers = decode_answers(
            windows,
            logits["start_logits"],
            logits["end_logits"],
            n_best=n_best,
            max_answer_length=max_answer_length,
            null_threshold=null_threshold,
        )
        return answers[0] if single else answers
