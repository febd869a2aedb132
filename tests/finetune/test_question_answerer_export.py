"""The SQuAD job's export step: a verified LiteRT file, scored on dev."""

import sys

import numpy as np
import pytest

from keras_mobilebert.data.squad import read_squad
from keras_mobilebert.export.signatures import model_kind
from keras_mobilebert.export.verification import ExportResult
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
from keras_mobilebert.finetune.squad_evaluation import decode_windows
from keras_mobilebert.finetune.squad_evaluation import squad_scores
from keras_mobilebert.metrics.squad import squad_v1_metrics
from tests.finetune.squad_tiny import tiny_config


def litert_takes_question_answerers(qa):
    try:
        model_kind(qa)
    except TypeError:
        return False
    return True


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
    if litert_takes_question_answerers(qa):
        check_question_answerer_export({"quantization": "int8"}, qa)
    else:
        with pytest.raises(ValueError, match='"export" to null'):
            check_question_answerer_export({"quantization": "int8"}, qa)


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


def test_the_file_is_scored_with_the_official_metric(
    tiny, tmp_path, monkeypatch
):
    """The step's own work, with `to_litert` and the interpreter stood in
    for: a "file" whose end logits are the Keras model's plus noise."""
    qa, train, dev = tiny
    calls = {}

    def fake_to_litert(model, path, quantization, **kwargs):
        calls.update(kwargs, model=model, quantization=quantization)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"tflite")
        return ExportResult(
            path, quantization, 6, 0.01, 0.001, None, 32, (1, 32), []
        )

    def fake_run_tflite(tflite_bytes, samples):
        assert tflite_bytes == b"tflite"
        inputs = {
            "token_ids": np.concatenate([s["ids"] for s in samples]),
            "padding_mask": np.concatenate([s["mask"] for s in samples]),
            "segment_ids": np.concatenate([s["segment_ids"] for s in samples]),
        }
        logits = qa.predict(inputs, verbose=0)
        noise = np.random.RandomState(0).normal(
            0, 1.0, logits["end_logits"].shape
        )
        return {
            "start_logits": logits["start_logits"],
            "end_logits": logits["end_logits"] + noise,
        }

    monkeypatch.setattr(question_answerer_export, "to_litert", fake_to_litert)
    monkeypatch.setattr(
        question_answerer_export,
        "model_kind",
        lambda model: "question_answerer",
    )
    monkeypatch.setattr(question_answerer_export, "run_tflite", fake_run_tflite)
    report = export_question_answerer(
        qa,
        {"quantization": "int8", "num_representative": 5, "num_evaluation": 6},
        train,
        dev,
        tmp_path,
        log=lambda line: None,
    )
    assert report["path"] == str(tmp_path / "question_answerer_int8.tflite")
    assert calls["model"] is qa and calls["num_representative"] == 5
    # Calibration: 5 training windows spread over the file, exactly those.
    rows = representative_rows(len(train), 5)
    got = np.concatenate([s["ids"] for s in calls["representative_data"]])
    np.testing.assert_array_equal(got, train.token_ids[rows])
    assert calls["sequence_length"] == 32
    # Scores: the first 6 dev questions, recomputed independently.
    assert report["heldout_questions"] == 6
    windows = qa.preprocessor.encode(dev[:6])
    assert report["heldout_windows"] == len(windows)
    keras_logits = qa.predict(windows.inputs(), verbose=0)
    keras_answers = decode_windows(windows, keras_logits)
    expected = squad_v1_metrics(
        {e.id: a.text for e, a in zip(dev[:6], keras_answers)}, dev[:6]
    )
    assert report["keras_f1"] == pytest.approx(expected["f1"])
    file_logits = fake_run_tflite(b"tflite", calls["sample_data"])
    file_answers = decode_windows(windows, file_logits)
    assert report["tflite_f1"] == pytest.approx(
        squad_scores(dev[:6], file_answers)["f1"]
    )
    agreement = np.mean(
        [a.text == b.text for a, b in zip(keras_answers, file_answers)]
    )
    assert report["answer_agreement"] == pytest.approx(agreement)
    assert 1.0 < report["heldout_max_abs_error"] < 10.0


def test_a_real_int8_file(tiny, tmp_path):
    """Runs once `to_litert` takes question answerers (the qa-ship branch)."""
    pytest.importorskip("ai_edge_litert")
    qa, train, dev = tiny
    if not litert_takes_question_answerers(qa):
        pytest.skip(
            "to_litert cannot export a MobileBertQuestionAnswerer yet "
            "(export.signatures.model_kind refuses it)"
        )
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
    assert report["heldout_questions"] == 9
    assert report["answer_agreement"] >= 0.5
    assert abs(report["tflite_f1"] - report["keras_f1"]) <= 30.0
