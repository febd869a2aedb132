"""tools/profile_litert.py and tools/benchmark_corpus_pipeline.py on small
inputs (the interleaved timing is `keras_mobilebert.export.latency`, tested
in tests/export/test_latency.py)."""

import importlib.util
import os
import pathlib
import sys

import pytest

from tests.models.helpers import VOCAB

VOCABULARY_SIZE = len(VOCAB)
TOOLS = pathlib.Path(__file__).resolve().parent.parent / "tools"


def _load(name):
    # tools/ is not a package: load the script by its path.
    spec = importlib.util.spec_from_file_location(name, TOOLS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def small_files(tmp_path_factory):
    pytest.importorskip("ai_edge_litert")
    from keras_mobilebert import MobileBertBackbone
    from keras_mobilebert.export import to_litert
    from tests.models.helpers import SMALL_BACKBONE
    from tests.models.helpers import backbone_inputs

    backbone = MobileBertBackbone(
        **{**SMALL_BACKBONE, "attention_mask_mode": "fill"}
    )
    batch = backbone_inputs(batch=8, length=8, seed=0)
    samples = [{k: v[i] for k, v in batch.items()} for i in range(8)]
    folder = tmp_path_factory.mktemp("files")
    paths = {}
    for mode in ("float32", "int8"):
        paths[mode] = folder / f"{mode}.tflite"
        to_litert(
            backbone,
            paths[mode],
            quantization=mode,
            sequence_length=8,
            representative_data=samples,
            num_samples=4,
            tolerance={"relative_error": 1.0, "label_agreement": 0.0},
            log=None,
        )
    return paths


def _report(path):
    return _load("profile_litert").report(
        path,
        num_threads=1,
        runs=3,
        num_layers=2,
        vocabulary_size=VOCABULARY_SIZE,
    )


def test_float32_profile_counts_every_fully_connected(small_files):
    result, text = _report(small_files["float32"])
    structure = result["structure"]
    fc_ops = structure["ops"]["FULLY_CONNECTED"]
    # Embedding projection + 2 blocks x (2 bottleneck + q, k, v + output
    # + 2 FFNs x 2 + output bottleneck).
    assert fc_ops == 1 + 2 * (2 + 3 + 1 + 2 * 2 + 1)
    rows = {row["type"]: row for row in result["node_types"]}
    fc = [r for t, r in rows.items() if "Fully Connected" in t]
    assert len(fc) == 1 and fc[0]["count"] == fc_ops
    assert result["fully_connected_by_shape"] is not None
    shapes = result["fully_connected_by_shape"]
    assert sum(v["count"] for v in shapes.values()) == fc_ops
    assert structure["dynamic_inputs"] == []
    assert structure["per_block"]["FULLY_CONNECTED"] == fc_ops / 2
    assert "outside XNNPACK" in text


def test_int8_profile_names_the_ops_outside_the_delegate(small_files):
    result, _ = _report(small_files["int8"])
    outside = {row["type"] for row in result["outside_delegate"]}
    # XNNPACK has no int8 softmax.
    assert "SOFTMAX" in outside
    zero_points = result["structure"]["batch_matmul_rhs_zero_points"]
    assert sum(zero_points.values()) == 4
    assert result["structure"]["weights"]["FULLY_CONNECTED:per_channel"] > 0


def test_delegate_statistics_parses_the_summary_table():
    profile = _load("profile_litert")
    summary = (
        "==== Delegate Statistics ====\n"
        "Op Name     Count    Avg(us)    Min(us)    Max(us)  Total(us)\n"
        "Delegate/Add (ND)      850      13.17      1     91      11192\n"
        "Delegate/Fully Connected (NC, F32) GEMM   10   2.00   1   3   20\n"
    )
    rows = profile.delegate_statistics(summary, runs=5)
    assert rows == [
        {"type": "Delegate/Add (ND)", "count": 170, "ms": 11192 / 1000 / 5},
        {
            "type": "Delegate/Fully Connected (NC, F32) GEMM",
            "count": 2,
            "ms": 20 / 1000 / 5,
        },
    ]


def test_json_is_written_whole(tmp_path):
    profile = _load("profile_litert")
    path = tmp_path / "sub" / "out.json"
    profile.write_json({"a": [1, 2]}, path)
    assert path.read_text() == '{\n  "a": [\n    1,\n    2\n  ]\n}'
    assert sorted(p.name for p in path.parent.iterdir()) == ["out.json"]


# tools/benchmark_corpus_pipeline.py: its parts on tiny sizes (the figures'
# form, not their values; tests/test_corpus_beam.py runs the Beam part).


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory):
    from tests.distillation.test_corpus_data import documents
    from tests.distillation.test_corpus_data import write_corpus

    docs = documents(30)
    return docs, write_corpus(tmp_path_factory.mktemp("corpus") / "c", docs, 2)


def test_pipeline_rate_counts_what_it_timed(tiny_corpus):
    docs, folder = tiny_corpus
    bench = _load("benchmark_corpus_pipeline")
    figures = bench.pipeline_rate(
        folder,
        batch_size=4,
        sequence_length=16,
        max_predictions=3,
        warmup=1,
        batches=3,
    )
    assert figures["batches"] == 3 and figures["sequences"] == 12
    assert figures["seconds"] > 0
    assert figures["sequences_per_second"] == pytest.approx(
        12 / figures["seconds"]
    )
    sentences = sum(len(d) for d in docs)
    assert figures["epochs_read"] == pytest.approx(16 / sentences)


def test_student_rate_times_the_distillation_step(tiny_corpus):
    from tests.distillation.test_resume import STUDENT
    from tests.distillation.test_resume import TEACHER

    _, folder = tiny_corpus
    bench = _load("benchmark_corpus_pipeline")
    figures = bench.student_rate(
        folder,
        batch_size=4,
        sequence_length=16,
        max_predictions=3,
        warmup=1,
        steps=2,
        teacher="ib_bert_en_uncased",
        student_overrides=STUDENT,
        teacher_overrides=TEACHER,
    )
    assert figures["num_layers"] == 2 and figures["steps"] == 2
    assert figures["batch_size"] == 4
    assert figures["seconds_per_step"] > 0
    assert figures["sequences_per_second"] == pytest.approx(
        4 / figures["seconds_per_step"]
    )
    assert figures["parameters"] > 0


def test_verdict_and_report_lines():
    bench = _load("benchmark_corpus_pipeline")
    pipeline = {
        "sequences_per_second": 6000.0,
        "seconds": 2.0,
        "batches": 47,
        "epochs_read": 0.5,
        "cpu": 0,
    }
    fast = {"sequences_per_second": 1000.0}
    slow = {
        "sequences_per_second": 3.0,
        "seconds_per_step": 85.3,
        "steps": 2,
        "batch_size": 256,
        "num_layers": 24,
    }
    assert bench.verdict(pipeline, fast) == {
        "ratio": 6.0,
        "ratio_pass": False,
        "floor_pass": True,
    }
    assert (
        bench.verdict({"sequences_per_second": 4000.0}, slow)["floor_pass"]
        is False
    )
    text = bench.report(pipeline, slow)
    assert "6,000 sequences/s" in text
    assert "ratio 2,000x: PASS (>= 10x); pipeline PASS" in text
    beam = {
        "runs": [
            {"mb": 5.0, "sentences": 9, "seconds": 60.0, "mb_per_minute": 5.0},
            {
                "mb": 20.0,
                "sentences": 36,
                "seconds": 150.0,
                "mb_per_minute": 8.0,
            },
        ],
        "marginal_mb_per_minute": 10.0,
        "startup_seconds": 30.0,
    }
    lines = bench.report(beam=beam).splitlines()
    assert lines[-1] == (
        "prepare-corpus marginal rate 10.00 MB/min; start-up 30.0 s"
    )


def test_shared_text_round_trips_through_read_documents(tmp_path):
    from keras_mobilebert.distillation.data import read_documents
    from tests.shared_data import shared_data_file

    data = shared_data_file("squad/dev-v1.1.json").parent.parent
    shared_data_file("sst2/train.tsv")
    bench = _load("benchmark_corpus_pipeline")
    docs = bench.shared_documents(data)
    # SQuAD dev paragraphs, then the SST-2 training sentences.
    assert len(docs) == 2067 + 67349
    assert all(len(d) == 1 for d in docs[2067:])
    assert sum(len(d) for d in docs[:2067]) > 2 * 2067
    path = tmp_path / "text.txt"
    size = bench.write_text(docs[:50] + docs[-50:], path, copies=2)
    assert size == path.stat().st_size
    assert read_documents(path) == (docs[:50] + docs[-50:]) * 2


def test_corpus_benchmark_help_needs_neither_beam_nor_tensorflow():
    import subprocess

    script = TOOLS / "benchmark_corpus_pipeline.py"
    code = (
        "import runpy, sys\n"
        f"sys.argv = [{str(script)!r}, '-h']\n"
        "try:\n"
        f"    runpy.run_path({str(script)!r}, run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('loaded:', 'tensorflow' in sys.modules, "
        "'apache_beam' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert "--beam-mb" in result.stdout
    assert "--student-batch-size" in result.stdout
    assert result.stdout.strip().endswith("loaded: False False")


def test_corpus_benchmark_runs_each_part_in_its_own_process(
    tiny_corpus, tmp_path
):
    import json
    import subprocess

    from tests.distillation.test_resume import STUDENT
    from tests.distillation.test_resume import TEACHER

    _, folder = tiny_corpus
    output = tmp_path / "figures.json"
    result = subprocess.run(
        [sys.executable, str(TOOLS / "benchmark_corpus_pipeline.py")]
        + ["--corpus", str(folder), "--batch-size", "4"]
        + ["--sequence-length", "16", "--max-predictions", "3"]
        + ["--warmup", "1", "--batches", "3", "--json", str(output)]
        + ["--teacher", "ib_bert_en_uncased"]
        + ["--teacher-overrides", json.dumps(TEACHER)]
        + ["--student-overrides", json.dumps(STUDENT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(output.read_text())
    # The reader's child pinned itself to one CPU it was allowed.
    assert figures["pipeline"]["cpu"] in os.sched_getaffinity(0)
    assert figures["pipeline"]["sequences"] == 12
    assert figures["student"]["num_layers"] == 2
    assert "input pipeline, one core" in result.stdout
    assert "(>= 10x); pipeline" in result.stdout
