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


def test_benchmark_table_csv_and_chart(tmp_path):
    def build(name):
        return MobileBertBackbone(**SMALL_BACKBONE)

    rows = benchmark.run_benchmark(
        output_dir=tmp_path,
        models=["small"],
        modes=("keras", "float32", "dynamic"),
        sequence_length=8,
        num_threads=1,
        runs=3,
        warmup=1,
        build=build,
        log=None,
    )
    assert [r["runtime"] for r in rows] == [
        "keras",
        "litert float32",
        "litert dynamic",
    ]
    for row in rows:
        assert 0 < row["p10_ms"] <= row["median_ms"] <= row["p90_ms"]
    assert rows[1]["file_mib"] > 0 and rows[1]["peak_memory_mib"] > 0
    with open(tmp_path / "benchmark.csv") as f:
        assert len(list(csv.DictReader(f))) == 3
    assert (tmp_path / "benchmark.png").read_bytes()[:4] == b"\x89PNG"
    assert "litert dynamic" in (tmp_path / "benchmark.md").read_text()


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
    argv = ["--models", "mobilebert_tiny", "--modes", "keras", "--runs", "5"]
    benchmark_command.main(argv)
    parser = argparse.ArgumentParser(prog="keras-mobilebert")
    subparsers = parser.add_subparsers(dest="command", required=True)
    benchmark_command.register(subparsers)
    args = parser.parse_args(["benchmark"] + argv)
    args.func(args)
    assert len(calls) == 2 and calls[0] == calls[1]
    assert calls[0]["models"] == ["mobilebert_tiny"]
    assert calls[0]["modes"] == ["keras"] and calls[0]["runs"] == 5
    with pytest.raises(SystemExit):
        parser.parse_args(["benchmark", "--modes", "float64"])
