"""The SQuAD job: its config, its data errors, one run end to end."""

import json
import urllib.error

import keras
import numpy as np
import pytest

from keras_mobilebert import MobileBertQuestionAnswerer
from keras_mobilebert.data import squad as squad_data
from keras_mobilebert.data.squad import SQUAD_URLS
from keras_mobilebert.data.squad import make_example
from keras_mobilebert.data.squad import read_squad
from keras_mobilebert.finetune import JOBS
from keras_mobilebert.finetune import load_config
from keras_mobilebert.finetune import run_finetune
from keras_mobilebert.finetune.squad import DEFAULT_CONFIG
from keras_mobilebert.finetune.squad import build_question_answerer
from keras_mobilebert.metrics.squad import squad_v1_metrics
from keras_mobilebert.metrics.squad import squad_v2_metrics
from keras_mobilebert.models.mobilebert.span_decoding import Answer
from keras_mobilebert.models.mobilebert.squad_evaluation import squad_scores
from keras_mobilebert.models.preset_writer import save_preset
from tests.finetune.squad_tiny import tiny_config
from tests.finetune.squad_tiny import write_squad
from tests.shared_data import shared_data_file


def test_the_default_config_names_the_official_files():
    config = load_config(DEFAULT_CONFIG)
    assert config["job"] == "squad"
    assert JOBS["squad"].default_config == DEFAULT_CONFIG
    assert config["train"] == SQUAD_URLS["train-v1.1"]
    assert config["dev"] == SQUAD_URLS["dev-v1.1"]
    # GR run_squad.py's windows.
    assert (config["sequence_length"], config["doc_stride"]) == (384, 128)
    assert config["max_question_length"] == 64
    assert config["export"]["quantization"] == "int8"
    assert set(config) == set(json.loads(DEFAULT_CONFIG.read_text()))


def test_optional_fields_are_filled_and_values_checked(tmp_path):
    full = json.loads(DEFAULT_CONFIG.read_text())
    minimal = {
        k: v for k, v in full.items() if k not in JOBS["squad"].optional_fields
    }
    path = tmp_path / "minimal.json"
    path.write_text(json.dumps(minimal))
    config = load_config(path)
    assert config["init"] == "pretrained" and config["distribute"] == "none"
    assert config["export"] == full["export"]
    del minimal["epochs"]
    path.write_text(json.dumps(minimal))
    with pytest.raises(ValueError, match=r"lacks the fields \['epochs'\]"):
        load_config(path)
    bad = {
        "sequence_length": (60, "leaves no room for context"),
        "doc_stride": (0, "doc_stride must be a positive int"),
        "distribute": ("gpus", "Unknown distribute strategy 'gpus'"),
        "export": ({"quantization": "int8", "labels": 2}, "export fields"),
        "max_train_examples": (-1, "max_train_examples must be null"),
        "warmup_fraction": (1.0, "warmup_fraction"),
    }
    for field, (value, message) in bad.items():
        with pytest.raises(ValueError, match=message):
            load_config(DEFAULT_CONFIG, **{field: value})


def test_an_unreachable_url_fails_before_any_model_is_built(
    tmp_path, monkeypatch
):
    def offline(url):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(squad_data, "_open_url", offline)
    monkeypatch.setenv("KERAS_MOBILEBERT_HOME", str(tmp_path / "cache"))
    config = load_config(DEFAULT_CONFIG)
    lines = []
    with pytest.raises(OSError) as error:
        run_finetune(config, tmp_path / "out", log=lines.append)
    message = str(error.value)
    assert message.startswith(f"The train file {SQUAD_URLS['train-v1.1']}")
    assert "Name or service not known" in message
    assert "--train PATH" in message and "\n" not in message
    assert lines == [] and not (tmp_path / "out").exists()
    config["train"] = str(tmp_path / "absent.json")
    with pytest.raises(FileNotFoundError, match="The train file: SQuAD file"):
        run_finetune(config, tmp_path / "out")


def test_squad_v2_scores_use_the_null_threshold():
    examples = [
        make_example("a", "Who?", "The fox jumped.", ["fox"], [4]),
        make_example("b", "Why?", "The fox jumped."),
    ]

    def answer(text, diff):
        return Answer(text, 0, len(text), 1.0, 1.0, (), 0.0, diff)

    answers = [answer("fox", -2.0), answer("jumped", 3.0)]
    # Official v2.0 script, by hand: threshold 0 answers "b" with "", so
    # both are right; threshold 5 keeps "jumped" for the unanswerable one.
    scores = squad_scores(examples, answers, null_threshold=0.0)
    assert scores["version"] == "v2.0"
    assert scores["exact"] == scores["f1"] == 100.0
    assert scores["HasAns_total"] == scores["NoAns_total"] == 1
    assert scores["best_f1"] == 100.0
    assert scores["best_f1_thresh"] == pytest.approx(-2.0)
    late = squad_scores(examples, answers, null_threshold=5.0)
    assert late["exact"] == 50.0 and late["NoAns_exact"] == 0.0
    expected = squad_v2_metrics(
        {"a": "fox", "b": "jumped"},
        examples,
        no_answer_probabilities={"a": -2.0, "b": 3.0},
        no_answer_threshold=5.0,
    )
    assert {k: late[k] for k in expected} == expected
    v1 = squad_scores(examples[:1], answers[:1])
    assert v1["version"] == "v1.1" and v1["exact_match"] == 100.0


def test_a_question_answerer_preset_init_keeps_its_span_head(tmp_path):
    config = tiny_config(tmp_path)
    first = build_question_answerer(config)
    first.span_head.kernel.assign(
        np.full(first.span_head.kernel.shape, 0.25, "float32")
    )
    preset = save_preset(first, tmp_path / "qa_preset")
    config["init"] = str(preset)
    config["backbone_overrides"] = {}
    again = build_question_answerer(config)
    np.testing.assert_array_equal(again.span_head.kernel.numpy(), 0.25)
    x = first.preprocessor.encode((["Who jumped?"], ["The fox jumped."]))
    np.testing.assert_allclose(
        again.predict(x.inputs(), verbose=0)["start_logits"],
        first.predict(x.inputs(), verbose=0)["start_logits"],
        atol=1e-6,
    )


def test_the_job_trains_evaluates_saves_and_reloads(tmp_path):
    config = tiny_config(tmp_path, epochs=3)
    output = tmp_path / "run"
    lines = []
    results = run_finetune(config, output, log=lines.append)
    # The layout of the classification job: preset, results.json; plus the
    # official scripts' predictions file. The backup is gone once done.
    assert sorted(p.name for p in output.iterdir()) == [
        "predictions.json",
        "preset",
        "results.json",
    ]
    saved = json.loads((output / "results.json").read_text())
    assert saved["f1"] == pytest.approx(results["f1"])
    assert saved["train_questions"] == 9 and saved["dev_questions"] == 9
    assert saved["training"]["steps"] == 3 * (saved["train_windows"] // 4)
    assert saved["training"]["resumed_from"] is None
    assert [row["step"] for row in saved["training"]["history"]][-1] == (
        saved["training"]["steps"]
    )
    assert saved["export"] is None
    assert set(saved["phase_seconds"]) == {
        "data and model",
        "training",
        "evaluation",
        "save and reload",
    }
    # The official metric, recomputed from the written predictions.
    predictions = json.loads((output / "predictions.json").read_text())
    dev = read_squad(config["dev"])
    assert set(predictions) == {e.id for e in dev}
    official = squad_v1_metrics(predictions, dev)
    assert results["exact_match"] == pytest.approx(official["exact_match"])
    assert results["f1"] == pytest.approx(official["f1"])
    for e in dev:  # Answers are the contexts' own characters.
        assert predictions[e.id] in e.context
    # The preset answers as the job's model did.
    reloaded = MobileBertQuestionAnswerer.from_preset(
        str(output / "preset"), compile=False
    )
    again = reloaded.answer(dev)
    assert [a.text for a in again] == [predictions[e.id] for e in dev]
    assert reloaded.preprocessor.doc_stride == 8
    assert any("official metric" in line for line in lines)
    assert len(results["predictions"]) == 2


def test_a_v2_dev_file_is_scored_as_v2(tmp_path):
    config = tiny_config(tmp_path, epochs=1)
    write_squad(tmp_path / "dev2.json", unanswerable=["Who wrote it?"])
    config["dev"] = str(tmp_path / "dev2.json")
    config["example_questions"] = []
    keras.utils.set_random_seed(0)
    results = run_finetune(config, tmp_path / "run", log=lambda line: None)
    assert results["squad_version"] == "v2.0"
    assert results["scores"]["NoAns_total"] == 3
    assert results["scores"]["HasAns_total"] == 9
    assert "best_f1_thresh" in results["scores"]


def test_the_job_on_real_squad_questions(tmp_path):
    path = shared_data_file("squad/dev-v1.1.json")
    config = tiny_config(
        tmp_path,
        train=str(path),
        dev=str(path),
        max_train_examples=24,
        max_dev_examples=12,
        sequence_length=64,
        doc_stride=32,
        max_question_length=24,
        epochs=1,
    )
    config["example_questions"] = []
    results = run_finetune(config, tmp_path / "run", log=lambda line: None)
    assert results["train_questions"] == 24 and results["dev_questions"] == 12
    # SQuAD paragraphs are longer than a 64-token window.
    assert results["dev_windows"] > 2 * 12
    predictions = json.loads(
        (tmp_path / "run" / "predictions.json").read_text()
    )
    by_id = {e.id: e for e in read_squad(path)}
    chosen = [by_id[qid] for qid in predictions]
    assert all(predictions[e.id] in e.context for e in chosen)
    official = squad_v1_metrics(predictions, chosen)
    assert results["f1"] == pytest.approx(official["f1"])
