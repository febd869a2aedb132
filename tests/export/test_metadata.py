import importlib.util
import pathlib

import numpy as np
import pytest

pytest.importorskip("ai_edge_litert")

from keras_mobilebert import export  # noqa: E402
from keras_mobilebert.export.metadata import read_associated_files  # noqa: E402
from keras_mobilebert.export.metadata import read_metadata  # noqa: E402
from tests.models.helpers import VOCAB  # noqa: E402
from tests.numpy_reference import softmax  # noqa: E402
from tests.quantization import helpers  # noqa: E402
from tests.quantization import qa_helpers  # noqa: E402

LABELS = ["negative", "positive"]
SENTENCES = [
    "the film was great",
    "a dull movie",
    "The Quick Brown fox was DULL.",
    "great great fox",
]


QUANTIZATIONS = ["float32", "int8"]


@pytest.fixture(scope="module")
def exported_files(tmp_path_factory):
    """A float32 and an int8 classifier file with metadata, once."""
    pytest.importorskip("mediapipe")
    classifier = helpers.trained_classifier()
    directory = tmp_path_factory.mktemp("metadata")
    paths = {}
    for quantization in QUANTIZATIONS:
        paths[quantization] = directory / f"classifier_{quantization}.tflite"
        export.to_litert(
            classifier,
            paths[quantization],
            quantization,
            representative_data=helpers.toy_texts(32, seed=9)[0],
            labels=LABELS,
            log=None,
        )
    return classifier, paths


@pytest.fixture(scope="module")
def exported(exported_files):
    classifier, paths = exported_files
    return classifier, paths["float32"]


def test_metadata_packs_vocabulary_and_labels(exported):
    _, path = exported
    files = read_associated_files(path.read_bytes())
    assert files["labels.txt"].decode().split() == LABELS
    assert files["vocab.txt"].decode().split("\n")[: len(VOCAB)] == VOCAB
    subgraph = read_metadata(path.read_bytes()).subgraphMetadata[0]
    names = [t.name.decode() for t in subgraph.inputTensorMetadata]
    assert sorted(names) == ["ids", "mask", "segment_ids"]
    # The Task Library's BertNLClassifier finds its output by this name.
    assert subgraph.outputTensorMetadata[0].name.decode() == "probability"
    assert (
        "probabilities" in subgraph.outputTensorMetadata[0].description.decode()
    )
    # Still a model the LiteRT interpreter runs.
    sample = export.random_inputs(len(VOCAB), helpers.SEQUENCE_LENGTH, 1)
    outputs = export.run_tflite(path.read_bytes(), sample)
    assert outputs["probabilities"].shape == (1, 2)


@pytest.mark.parametrize("quantization", QUANTIZATIONS)
def test_mediapipe_scores_are_probabilities(exported_files, quantization):
    from mediapipe.tasks.python import text
    from mediapipe.tasks.python.core import base_options

    classifier, paths = exported_files
    # Keras returns logits; the file gives their softmax.
    logits = classifier.predict(SENTENCES, verbose=0)
    expected = softmax(np.asarray(logits, "float64"))
    limits = export.MODES[quantization].tolerance()
    options = text.TextClassifierOptions(
        base_options=base_options.BaseOptions(
            model_asset_path=str(paths[quantization])
        )
    )
    scores = []
    with text.TextClassifier.create_from_options(options) as mediapipe:
        for sentence in SENTENCES:
            # MediaPipe tokenizes the raw string itself (lower-casing it).
            categories = mediapipe.classify(sentence).classifications[0]
            by_label = {c.category_name: c.score for c in categories.categories}
            scores.append([by_label[label] for label in LABELS])
    scores = np.array(scores)
    # Probabilities: in [0, 1], summing to 1 across the classes (int8: the
    # softmax's 256 output steps), softmax of the Keras logits within the
    # mode's tolerance, and the Keras label.
    assert np.all(scores >= 0) and np.all(scores <= 1)
    sum_tolerance = 2 / 256 if quantization == "int8" else 1e-5
    np.testing.assert_allclose(scores.sum(1), 1.0, atol=sum_tolerance)
    np.testing.assert_allclose(scores, expected, atol=limits["relative_error"])
    if quantization == "float32":
        np.testing.assert_allclose(scores, expected, atol=1e-5)
        assert list(scores.argmax(1)) == list(logits.argmax(1))
    else:
        agreement = np.mean(scores.argmax(1) == logits.argmax(1))
        assert agreement >= limits["label_agreement"]


def _task_library_checker():
    # tools/ is not a package: load the script by its path.
    path = pathlib.Path(__file__).parents[2] / "tools" / "check_task_library.py"
    spec = importlib.util.spec_from_file_location("check_task_library", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("quantization", QUANTIZATIONS)
def test_task_library_scores_are_probabilities(request, quantization):
    checker = _task_library_checker()
    python = checker.task_library_python()
    if python is None:
        pytest.skip(
            "no TFLite Task Library environment (it cannot share TensorFlow's "
            "process or protobuf): create it with `python "
            "tools/check_task_library.py --make-venv` (needs the Debian "
            "package libusb-1.0-0)"
        )
    # Looked up after the check: skipping costs no export.
    classifier, paths = request.getfixturevalue("exported_files")
    # Mixed case, punctuation and a sentence longer than the sequence
    # length: the Task Library tokenizes and truncates it itself.
    sentences = SENTENCES + [
        "great dull the quick brown fox jumped a film movie",
        *helpers.toy_texts(28, seed=5)[0],
    ]
    logits = classifier.predict(sentences, verbose=0)
    expected = {
        "sentences": sentences,
        "labels": [int(i) for i in logits.argmax(-1)],
        "scores": softmax(np.asarray(logits, "float64")).tolist(),
    }
    report = checker.check(paths[quantization], expected, python)
    limits = export.MODES[quantization].tolerance()
    # Its scores are the file's probabilities: they sum to 1 and equal the
    # softmax of the Keras logits within the mode's tolerance.
    low, high = report["score_sum_range"]
    sum_tolerance = 2 / 256 if quantization == "int8" else 1e-5
    assert abs(low - 1) <= sum_tolerance and abs(high - 1) <= sum_tolerance
    assert report["max_abs_score_difference"] <= limits["relative_error"]
    if quantization == "float32":
        assert report["num_agree"] == len(sentences), report
        assert report["max_abs_score_difference"] < 1e-5, report
    else:
        agreement = report["num_agree"] / len(sentences)
        assert agreement >= limits["label_agreement"], report


def test_metadata_arguments_are_checked(tmp_path):
    pytest.importorskip("mediapipe")
    classifier = helpers.untrained_classifier()
    with pytest.raises(ValueError, match="3 labels given for 2 classes"):
        export.to_litert(
            classifier, tmp_path / "m.tflite", labels=["a", "b", "c"], log=None
        )
    assert not list(tmp_path.iterdir())


@pytest.fixture(scope="module")
def qa_exported(tmp_path_factory):
    pytest.importorskip("mediapipe")
    qa = qa_helpers.with_task_library_windows(
        qa_helpers.trained_question_answerer()
    )
    questions, contexts, _, _ = qa_helpers.toy_pairs(24, seed=11)
    path = tmp_path_factory.mktemp("qa_metadata") / "qa.tflite"
    result = export.to_litert(
        qa,
        path,
        "float32",
        representative_data=(questions, contexts),
        log=None,
    )
    assert result.input_shape == (1, 384)
    return qa, path


def test_question_answerer_metadata(qa_exported):
    _, path = qa_exported
    data = path.read_bytes()
    files = read_associated_files(data)
    assert list(files) == ["vocab.txt"]
    assert files["vocab.txt"].decode().split("\n")[: len(VOCAB)] == VOCAB
    subgraph = read_metadata(data).subgraphMetadata[0]
    names = [t.name.decode() for t in subgraph.inputTensorMetadata]
    assert sorted(names) == ["ids", "mask", "segment_ids"]
    unit = subgraph.inputProcessUnits[0]
    assert unit.options.vocabFile[0].name.decode() == "vocab.txt"
    # Each output's metadata name is its signature name, in the
    # subgraph's output order (the Task Library looks both up by name).
    outputs = [t.name.decode() for t in subgraph.outputTensorMetadata]
    assert sorted(outputs) == ["end_logits", "start_logits"]
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=data)
    by_index = {d["index"]: d for d in interpreter.get_output_details()}
    runner = interpreter.get_signature_runner()
    signature = runner.get_output_details()
    for name, detail in zip(outputs, interpreter.get_output_details()):
        assert signature[name]["index"] == detail["index"], name
        assert tuple(by_index[detail["index"]]["shape"]) == (1, 384)


def test_question_answerer_metadata_is_optional_and_checked(tmp_path):
    pytest.importorskip("mediapipe")
    qa = qa_helpers.untrained_question_answerer()
    path = tmp_path / "plain.tflite"
    export.to_litert(qa, path, metadata=False, log=None)
    assert read_metadata(path.read_bytes()) is None
    with pytest.raises(ValueError, match="apply to classifiers only"):
        export.to_litert(qa, tmp_path / "m.tflite", labels=["a"], log=None)
    classifier = helpers.untrained_classifier()
    with pytest.raises(ValueError, match="metadata=True applies to question"):
        export.to_litert(classifier, tmp_path / "c.tflite", metadata=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain.tflite"]


def test_task_library_bert_question_answerer_gives_the_keras_answers(request):
    checker = _task_library_checker()
    python = checker.task_library_python()
    if python is None:
        pytest.skip(
            "no TFLite Task Library environment: create it with `python "
            "tools/check_task_library.py --make-venv` (needs the Debian "
            "package libusb-1.0-0)"
        )
    qa, path = request.getfixturevalue("qa_exported")
    questions, contexts, _, _ = qa_helpers.toy_pairs(40, seed=12)
    # Mixed case (the Task Library lowercases ASCII itself) and double
    # spaces (its answer text joins the context's words with one space).
    questions[0] = questions[0].upper()
    contexts[1] = contexts[1].replace(" ", "  ", 1)
    answers = checker.answers_module()
    assert all(
        answers.task_library_takes(qa.preprocessor, q, c)
        for q, c in zip(questions, contexts)
    )
    expected = answers.question_answerer_expectations(qa, questions, contexts)
    report = checker.check_question_answerer(path, expected, python)
    # The file gives the span of the Task Library's rule on the Keras
    # logits, with the Keras logits.
    assert report["same_as_top_k_rule"] == 40, report["rule_mismatches"]
    assert report["max_abs_logit_difference"] < 1e-4
    # The toy model's logits peak: the top-5 search finds our span.
    assert report["same_span_as_answer"] == 40, report["disagreements"]
    assert report["same_text_as_answer"] == 40
