"""The preset writer: atomic, and no optimizer state in task.weights.h5."""

import logging
import pathlib
import warnings

import h5py
import keras
import keras_hub
import numpy as np
import pytest

from keras_mobilebert import MobileBertBackbone
from keras_mobilebert import MobileBertTextClassifier
from keras_mobilebert import MobileBertTextClassifierPreprocessor
from keras_mobilebert import MobileBertTokenizer
from keras_mobilebert.models.preset_writer import save_preset
from keras_mobilebert.models.task_weights import TaskWeightsMixin
from tests.models.helpers import SMALL_BACKBONE
from tests.models.helpers import VOCAB

TEXTS = ["the quick brown fox.", "a dull film!", "a great movie", "the fox"]
LABELS = [1, 0, 1, 0]


def _fitted_classifier():
    preprocessor = MobileBertTextClassifierPreprocessor(
        MobileBertTokenizer(vocabulary=VOCAB, lowercase=True),
        sequence_length=8,
    )
    classifier = MobileBertTextClassifier(
        backbone=MobileBertBackbone(**SMALL_BACKBONE),
        preprocessor=preprocessor,
        num_classes=2,
    )
    classifier.compile(optimizer=keras.optimizers.Adam(1e-3))
    classifier.fit(x=TEXTS, y=LABELS, batch_size=2, epochs=1, verbose=0)
    assert len(classifier.optimizer.variables) > 2  # Adam's moments exist
    return classifier


def _h5_groups(path):
    names = []
    with h5py.File(path, "r") as f:
        f.visit(names.append)
    return names


def _load_capturing(load, caplog):
    """`load()`, with every warning and log record it raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with caplog.at_level(logging.WARNING):
            model = load()
    messages = [str(w.message) for w in caught]
    messages += [record.getMessage() for record in caplog.records]
    return model, messages


def test_a_fitted_classifier_reloads_without_optimizer_state(tmp_path, caplog):
    classifier = _fitted_classifier()
    expected = classifier.predict(TEXTS, verbose=0)
    preset = save_preset(classifier, tmp_path / "preset")

    assert preset == tmp_path / "preset"
    groups = _h5_groups(preset / "task.weights.h5")
    assert not [g for g in groups if "optimizer" in g], groups
    restored, messages = _load_capturing(
        lambda: MobileBertTextClassifier.from_preset(str(preset)), caplog
    )
    assert not [m for m in messages if "optimizer" in m.lower()], messages
    np.testing.assert_array_equal(restored.predict(TEXTS, verbose=0), expected)


def test_a_preset_written_with_optimizer_state_still_loads_quietly(
    tmp_path, caplog
):
    # What `save_to_preset` wrote before TaskWeightsMixin: KerasHub's own
    # save_task_weights, which keeps the fitted Adam state.
    classifier = _fitted_classifier()
    expected = classifier.predict(TEXTS, verbose=0)
    preset = save_preset(classifier, tmp_path / "preset")
    keras_hub.models.Task.save_task_weights(
        classifier, str(preset / "task.weights.h5")
    )
    groups = _h5_groups(preset / "task.weights.h5")
    assert [g for g in groups if g.startswith("optimizer")]
    restored, messages = _load_capturing(
        lambda: MobileBertTextClassifier.from_preset(str(preset)), caplog
    )
    assert not [m for m in messages if "optimizer" in m.lower()], messages
    np.testing.assert_array_equal(restored.predict(TEXTS, verbose=0), expected)


def test_a_failure_mid_write_leaves_nothing_behind(tmp_path, monkeypatch):
    classifier = _fitted_classifier()
    written = []

    def fail(preset_dir):
        # The task and backbone files are already there when this runs.
        written.extend(p.name for p in pathlib.Path(preset_dir).iterdir())
        raise OSError("disk full")

    monkeypatch.setattr(classifier.preprocessor, "save_to_preset", fail)
    with pytest.raises(OSError, match="disk full"):
        save_preset(classifier, tmp_path / "preset")
    assert "task.weights.h5" in written
    assert list(tmp_path.iterdir()) == []


def test_a_failed_overwrite_keeps_the_old_preset(tmp_path):
    backbone = MobileBertBackbone(**SMALL_BACKBONE)
    preset = save_preset(backbone, tmp_path / "preset")
    before = sorted(p.name for p in preset.iterdir())
    with pytest.raises(TypeError):
        save_preset(backbone, preset, extra_files={"notes.txt": "not bytes"})
    assert sorted(p.name for p in preset.iterdir()) == before
    assert [p.name for p in tmp_path.iterdir()] == ["preset"]


def test_a_backbone_with_its_tokenizer_and_extra_files(tmp_path):
    backbone = MobileBertBackbone(**SMALL_BACKBONE)
    tokenizer = MobileBertTokenizer(vocabulary=VOCAB, lowercase=True)
    preset = save_preset(
        backbone,
        tmp_path / "preset",
        tokenizer=tokenizer,
        extra_files={"labels.json": b'{"0": "neg"}'},
    )
    assert (preset / "labels.json").read_bytes() == b'{"0": "neg"}'
    assert (preset / "assets" / "tokenizer" / "vocabulary.txt").is_file()
    restored = MobileBertTokenizer.from_preset(str(preset))
    assert restored.get_vocabulary() == VOCAB
    assert not (preset / "task.json").exists()


def test_a_task_takes_no_separate_tokenizer(tmp_path):
    classifier = _fitted_classifier()
    tokenizer = classifier.preprocessor.tokenizer
    with pytest.raises(ValueError, match="preprocessor's tokenizer"):
        save_preset(classifier, tmp_path / "preset", tokenizer=tokenizer)
    assert not (tmp_path / "preset").exists()


def test_a_task_that_would_save_its_optimizer_is_refused(tmp_path):
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=10,
        num_layers=1,
        num_heads=1,
        hidden_dim=4,
        intermediate_dim=4,
        max_sequence_length=8,
    )
    task = keras_hub.models.BertTextClassifier(
        backbone, num_classes=2, preprocessor=None
    )
    with pytest.raises(TypeError, match="TaskWeightsMixin"):
        save_preset(task, tmp_path / "preset")
    assert not (tmp_path / "preset").exists()


def test_every_keras_mobilebert_task_leaves_its_optimizer_out():
    tasks = [
        cls
        for name, cls in keras.saving.get_custom_objects().items()
        if name.startswith("keras_mobilebert>")
        and isinstance(cls, type)
        and issubclass(cls, keras_hub.models.Task)
    ]
    assert MobileBertTextClassifier in tasks
    for cls in tasks:
        assert issubclass(cls, TaskWeightsMixin), cls.__name__
