"""LiteRT export of a question answerer: every mode, its samples."""

import numpy as np
import pytest

pytest.importorskip("ai_edge_litert")

from keras_mobilebert import export  # noqa: E402
from keras_mobilebert.data.squad import make_example  # noqa: E402
from keras_mobilebert.export.samples import question_answerer_inputs  # noqa: E402
from tests.quantization import qa_helpers  # noqa: E402

LENGTH = qa_helpers.SEQUENCE_LENGTH


def _pairs(count=48, seed=7):
    questions, contexts, _, _ = qa_helpers.toy_pairs(count, seed=seed)
    return questions, contexts


def _details(path):
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_path=str(path)).get_signature_runner()
    inputs = {
        name: (tuple(d["shape"]), d["dtype"])
        for name, d in runner.get_input_details().items()
    }
    outputs = {
        name: (tuple(d["shape"]), d["dtype"])
        for name, d in runner.get_output_details().items()
    }
    return inputs, outputs


@pytest.mark.parametrize(
    "quantization", ["float32", "float16", "dynamic", "int8"]
)
def test_question_answerer_modes_are_verified(tmp_path, quantization):
    qa = qa_helpers.trained_question_answerer()
    path = tmp_path / f"{quantization}.tflite"
    result = export.to_litert(
        qa,
        path,
        quantization=quantization,
        representative_data=_pairs(),
        metadata=False,
        log=None,
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
    inputs, outputs = _details(path)
    # The preprocessor's length by default, the Task Library's names.
    assert inputs == {
        name: ((1, LENGTH), np.int32) for name in export.INPUT_NAMES
    }
    assert outputs == {
        name: ((1, LENGTH), np.float32)
        for name in ("end_logits", "start_logits")
    }
    limits = export.MODES[quantization].tolerance()
    assert result.relative_error <= limits["relative_error"]
    # Share of windows whose best start and best end both agree.
    assert result.label_agreement >= limits["label_agreement"]
    assert not [op for op in result.ops if op.startswith("Flex")]
    if quantization == "float32":
        assert result.max_abs_error < 1e-4
    if quantization == "int8":
        assert export.float_ops_on_main_path(path.read_bytes()) == []


def test_pairs_become_one_sample_per_window():
    qa = qa_helpers.trained_question_answerer()
    long_context = " ".join(["the quick brown fox jumped"] * 4) + "."
    questions = ["the fox?", "the film?"]
    contexts = [long_context, "a great film."]
    windows = qa.preprocessor.encode((questions, contexts))
    assert len(windows) > 2  # the long context needs several windows
    samples = question_answerer_inputs(qa, (questions, contexts), LENGTH, 99)
    assert len(samples) == len(windows)
    np.testing.assert_array_equal(
        np.concatenate([s["ids"] for s in samples]), windows.token_ids
    )
    np.testing.assert_array_equal(
        np.concatenate([s["segment_ids"] for s in samples]),
        windows.segment_ids,
    )
    # Pairs, records and a longer export length give the same windows.
    as_pairs = question_answerer_inputs(
        qa, list(zip(questions, contexts)), LENGTH, 2
    )
    records = [
        make_example(f"q{i}", q, c, [], [])
        for i, (q, c) in enumerate(zip(questions, contexts))
    ]
    as_records = question_answerer_inputs(qa, records, LENGTH, 2)
    for a, b in zip(as_pairs, as_records):
        np.testing.assert_array_equal(a["ids"], b["ids"])
    wider = question_answerer_inputs(qa, (questions, contexts), 24, 1)
    assert wider[0]["ids"].shape == (1, 24)


def test_bad_sample_data_are_named(tmp_path):
    qa = qa_helpers.untrained_question_answerer()
    with pytest.raises(ValueError, match="list of str"):
        export.to_litert(
            qa,
            tmp_path / "m.tflite",
            representative_data=["only questions"],
            metadata=False,
            log=None,
        )
    with pytest.raises(ValueError, match="The context of pair 0 is empty"):
        export.to_litert(
            qa,
            tmp_path / "m.tflite",
            representative_data=(["the fox?"], [" "]),
            metadata=False,
            log=None,
        )
    assert not list(tmp_path.iterdir())


def test_export_and_verify_scores_the_file_on_held_out_questions(tmp_path):
    qa = qa_helpers.trained_question_answerer()
    questions, contexts, answers, starts = qa_helpers.toy_pairs(40, seed=9)
    held_out = [
        make_example(f"q{i}", q, c, [a], [s])
        for i, (q, c, a, s) in enumerate(
            zip(questions, contexts, answers, starts)
        )
    ]
    report = export.export_and_verify_question_answerer(
        qa,
        tmp_path / "qa_int8.tflite",
        "int8",
        representative_data=_pairs(),
        test_examples=held_out,
        log=None,
    )
    assert (tmp_path / "qa_int8.tflite").is_file()
    assert report["test_size"] == 40 and report["windows"] >= 40
    # The toy model answers every toy question; the int8 file nearly all.
    assert report["keras_exact_match"] == 100.0
    assert report["tflite_f1"] >= 95.0
    assert report["answer_agreement"] >= 0.95
    # The file's logits on the windows are what the report compared.
    windows = qa.preprocessor.encode(held_out)
    logits = export.run_tflite_on_windows(
        (tmp_path / "qa_int8.tflite").read_bytes(), windows
    )
    keras_logits = qa.predict(windows.inputs(), verbose=0)
    assert (
        np.max(np.abs(logits["start_logits"] - keras_logits["start_logits"]))
        <= report["heldout_max_abs_error"]
    )
