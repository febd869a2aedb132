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
