"""tools/sst2_table.py: rows saved as they finish, skipped when done, and
the table written from whatever rows exist."""

import argparse
import json

from tools import sst2_table


def table(tmp_path):
    args = argparse.Namespace(output=str(tmp_path), batch_size=32)
    return sst2_table.Table(args)


def test_done_rows_are_skipped_and_the_table_lists_them(tmp_path, monkeypatch):
    t = table(tmp_path)
    calls = []

    def fake_student(table, shape, kind):
        calls.append((shape, kind))
        return {
            "accuracy": 0.8,
            "int8_accuracy": 0.79,
            "parameters": 1234,
            "int8_mib": 2.5,
            "int8_quantization": "int8",
            "int8_path": "x.tflite",
            "steps": 10,
            "seconds": 12.0,
        }

    monkeypatch.setattr(sst2_table, "row_student", fake_student)
    sst2_table.run_row(t, "small_random")
    sst2_table.run_row(t, "small_random")  # done: not run again
    assert calls == [("small", "random")]
    t.save(
        "teacher",
        {
            "accuracy": 0.9,
            "int8_quantization": "dynamic",
            "int8_mib": 22.0,
            "parameters": 5,
        },
    )
    t.save("latency", {"timings": {"small_random": {"median_ms": 1.5}}})
    lines = (tmp_path / "table.md").read_text().splitlines()
    assert lines[2].startswith("| MiniLM-L6 teacher, fine-tuned | 0.9000 |")
    assert "22.00 (dynamic)" in lines[2]
    assert lines[3] == (
        "| small student, random init, fine-tuned | 0.8000 | 0.7900 | "
        "1,234 | 2.50 | 1.50 | 10 x 32 | 12 |"
    )
    saved = json.loads((tmp_path / "table.json").read_text())
    assert saved["latency"]["small_random"]["median_ms"] == 1.5
    assert (
        json.loads((tmp_path / "rows" / "small_random.json").read_text())[
            "row_seconds"
        ]
        >= 0
    )


def _tiny_litert_file(path):
    """A LiteRT file with the inputs of a classifier's (ids, mask, segments)."""
    import tensorflow as tf

    specs = [
        tf.TensorSpec([1, 64], tf.int32, name=name)
        for name in ("ids", "mask", "segment_ids")
    ]

    @tf.function(input_signature=specs)
    def classify(ids, mask, segment_ids):
        return {"logits": tf.cast(ids * mask + segment_ids, tf.float32)}

    module = tf.Module()
    module.classify = classify
    saved = str(path.with_suffix(".saved_model"))
    tf.saved_model.save(module, saved, signatures=classify)
    converter = tf.lite.TFLiteConverter.from_saved_model(saved)
    path.write_bytes(converter.convert())
    return str(path)


def test_latency_row_times_every_file_in_one_pass(tmp_path):
    args = argparse.Namespace(
        output=str(tmp_path),
        batch_size=32,
        sequence_length=64,
        threads=1,
        latency_runs=3,
    )
    t = sst2_table.Table(args)
    t.save("tfidf", {"accuracy": 0.82, "parameters": None})  # no file
    for name in ("teacher", "small_task"):
        path = _tiny_litert_file(tmp_path / f"{name}.tflite")
        t.save(name, {"accuracy": 0.8, "int8_path": path, "steps": 10})
    sst2_table.run_row(t, "latency")
    saved = json.loads((tmp_path / "table.json").read_text())
    assert set(saved["latency"]) == {"teacher", "small_task"}
    for timing in saved["latency"].values():
        assert timing["runs"] == 3 and timing["median_ms"] > 0
    task_line = next(
        line
        for line in (tmp_path / "table.md").read_text().splitlines()
        if line.startswith("| small student, general distillation, then task")
    )
    latency_cell = task_line.split("|")[6].strip()
    assert float(latency_cell) > 0
