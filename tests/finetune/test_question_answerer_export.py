"""The SQuAD job's export step: a verified LiteRT file, scored on dev."""

import sys

import numpy as np
import pytest

from keras_mobilebert.data.squad import read_squad
from keras_mobilebert.finetune import question_answerer_export
from keras_mobilebert.finetune.question_answerer_export import (
    check_question_answerer_export,
)
from keras_mobilebert.finetune.question_answerer_export import (
    export_question_answerer,
)
from keras_mobilebert.finetune.question_answerer_export import (
    representative_rows,
)
from keras_mobilebert.finetune.squad import build_question_answerer
from tests.finetune.squad_tiny import tiny_config


@pytest.fixture
def tiny(tmp_path):
    config = tiny_config(tmp_path)
    qa = build_question_answerer(config)
    train = qa.preprocessor.encode(read_squad(config["train"]))
    dev = read_squad(config["dev"])
    return qa, train, dev


def test_representative_rows_spread_over_the_windows():
    np.testing.assert_array_equal(representative_rows(10, 4), [0, 3, 6, 9])
    np.testing.assert_array_equal(representative_rows(3, 200), [0, 1, 2])
    np.testing.assert_array_equal(representative_rows(5, 1), [0])


def test_the_export_config_is_checked():
    check_question_answerer_export(None)
    check_question_answerer_export({"quantization": "int8"})
    with pytest.raises(ValueError, match="export fields.*'metadata'"):
        check_question_answerer_export({"quantization": "int8", "metadata": 1})
    with pytest.raises(ValueError, match="export quantization 'int4'"):
        check_question_answerer_export({"quantization": "int4"})


def test_a_model_to_litert_refuses_fails_before_training(tiny):
    qa, _, _ = tiny
    check_question_answerer_export({"quantization": "int8"}, qa)
    with pytest.raises(ValueError, match='"export" to null'):
        check_question_answerer_export({"quantization": "int8"}, object())


def test_without_the_interpreter_nothing_is_written(
    tiny, tmp_path, monkeypatch
):
    qa, train, dev = tiny
    monkeypatch.setitem(sys.modules, "ai_edge_litert", None)
    lines = []
    report = export_question_answerer(
        qa,
        {"quantization": "int8"},
        train,
        dev,
        tmp_path / "x",
        log=lines.append,
    )
    assert "ai-edge-litert" in report["skipped"]
    assert not (tmp_path / "x").exists()


def test_the_job_calibrates_on_spread_windows_and_scores_dev(
    tiny, tmp_path, monkeypatch
):
    """The step's own choices, with the export function stood in for (it is
    tested on real files in tests/export/test_question_answerer_export.py)."""
    qa, train, dev = tiny
    calls = {}

    def fake_export(model, path, quantization, **kwargs):
        calls.update(kwargs, model=model, path=path, quantization=quantization)
        return {"path": str(path)}

    monkeypatch.setattr(
        question_answerer_export,
        "export_and_verify_question_answerer",
        fake_export,
    )
    report = export_question_answerer(
        qa,
        {"quantization": "int8", "num_representative": 5, "num_evaluation": 6},
        train,
        dev,
        tmp_path,
        max_answer_length=7,
        null_threshold=1.5,
        log=lambda line: None,
    )
    assert report["path"] == str(tmp_path / "question_answerer_int8.tflite")
    assert calls["model"] is qa and calls["num_representative"] == 5
    # Calibration: 5 training windows spread over the file, exactly those.
    rows = representative_rows(len(train), 5)
    got = np.concatenate([s["ids"] for s in calls["representative_data"]])
    np.testing.assert_array_equal(got, train.token_ids[rows])
    assert calls["sequence_length"] == 32
    assert [e.id for e in calls["test_examples"]] == [e.id for e in dev[:6]]
    assert calls["max_answer_length"] == 7 and calls["null_threshold"] == 1.5


def test_a_real_int8_file(tiny, tmp_path):
    pytest.importorskip("ai_edge_litert")
    qa, train, dev = tiny
    report = export_question_answerer(
        qa,
        {"quantization": "int8", "num_representative": 16, "num_evaluation": 9},
        train,
        dev,
        tmp_path,
        log=lambda line: None,
    )
    path = tmp_path / "question_answerer_int8.tflite"
    assert path.is_file() and report["size_bytes"] == path.stat().st_size
    assert report["test_size"] == 9
    assert report["answer_agreement"] >= 0.5
    assert abs(report["tflite_f1"] - report["keras_f1"]) <= 30.0
