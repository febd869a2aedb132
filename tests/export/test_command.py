import argparse
import csv

import pytest

pytest.importorskip("ai_edge_litert")

from keras_mobilebert import MobileBertBackbone  # noqa: E402
from keras_mobilebert.export import benchmark  # noqa: E402
from keras_mobilebert.export.metadata import read_associated_files  # noqa: E402
from keras_mobilebert_cli.export import register  # noqa: E402
from tests.models.helpers import SMALL_BACKBONE  # noqa: E402
from tests.quantization import helpers  # noqa: E402


def _parse(argv):
    parser = argparse.ArgumentParser(prog="keras-mobilebert")
    register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def test_export_command_writes_a_verified_file(tmp_path, capsys):
    pytest.importorskip("mediapipe")  # The metadata schema for --labels.
    classifier = helpers.untrained_classifier()
    classifier.save_to_preset(str(tmp_path / "preset"))
    sentences = tmp_path / "sentences.txt"
    sentences.write_text("\n".join(helpers.toy_texts(16)[0]))
    output = tmp_path / "out" / "model.tflite"
    args = _parse(
        [
            "export",
            str(tmp_path / "preset"),
            str(output),
            "--quantization",
            "dynamic",
            "--data",
            str(sentences),
            "--labels",
            "negative",
            "positive",
        ]
    )
    args.func(args)
    assert output.exists()
    files = read_associated_files(output.read_bytes())
    assert files["labels.txt"].decode().split() == ["negative", "positive"]
    printed = capsys.readouterr().out
    assert f"wrote {output}" in printed and "max abs error" in printed


def test_export_command_rejects_unknown_modes():
    with pytest.raises(SystemExit):
        _parse(["export", "p", "o.tflite", "--quantization", "int4"])


def _tiny_torch(name, task=None):
    """A 2-layer HF MobileBERT, whatever `name` asks for."""
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("torch")
    config = transformers.MobileBertConfig(
        vocab_size=30522,
        hidden_size=16,
        embedding_size=8,
        intra_bottleneck_size=8,
        intermediate_size=8,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_feedforward_networks=2,
        num_labels=2,
    )
    if task == "classification":
        return transformers.MobileBertForSequenceClassification(config)
    return transformers.MobileBertModel(config, add_pooling_layer=False).eval()


def test_benchmark_interleaves_every_row_and_writes_the_report(
    tmp_path, monkeypatch
):
    def build(name):
        return MobileBertBackbone(**SMALL_BACKBONE)

    # ONNX Runtime reported missing: its rows are skipped with a line
    # naming the extra (and the test stays fast where it is installed).
    monkeypatch.setattr(
        benchmark.reference_models,
        "missing_packages",
        lambda packages: [p for p in packages if p.startswith("onnx")],
    )
    messages = []
    result = benchmark.run_benchmark(
        output_dir=tmp_path,
        models=["mobilebert", "bert_base"],
        modes=("keras", "float32", "onnx", "torch", "finetune"),
        sequence_length=8,
        qa_sequence_length=12,
        num_threads=1,
        rounds=3,
        warmup=1,
        finetune_batch_size=2,
        finetune_rounds=1,
        finetune_steps=1,
        build=build,
        build_torch=_tiny_torch,
        log=messages.append,
    )
    rows = result["rows"]
    runtimes = {(r["shape"], r["model"], r["runtime"]) for r in rows}
    for model in ("mobilebert", "bert_base"):
        for runtime in ("keras", "litert float32", "hf pytorch"):
            assert ("classification 8", model, runtime) in runtimes
        assert ("question answering 12", model, "litert float32") in runtimes
    assert len(rows) == 3 * 2 + 1 * 2
    for row in rows:
        # One interleaved run: every row timed once per round.
        assert row["runs"] == 3
        assert 0 < row["p10_ms"] <= row["median_ms"] <= row["p90_ms"]
    files = [r for r in rows if r["runtime"] == "litert float32"]
    assert all(r["rewrites"] == "fold_norms" for r in files)
    assert all(r["file_mib"] > 0 and r["peak_memory_mib"] > 0 for r in files)
    baseline = [
        r
        for r in rows
        if (r["model"], r["runtime"]) == ("bert_base", "litert float32")
    ]
    assert [r["ratio"] for r in baseline] == [1.0, 1.0]
    targets = {(t["shape"], t["target"]) for t in result["targets"]}
    assert (
        "question answering 12",
        "BERT-base / MobileBERT, LiteRT float32",
    ) in targets
    finetune = result["finetune"]
    assert finetune["keras"]["examples_per_second"] > 0
    assert finetune["torch"]["runs"] == 1
    assert any("keras-mobilebert[benchmark]" in m for m in messages)
    with open(tmp_path / "benchmark.csv") as f:
        assert len(list(csv.DictReader(f))) == len(rows)
    assert (tmp_path / "benchmark.png").read_bytes()[:4] == b"\x89PNG"
    report = (tmp_path / "benchmark.md").read_text()
    assert "keras_mobilebert fit" in report and "ONNX Runtime rows" in report
    # A second run reuses the verified files instead of converting again
    # (its record, error included, is the first run's).
    (first,) = [
        r
        for r in files
        if (r["model"], r["sequence_length"]) == ("mobilebert", 12)
    ]
    again = benchmark.export_litert_file(
        build("mobilebert"),
        "mobilebert",
        "float32",
        12,
        tmp_path / "files",
        True,
    )
    assert again["relative_error"] == first["relative_error"]
    assert again["convert_s"] == first["convert_s"]


def test_the_benchmark_tool_and_subcommand_run_the_same_benchmark(
    monkeypatch,
):
    # tools/benchmark_litert.py is keras_mobilebert_cli.benchmark.main: the
    # same options as the subcommand, and both call run_benchmark.
    from keras_mobilebert_cli import benchmark as benchmark_command

    calls = []
    monkeypatch.setattr(
        benchmark, "run_benchmark", lambda **kwargs: calls.append(kwargs)
    )
    monkeypatch.setattr(
        "keras_mobilebert_cli.startup.start_library", lambda: None
    )
    argv = ["--models", "mobilebert_tiny", "--modes", "keras", "--rounds", "5"]
    benchmark_command.main(argv)
    parser = argparse.ArgumentParser(prog="keras-mobilebert")
    subparsers = parser.add_subparsers(dest="command", required=True)
    benchmark_command.register(subparsers)
    args = parser.parse_args(["benchmark"] + argv)
    args.func(args)
    assert len(calls) == 2 and calls[0] == calls[1]
    assert calls[0]["models"] == ["mobilebert_tiny"]
    assert calls[0]["modes"] == ["keras"] and calls[0]["rounds"] == 5
    with pytest.raises(SystemExit):
        parser.parse_args(["benchmark", "--modes", "float64"])


def _foreign_file(path, length, signature=True):
    """A LiteRT file named like Model Maker's export, inputs reordered."""
    import tensorflow as tf

    specs = [
        tf.TensorSpec([1, length], tf.int32, name=name)
        for name in ("input_type_ids", "input_mask", "input_word_ids")
    ]

    class Classifier(tf.Module):
        @tf.function(input_signature=specs)
        def serve(self, input_type_ids, input_mask, input_word_ids):
            x = tf.cast(input_word_ids * input_mask + input_type_ids, "float32")
            return {"probs": tf.nn.softmax(x[:, :3])}

    module = Classifier()
    fn = module.serve.get_concrete_function()
    if signature:
        converter = tf.lite.TFLiteConverter.from_concrete_functions(
            [fn], module
        )
    else:
        converter = tf.lite.TFLiteConverter.from_concrete_functions([fn])
    path.write_bytes(converter.convert())
    return path


def test_inputs_of_other_files_match_by_name_or_order():
    from keras_mobilebert.export.latency import match_inputs

    names = [
        "serving_default_input_type_ids:0",
        "serving_default_input_word_ids:0",
        "serving_default_input_mask:0",
    ]
    assert match_inputs(names, "f") == {
        names[0]: "segment_ids",
        names[1]: "ids",
        names[2]: "mask",
    }
    assert match_inputs(["a", "b", "c"], "f") == {
        "a": "ids",
        "b": "mask",
        "c": "segment_ids",
    }
    with pytest.raises(ValueError, match="cannot match its inputs"):
        match_inputs(["input_word_ids", "x"], "f")


def test_benchmark_compares_other_files_with_ours(tmp_path):
    theirs = _foreign_file(tmp_path / "theirs.tflite", 8)
    bare = _foreign_file(tmp_path / "bare.tflite", 8, signature=False)
    result = benchmark.run_benchmark(
        output_dir=tmp_path / "run",
        models=["mobilebert"],
        modes=("dynamic",),
        sequence_length=8,
        qa_sequence_length=None,
        num_threads=1,
        rounds=3,
        warmup=1,
        compare={"model maker": str(theirs), "no signature": str(bare)},
        build=lambda name: MobileBertBackbone(**SMALL_BACKBONE),
        log=None,
    )
    compared = [r for r in result["rows"] if r["runtime"] == benchmark.COMPARED]
    assert [r["model"] for r in compared] == ["model maker", "no signature"]
    assert all(r["runs"] == 3 and r["file_mib"] > 0 for r in compared)
    table = {(c["model"], c["runtime"]): c for c in result["comparison"]}
    # Ours and theirs, each over our dynamic-range file.
    assert table[("mobilebert", "litert dynamic")]["median_per_round"] == 1.0
    assert table[("model maker", benchmark.COMPARED)]["median_per_round"] > 0
    report = (tmp_path / "run" / "benchmark.md").read_text()
    assert "vs mobilebert litert dynamic" in report
    assert "| ours, mobilebert litert dynamic | 1.00 |" in report


def test_compare_option_reaches_the_benchmark(monkeypatch, tmp_path, capsys):
    from keras_mobilebert_cli import benchmark as benchmark_command

    calls = []
    monkeypatch.setattr(
        benchmark, "run_benchmark", lambda **kwargs: calls.append(kwargs)
    )
    monkeypatch.setattr(
        "keras_mobilebert_cli.startup.start_library", lambda: None
    )
    theirs = tmp_path / "theirs.tflite"
    theirs.write_bytes(b"x")
    benchmark_command.main(["--compare", f"mm float32={theirs}"])
    assert calls[0]["compare"] == {"mm float32": str(theirs)}
    assert benchmark_command.main(["--compare", str(theirs)]) == 2
    assert "NAME=FILE" in capsys.readouterr().err
    missing = f"x={tmp_path / 'missing'}"
    assert benchmark_command.main(["--compare", missing]) == 2
    assert "no file" in capsys.readouterr().err
