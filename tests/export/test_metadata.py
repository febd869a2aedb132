import importlib.util
import pathlib

import numpy as np
import pytest

pytest.importorskip("ai_edge_litert")

from keras_mobilebert import export  # noqa: E402
from keras_mobilebert.export.metadata import read_associated_files  # noqa: E402
from keras_mobilebert.export.metadata import read_metadata  # noqa: E402
from tests.models.helpers import VOCAB  # noqa: E402
from tests.quantization import helpers  # noqa: E402
from tests.quantization import qa_helpers  # noqa: E402

LABELS = ["negative", "positive"]
SENTENCES = [
    "the film was great",
    "a dull movie",
    "The Quick Brown fox was DULL.",
    "great great fox",
]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    pytest.importorskip("mediapipe")
    classifier = helpers.trained_classifier()
    path = tmp_path_factory.mktemp("metadata") / "classifier.tflite"
    export.to_litert(
        classifier,
        path,
        "float32",
        representative_data=helpers.toy_texts(32, seed=9)[0],
        labels=LABELS,
        log=None,
    )
    return classifier, path


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
    # Still a model the LiteRT interpreter runs.
    sample = export.random_inputs(len(VOCAB), helpers.SEQUENCE_LENGTH, 1)
    assert export.run_tflite(path.read_bytes(), sample)["logits"].shape == (
        1,
        2,
    )


def test_mediapipe_text_classifier_gives_the_keras_labels(exported):
    from mediapipe.tasks.python import text
    from mediapipe.tasks.python.core import base_options

    classifier, path = exported
    logits = classifier.predict(SENTENCES, verbose=0)
    options = text.TextClassifierOptions(
        base_options=base_options.BaseOptions(model_asset_path=str(path))
    )
    with text.TextClassifier.create_from_options(options) as mediapipe:
        for sentence, expected in zip(SENTENCES, logits):
            categories = mediapipe.classify(sentence).classifications[0]
            scores = {c.category_name: c.score for c in categories.categories}
            # MediaPipe tokenizes the raw string itself (lower-casing it)
            # and reports the logits as scores.
            top = max(scores, key=scores.get)
            assert top == LABELS[int(np.argmax(expected))], sentence
            np.testing.assert_allclose(
                [scores[label] for label in LABELS], expected, atol=1e-4
            )


def _task_library_checker():
    # tools/ is not a package: load the script by its path.
    path = pathlib.Path(__file__).parents[2] / "tools" / "check_task_library.py"
    spec = importlib.util.spec_from_file_location("check_task_library", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_task_library_bert_nl_classifier_gives_the_keras_labels(request):
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
    classifier, path = request.getfixturevalue("exported")
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
        "logits": logits.tolist(),
    }
    report = checker.check(path, expected, python)
    assert report["num_agree"] == len(sentences), report
    # Its scores are the model's logits.
    assert report["max_abs_score_difference"] < 1e-4, report


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
