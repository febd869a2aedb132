"""tools/profile_litert.py on small inputs (the interleaved timing is
`keras_mobilebert.export.latency`, tested in tests/export/test_latency.py)."""

import importlib.util
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
