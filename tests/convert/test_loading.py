"""Loading paths: from_preset on snapshots and hf://, the CLI, export."""

import argparse
import json
import shutil

import numpy as np
import pytest

import keras_mobilebert
from keras_mobilebert.convert import hf_config
from keras_mobilebert.convert import hf_export
from keras_mobilebert.convert import hf_preset_source
from keras_mobilebert.convert.hf_checkpoint import convert_snapshot
from keras_mobilebert.convert.task_builders import build_question_answerer
from keras_mobilebert.convert.weight_files import read_safetensors as load_file
from keras_mobilebert.convert.weight_files import write_safetensors as save_file
from keras_mobilebert.convert.weights import ConversionError
from keras_mobilebert_cli import convert as command
from keras_mobilebert_cli.main import main

from .parity import FIXTURES
from .parity import inputs
from .parity import load_io

SNAPSHOT = FIXTURES / "mobilebert" / "hf"


def _sequence_output(backbone, io):
    return np.asarray(backbone(inputs(io))["sequence_output"])


def _task_snapshot(tmp_path, heads):
    """The mobilebert fixture re-saved with other heads (random values)."""
    rng = np.random.default_rng(0)
    tensors = {
        k: v
        for k, v in load_file(str(SNAPSHOT / "model.safetensors")).items()
        if k.startswith("mobilebert.")
    }
    config = json.loads((SNAPSHOT / "config.json").read_text())
    if "classifier" in heads:
        tensors["classifier.weight"] = rng.standard_normal((3, 32)).astype(
            "float32"
        )
        tensors["classifier.bias"] = rng.standard_normal(3).astype("float32")
        config["id2label"] = {"0": "neg", "1": "neutral", "2": "pos"}
        config["architectures"] = ["MobileBertForSequenceClassification"]
    if "qa" in heads:
        tensors["qa_outputs.weight"] = rng.standard_normal((2, 32)).astype(
            "float32"
        )
        tensors["qa_outputs.bias"] = rng.standard_normal(2).astype("float32")
        config["architectures"] = ["MobileBertForQuestionAnswering"]
    out = tmp_path / "snapshot"
    out.mkdir()
    save_file(
        tensors, str(out / "model.safetensors"), metadata={"format": "pt"}
    )
    (out / "config.json").write_text(json.dumps(config))
    shutil.copy(SNAPSHOT / "vocab.txt", out / "vocab.txt")
    return out


def test_backbone_from_local_snapshot():
    io = load_io("mobilebert")
    backbone = keras_mobilebert.MobileBertBackbone.from_preset(str(SNAPSHOT))
    np.testing.assert_allclose(
        _sequence_output(backbone, io),
        io["hidden_2"],
        rtol=0,
        atol=1e-5 * np.abs(io["hidden_2"]).max(),
    )


def test_from_preset_without_weights_uses_config_only():
    backbone = keras_mobilebert.MobileBertBackbone.from_preset(
        str(SNAPSHOT), load_weights=False
    )
    assert backbone.num_feedforward_networks == 3
    assert backbone.hidden_dim == 32


def test_masked_lm_from_local_snapshot_predicts_like_hf():
    io = load_io("mobilebert")
    masked_lm = keras_mobilebert.MobileBertMaskedLM.from_preset(str(SNAPSHOT))
    assert masked_lm.preprocessor.tokenizer.vocabulary_size() == 40
    x = inputs(io)
    positions = np.array([[1, 4], [2, 6]], "int32")
    logits = np.asarray(masked_lm({**x, "mask_positions": positions}))
    expected = np.take_along_axis(
        io["mlm_logits"], positions[..., None], axis=1
    )
    np.testing.assert_allclose(logits, expected, rtol=0, atol=1e-4)


def test_tokenizer_from_local_snapshot():
    tokenizer = keras_mobilebert.MobileBertTokenizer.from_preset(str(SNAPSHOT))
    assert tokenizer.token_to_id("[MASK]") == 4
    assert tokenizer.lowercase


def test_classifier_from_sequence_classification_snapshot(tmp_path):
    snapshot = _task_snapshot(tmp_path, {"classifier"})
    io = load_io("mobilebert")
    classifier = keras_mobilebert.MobileBertTextClassifier.from_preset(
        str(snapshot)
    )
    assert classifier.pooled_norm is None
    assert classifier.id2label == {0: "neg", 1: "neutral", 2: "pos"}
    tensors = load_file(str(snapshot / "model.safetensors"))
    pooled = io["hidden_2"][:, 0]
    expected = (
        pooled @ tensors["classifier.weight"].T + tensors["classifier.bias"]
    )
    logits = np.asarray(classifier(inputs(io)))
    np.testing.assert_allclose(
        logits, expected, rtol=0, atol=1e-5 * np.abs(expected).max()
    )


def test_classifier_from_pretraining_snapshot_gets_new_head():
    classifier = keras_mobilebert.MobileBertTextClassifier.from_preset(
        str(SNAPSHOT), num_classes=2
    )
    assert classifier.output_dense.kernel.shape == (32, 2)
    with pytest.raises(ConversionError, match="num_classes"):
        keras_mobilebert.MobileBertTextClassifier.from_preset(str(SNAPSHOT))


def test_question_answering_snapshot(tmp_path):
    snapshot = _task_snapshot(tmp_path, {"qa"})
    io = load_io("mobilebert")
    converted = convert_snapshot(snapshot)
    model = build_question_answerer(converted)
    tensors = load_file(str(snapshot / "model.safetensors"))
    span = (
        io["hidden_2"] @ tensors["qa_outputs.weight"].T
        + tensors["qa_outputs.bias"]
    )
    out = model(inputs(io))
    scale = np.abs(span).max()
    np.testing.assert_allclose(
        np.asarray(out["start_logits"]), span[..., 0], atol=1e-5 * scale
    )
    np.testing.assert_allclose(
        np.asarray(out["end_logits"]), span[..., 1], atol=1e-5 * scale
    )


def test_question_answerer_from_snapshot_and_its_converted_preset(
    tmp_path, capsys
):
    snapshot = _task_snapshot(tmp_path, {"qa"})
    io = load_io("mobilebert")
    x = inputs(io)
    qa = keras_mobilebert.MobileBertQuestionAnswerer.from_preset(str(snapshot))
    expected = build_question_answerer(convert_snapshot(snapshot))(x)
    # GR's windows, capped by the fixture's 16 positions.
    assert qa.preprocessor.sequence_length == 16
    assert qa.preprocessor.max_question_length == 2
    dst = tmp_path / "preset"
    assert _cli(str(snapshot), str(dst)) == 0
    assert "question-answering task" in capsys.readouterr().out
    assert (dst / "task.json").is_file()
    assert not (dst / "qa_head.weights.npz").exists()
    restored = keras_mobilebert.MobileBertQuestionAnswerer.from_preset(str(dst))
    for name in ("start_logits", "end_logits"):
        np.testing.assert_array_equal(
            np.asarray(qa(x)[name]), np.asarray(expected[name])
        )
        np.testing.assert_array_equal(
            np.asarray(restored(x)[name]), np.asarray(expected[name])
        )
    for field in ("sequence_length", "doc_stride", "max_question_length"):
        assert getattr(restored.preprocessor, field) == getattr(
            qa.preprocessor, field
        )
    tokenizer = restored.preprocessor.tokenizer
    assert (tokenizer.lowercase, tokenizer.strip_accents) == (True, True)
    answer = restored.answer("tok1 tok2", "tok3 tok4 tok5 tok1 tok2 tok6")
    assert (
        answer.text
        == qa.answer("tok1 tok2", "tok3 tok4 tok5 tok1 tok2 tok6").text
    )
    preprocessor = (
        keras_mobilebert.MobileBertQuestionAnswererPreprocessor.from_preset(
            str(snapshot)
        )
    )
    assert preprocessor.sequence_length == 16


def test_hf_handle_takes_the_snapshot_path(monkeypatch):
    # No network in tests: huggingface_hub is replaced by the local fixture;
    # everything after the download is the local-snapshot code path.
    huggingface_hub = pytest.importorskip("huggingface_hub")

    calls = []

    def list_repo_files(repo, revision=None):
        calls.append(("list", repo, revision))
        return [p.name for p in SNAPSHOT.iterdir()]

    def snapshot_download(repo, revision=None, allow_patterns=None, **kw):
        calls.append(("download", repo, tuple(allow_patterns)))
        return str(SNAPSHOT)

    def hf_hub_download(repo, filename, revision=None, **kw):
        return str(SNAPSHOT / filename)

    monkeypatch.setattr(huggingface_hub, "list_repo_files", list_repo_files)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", hf_hub_download)
    io = load_io("mobilebert")
    backbone = keras_mobilebert.MobileBertBackbone.from_preset(
        "hf://someone/tiny-mobilebert"
    )
    assert calls[0] == ("list", "someone/tiny-mobilebert", None)
    assert "model.safetensors" in calls[1][2]
    np.testing.assert_allclose(
        _sequence_output(backbone, io),
        io["hidden_2"],
        atol=1e-5 * np.abs(io["hidden_2"]).max(),
    )


def test_builtin_name_converts_from_its_hf_source(monkeypatch, tmp_path):
    # mobilebert_en_uncased maps to hf://google/mobilebert-uncased; with the
    # download faked and the preset config shrunk to the fixture's shape the
    # whole built-in path runs: convert, cache, load from the cache.
    from keras_mobilebert.models.mobilebert import builtin_presets

    monkeypatch.setenv("KERAS_MOBILEBERT_HOME", str(tmp_path))
    seen = []

    def fake_download_and_convert(source, **kwargs):
        seen.append(source)
        return convert_snapshot(SNAPSHOT)

    monkeypatch.setattr(
        hf_preset_source, "convert_snapshot", fake_download_and_convert
    )
    config = hf_config.backbone_config_from_hf(
        json.loads((SNAPSHOT / "config.json").read_text())
    )
    entry = dict(
        builtin_presets.backbone_presets["mobilebert_en_uncased"],
        config=config,
    )
    monkeypatch.setitem(
        builtin_presets.backbone_presets, "mobilebert_en_uncased", entry
    )
    backbone = keras_mobilebert.MobileBertBackbone.from_preset(
        "mobilebert_en_uncased"
    )
    assert seen == ["hf://google/mobilebert-uncased"]
    cached = tmp_path / "presets" / "mobilebert_en_uncased"
    assert (cached / "config.json").is_file()
    io = load_io("mobilebert")
    np.testing.assert_allclose(
        _sequence_output(backbone, io),
        io["hidden_2"],
        atol=1e-5 * np.abs(io["hidden_2"]).max(),
    )
    # Second load: from the cache, no conversion.
    keras_mobilebert.MobileBertMaskedLM.from_preset("mobilebert_en_uncased")
    assert len(seen) == 1


def test_builtin_name_offline_says_where_weights_come_from(
    monkeypatch, tmp_path
):
    monkeypatch.setenv("KERAS_MOBILEBERT_HOME", str(tmp_path))

    def offline(source, **kwargs):
        raise OSError("no network")

    monkeypatch.setattr(hf_preset_source, "convert_snapshot", offline)
    with pytest.raises(
        keras_mobilebert.PresetWeightsNotFoundError,
        match="hf://google/mobilebert-uncased",
    ):
        keras_mobilebert.MobileBertBackbone.from_preset("mobilebert_en_uncased")
    assert not (tmp_path / "presets" / "mobilebert_en_uncased").exists()


def _cli(*argv):
    parser = argparse.ArgumentParser(prog="keras-mobilebert")
    command.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["convert", *argv])
    return args.func(args)


def test_cli_converts_hf_snapshot_to_preset(tmp_path, capsys):
    dst = tmp_path / "preset"
    assert _cli(str(SNAPSHOT), str(dst)) == 0
    printed = capsys.readouterr().out
    assert "Checking and assigning" in printed and "Wrote" in printed
    assert (dst / "task.json").is_file()
    assert (dst / "nsp_head.weights.npz").is_file()
    io = load_io("mobilebert")
    backbone = keras_mobilebert.MobileBertBackbone.from_preset(str(dst))
    np.testing.assert_allclose(
        _sequence_output(backbone, io),
        io["hidden_2"],
        atol=1e-5 * np.abs(io["hidden_2"]).max(),
    )
    masked_lm = keras_mobilebert.MobileBertMaskedLM.from_preset(str(dst))
    positions = np.array([[0, 3], [5, 8]], "int32")
    logits = np.asarray(masked_lm({**inputs(io), "mask_positions": positions}))
    expected = np.take_along_axis(io["mlm_logits"], positions[..., None], 1)
    np.testing.assert_allclose(logits, expected, atol=1e-4)


def test_cli_converts_tf1_checkpoint(tmp_path):
    dst = tmp_path / "preset"
    assert _cli(str(FIXTURES / "ib_bert" / "tf1"), str(dst)) == 0
    backbone = keras_mobilebert.MobileBertBackbone.from_preset(str(dst))
    assert backbone.attention_mask_mode == "fill"
    io = load_io("ib_bert")
    np.testing.assert_allclose(
        _sequence_output(backbone, io),
        io["hidden_2"],
        atol=1e-5 * np.abs(io["hidden_2"]).max(),
    )


def test_cli_failure_leaves_nothing(tmp_path, capsys):
    broken = tmp_path / "broken"
    shutil.copytree(SNAPSHOT, broken)
    data = (broken / "model.safetensors").read_bytes()
    (broken / "model.safetensors").write_bytes(data[: len(data) // 2])
    dst = tmp_path / "preset"
    assert main(["convert", str(broken), str(dst)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("keras-mobilebert convert: error: ") and (
        "model.safetensors" in err
    )
    assert not dst.exists()
    assert list(tmp_path.iterdir()) == [broken]


def _hf_tensors(path):
    return load_file(str(path / "model.safetensors"))


def test_hf_keras_hf_round_trip_gives_the_same_tensors(tmp_path):
    for variant in ("mobilebert", "tiny", "teacher"):
        src = FIXTURES / variant / "hf"
        converted = convert_snapshot(src)
        dst = tmp_path / variant
        hf_export.export_to_huggingface(
            converted.pretraining_model, dst, vocabulary=src / "vocab.txt"
        )
        before, after = _hf_tensors(src), _hf_tensors(dst)
        assert sorted(before) == sorted(after), variant
        for name, value in before.items():
            np.testing.assert_array_equal(after[name], value, err_msg=name)
        config = json.loads((dst / "config.json").read_text())
        original = json.loads((src / "config.json").read_text())
        for key in hf_config.HF_CONFIG_DEFAULTS:
            if key != "classifier_dropout":
                assert config[key] == original[key], key
        assert (dst / "vocab.txt").read_text() == (
            src / "vocab.txt"
        ).read_text()


def test_export_refuses_what_hf_cannot_compute(tmp_path):
    converted = keras_mobilebert.convert.convert_tf1_checkpoint(
        FIXTURES / "ib_bert" / "tf1"
    )
    with pytest.raises(ConversionError, match="1e-05|fill|bottleneck_dim"):
        hf_export.export_to_huggingface(converted.backbone, tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_export_loads_in_transformers(tmp_path):
    transformers = pytest.importorskip("transformers")
    torch = pytest.importorskip("torch")
    io = load_io("mobilebert")
    backbone = keras_mobilebert.MobileBertBackbone.from_preset(str(SNAPSHOT))
    dst = tmp_path / "hf"
    hf_export.export_to_huggingface(
        backbone, dst, vocabulary=SNAPSHOT / "vocab.txt"
    )
    model = transformers.MobileBertModel.from_pretrained(str(dst)).eval()
    x = inputs(io)
    with torch.no_grad():
        out = model(
            input_ids=torch.tensor(x["token_ids"]).long(),
            token_type_ids=torch.tensor(x["segment_ids"]).long(),
            attention_mask=torch.tensor(x["padding_mask"]).long(),
        ).last_hidden_state.numpy()
    np.testing.assert_allclose(
        out, io["hidden_2"], atol=1e-5 * np.abs(io["hidden_2"]).max()
    )
    # The classifier exports as MobileBertForSequenceClassification.
    classifier = keras_mobilebert.MobileBertTextClassifier(
        backbone, num_classes=3, pooled_normalization=None, dropout=0.0
    )
    hf_export.export_to_huggingface(
        classifier, tmp_path / "cls", vocabulary=SNAPSHOT / "vocab.txt"
    )
    hf_cls = transformers.MobileBertForSequenceClassification.from_pretrained(
        str(tmp_path / "cls")
    ).eval()
    with torch.no_grad():
        logits = hf_cls(
            input_ids=torch.tensor(x["token_ids"]).long(),
            token_type_ids=torch.tensor(x["segment_ids"]).long(),
        ).logits.numpy()
    np.testing.assert_allclose(
        logits, np.asarray(classifier(x)), atol=1e-5 * np.abs(logits).max()
    )


def test_preprocessors_from_local_snapshot():
    preprocessor = (
        keras_mobilebert.MobileBertTextClassifierPreprocessor.from_preset(  # noqa: E501
            str(SNAPSHOT), sequence_length=8
        )
    )
    x = preprocessor(["tok1 tok2"])
    assert np.asarray(x["token_ids"]).tolist()[0][:4] == [2, 6, 7, 3]
    masked = keras_mobilebert.MobileBertMaskedLMPreprocessor.from_preset(
        str(SNAPSHOT)
    )
    assert masked.tokenizer.vocabulary_size() == 40


def test_cli_round_trip_hf_preset_hf(tmp_path):
    preset = tmp_path / "preset"
    back = tmp_path / "back"
    assert _cli(str(SNAPSHOT), str(preset)) == 0
    assert _cli("--to-huggingface", str(preset), str(back)) == 0
    before, after = _hf_tensors(SNAPSHOT), _hf_tensors(back)
    assert sorted(before) == sorted(after)
    for name, value in before.items():
        np.testing.assert_array_equal(after[name], value, err_msg=name)
    config = json.loads((back / "config.json").read_text())
    assert config["architectures"] == ["MobileBertForPreTraining"]
    assert (back / "vocab.txt").read_text() == (
        SNAPSHOT / "vocab.txt"
    ).read_text()


def test_cli_round_trip_classifier_keeps_labels(tmp_path):
    snapshot = _task_snapshot(tmp_path, {"classifier"})
    preset = tmp_path / "preset"
    back = tmp_path / "back"
    assert _cli(str(snapshot), str(preset)) == 0
    assert json.loads((preset / "labels.json").read_text())["2"] == "pos"
    assert _cli("--to-huggingface", str(preset), str(back)) == 0
    config = json.loads((back / "config.json").read_text())
    assert config["architectures"] == ["MobileBertForSequenceClassification"]
    assert config["id2label"] == {"0": "neg", "1": "neutral", "2": "pos"}
    before, after = _hf_tensors(snapshot), _hf_tensors(back)
    assert sorted(before) == sorted(after)
    for name, value in before.items():
        np.testing.assert_array_equal(after[name], value, err_msg=name)


def test_classifier_from_converted_preset_predicts_strings(tmp_path):
    # Preprocessors built from a snapshot cap their length at the
    # checkpoint's position table (16 in the fixture). KerasHub builds a
    # classifier's preprocessor for a masked-LM preset with its own default
    # (128), so here it is passed explicitly.
    preset = tmp_path / "preset"
    assert _cli(str(SNAPSHOT), str(preset)) == 0
    preprocessor = (
        keras_mobilebert.MobileBertTextClassifierPreprocessor.from_preset(
            str(SNAPSHOT)
        )
    )
    assert preprocessor.sequence_length == 16
    classifier = keras_mobilebert.MobileBertTextClassifier.from_preset(
        str(preset), num_classes=2, preprocessor=preprocessor
    )
    logits = classifier.predict(["tok1 tok2 tok3", "tok4"], verbose=0)
    assert logits.shape == (2, 2)
    masked_lm = keras_mobilebert.MobileBertMaskedLM.from_preset(str(preset))
    assert masked_lm.preprocessor.sequence_length == 16
