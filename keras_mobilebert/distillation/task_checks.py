"""Can this teacher classifier teach this student? Vocabulary and labels.

Task distillation packs every text once, with the student's preprocessor,
and feeds the same token ids to the teacher (for its cached logits and,
with layer-wise losses, its hidden states): the two must share the
WordPiece vocabulary and casing. The teacher's logits are the student's
targets class by class, so the two must also have the same classes, in
the same order.
"""

from keras_mobilebert.utils.errors import ConfigError


def _tokenizer(model):
    preprocessor = getattr(model, "preprocessor", None)
    return getattr(preprocessor, "tokenizer", None)


def _vocabulary_size(model):
    backbone = getattr(model, "backbone", model)
    return getattr(backbone, "vocabulary_size", None)


def num_classes(model):
    """The classes a classifier predicts (`num_classes`, else its output)."""
    count = getattr(model, "num_classes", None)
    if count is None:
        count = model.output.shape[-1]
    return int(count)


def _check_sizes(teacher_size, student_size):
    if teacher_size != student_size:
        raise ConfigError(
            f"The teacher's vocabulary has {teacher_size} tokens and the "
            f"student's {student_size}: task distillation feeds both the "
            "same token ids, so they need the same vocabulary."
        )


def check_same_vocabulary(teacher, student):
    """Raise unless teacher and student tokenize text to the same ids.

    Compares the tokenizers' vocabularies (size, then the first id where
    they differ) and lowercasing; without tokenizers, the backbones'
    vocabulary sizes.

    Args:
        teacher: a KerasHub text classifier.
        student: a KerasHub text classifier.

    Example:
    ```python
    check_same_vocabulary(teacher_classifier, student_classifier)
    ```
    """
    teacher_tokenizer = _tokenizer(teacher)
    student_tokenizer = _tokenizer(student)
    if teacher_tokenizer is None or student_tokenizer is None:
        _check_sizes(_vocabulary_size(teacher), _vocabulary_size(student))
        return
    teacher_vocabulary = list(teacher_tokenizer.get_vocabulary())
    student_vocabulary = list(student_tokenizer.get_vocabulary())
    _check_sizes(len(teacher_vocabulary), len(student_vocabulary))
    for index, (a, b) in enumerate(zip(teacher_vocabulary, student_vocabulary)):
        if a != b:
            raise ConfigError(
                f"The teacher's and the student's vocabularies differ at id "
                f"{index}: {a!r} (teacher) against {b!r} (student); both "
                f"have {len(student_vocabulary)} tokens."
            )
    lowercase = (
        getattr(teacher_tokenizer, "lowercase", None),
        getattr(student_tokenizer, "lowercase", None),
    )
    if lowercase[0] != lowercase[1]:
        raise ConfigError(
            f"The teacher's tokenizer has lowercase={lowercase[0]} and the "
            f"student's lowercase={lowercase[1]}: they would split the same "
            "text into different tokens."
        )


def check_same_labels(
    teacher, student, teacher_label_names=None, student_label_names=None
):
    """Raise unless teacher and student predict the same classes.

    Args:
        teacher: a text classifier.
        student: a text classifier.
        teacher_label_names: sequence of strings or None. The class names,
            in the teacher's class-id order.
        student_label_names: sequence of strings or None. The student's
            (e.g. `GlueSplit.label_names` of the data it trains on).

    Example:
    ```python
    check_same_labels(teacher, student, ("negative", "positive"),
                      train.label_names)
    ```
    """
    counts = (num_classes(teacher), num_classes(student))
    if counts[0] != counts[1]:
        raise ConfigError(
            f"The teacher predicts {counts[0]} classes and the student "
            f"{counts[1]}: the teacher's logits are the student's targets, "
            "class by class."
        )
    if teacher_label_names is not None and student_label_names is not None:
        if tuple(teacher_label_names) != tuple(student_label_names):
            raise ConfigError(
                f"The teacher's labels {list(teacher_label_names)} differ "
                f"from the student's {list(student_label_names)} (names or "
                "order): reorder one so class ids mean the same thing."
            )
