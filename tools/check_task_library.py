"""Run our `.tflite` files in the TFLite Task Library's text clients.

Checks that a classifier `.tflite` written by `keras-mobilebert export` /
`to_litert(..., labels=...)` (TFLite metadata: input names, WordPiece
vocabulary, labels) works in the Task Library's `BertNLClassifier`, which
tokenizes the raw strings itself, and gives the Keras classifier's labels;
and that a question answerer's file (`to_litert(qa, ...)`: metadata with
input and output names and the vocabulary) works in its
`BertQuestionAnswerer` and gives the Keras model's answers (see
`question_answerer_expectations` for what it can and cannot match).

The Task Library (PyPI `tflite-support` 0.4.4) runs in a virtual
environment of its own, in a subprocess: it pins protobuf<4, which breaks
TensorFlow 2.21, and its pybind types clash with TensorFlow's in one
process. This file is both the driver (standard library only, plus the
project when `--preset` computes the Keras labels) and the worker the
subprocess runs (`--worker`, imports only `tflite_support`).

    # Once: the environment (needs the Debian package libusb-1.0-0).
    python tools/check_task_library.py --make-venv .venv-task-library
    # Expected labels from the Keras classifier preset:
    python tools/check_task_library.py model.tflite \
        --preset my_classifier --sentences sentences.txt
    # Or from a JSON file {"sentences": [...], "labels": [...],
    # optionally "scores": [[...], ...], what the file should report}:
    python tools/check_task_library.py model.tflite --expected expected.json
    # A question answerer against its Keras preset, on SQuAD dev pairs the
    # Task Library can take:
    python tools/check_task_library.py qa.tflite --qa-preset my_qa \
        --squad dev-v1.1.json --pairs 200

Prints a JSON report and exits 1 if any label differs (a question
answerer: if the Task Library's span differs from its own decoding rule
applied to the Keras model's logits). A classifier file of several
classes ends in a softmax, so the Task Library's scores are
probabilities: the report gives the range of their per-sentence sums and
their largest difference from the Keras model's softmax.
"""

import argparse
import io
import json
import os
import pathlib
import subprocess
import sys
import venv
import zipfile

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
REQUIREMENTS = HERE / "task_library_requirements.txt"
DEFAULT_VENV = ROOT / ".venv-task-library"
# Points at the Python of an existing Task Library environment.
PYTHON_ENV = "KERAS_MOBILEBERT_TASK_LIBRARY_PYTHON"


def task_library_python(venv_dir=None):
    """The Python of the Task Library environment, or None if absent.

    Args:
        venv_dir: path or None. None takes `$KERAS_MOBILEBERT_TASK_LIBRARY_
            PYTHON` if set, else `.venv-task-library` in the repository.

    Example:
    ```python
    python = task_library_python()  # None until --make-venv has run
    ```
    """
    if venv_dir is None and os.environ.get(PYTHON_ENV):
        python = pathlib.Path(os.environ[PYTHON_ENV])
    else:
        python = pathlib.Path(venv_dir or DEFAULT_VENV) / "bin" / "python"
    return python if python.exists() else None


def make_venv(venv_dir=DEFAULT_VENV):
    """Create the Task Library environment from the requirements file.

    Args:
        venv_dir: path of the virtual environment to create.

    Returns:
        The path of its Python.

    Example:
    ```python
    python = make_venv(".venv-task-library")
    ```
    """
    venv_dir = pathlib.Path(venv_dir)
    venv.create(venv_dir, with_pip=True, clear=True)
    python = venv_dir / "bin" / "python"
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "-r", REQUIREMENTS],
        check=True,
    )
    return python


def labels_of(tflite_path):
    """The class names packed in a classifier `.tflite` (labels.txt).

    Example:
    ```python
    labels_of("model.tflite")  # ["negative", "positive"]
    ```
    """
    data = pathlib.Path(tflite_path).read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as zipped:
        text = zipped.read("labels.txt").decode("utf-8")
    return [line for line in text.splitlines() if line]


def classify(tflite_path, sentences, python):
    """Scores of `BertNLClassifier` for each sentence, by label.

    Args:
        tflite_path: path of a classifier `.tflite` with metadata.
        sentences: list of strings.
        python: path of the Task Library environment's Python.

    Returns:
        A list of `{label: score}` dicts, one per sentence.

    Example:
    ```python
    classify("model.tflite", ["a fine film"], task_library_python())
    ```
    """
    request = {"model": str(tflite_path), "sentences": list(sentences)}
    return _run_worker(request, python, "BertNLClassifier")


def _run_worker(request, python, client):
    """Send `request` to the worker in the Task Library environment."""
    run = subprocess.run(
        [str(python), str(pathlib.Path(__file__).resolve()), "--worker"],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        # The worker must not see the project's packages.
        env={**os.environ, "PYTHONPATH": ""},
        check=False,
    )
    if run.returncode != 0:
        hint = ""
        if "libusb" in run.stderr:
            hint = " (install the Debian package libusb-1.0-0)"
        if run.returncode < 0:
            hint += f" (killed by signal {-run.returncode})"
        raise RuntimeError(
            f"{client} failed on {request['model']}{hint}: "
            f"{run.stderr.strip()[-2000:]}"
        )
    return json.loads(run.stdout.strip().splitlines()[-1])


def keras_expectations(preset, sentences, labels):
    """Labels and scores of a Keras classifier preset, for `compare`.

    The scores are what its exported file reports: the softmax of the
    Keras logits (the file's softmax), or the raw output of a one-output
    or self-activated head.

    Needs the project's environment (TensorFlow, keras-hub).

    Args:
        preset: a classifier preset directory.
        sentences: list of strings.
        labels: list of class names in index order.

    Example:
    ```python
    expected = keras_expectations("my_classifier", sentences, labels)
    ```
    """
    sys.path.insert(0, str(ROOT))
    import keras_hub

    import keras_mobilebert  # noqa: F401 (registers our classes)
    from keras_mobilebert.export.signatures import PROBABILITIES
    from keras_mobilebert.export.signatures import classifier_output
    from keras_mobilebert.utils.numerics import softmax

    classifier = keras_hub.models.TextClassifier.from_preset(str(preset))
    logits = classifier.predict(list(sentences), verbose=0)
    scores = logits
    if classifier_output(classifier) == PROBABILITIES:
        scores = softmax(logits)
    return {
        "sentences": list(sentences),
        "labels": [labels[int(i)] for i in logits.argmax(-1)],
        "scores": scores.tolist(),
    }


def compare(expected, scores, labels):
    """Compare Task Library results with the expected labels.

    Args:
        expected: dict with `sentences`, `labels` (names or class indices)
            and optionally `scores` (what the file should report: the
            Keras classifier's probabilities; `logits`, the older key, is
            read the same way).
        scores: what `classify` returned.
        labels: list of class names in index order.

    Returns:
        A report dict: `num_sentences`, `num_agree`, the `disagreements`,
        `score_sum_range` (the smallest and largest sum of one sentence's
        scores: 1 for probabilities) and, with expected scores,
        `max_abs_score_difference`.

    Example:
    ```python
    report = compare(expected, classify(path, sentences, python), labels)
    ```
    """
    disagreements = []
    max_difference = None
    wanted = expected.get("scores", expected.get("logits"))
    sums = []
    for index, sentence in enumerate(expected["sentences"]):
        want = expected["labels"][index]
        if isinstance(want, int):
            want = labels[want]
        got = max(scores[index], key=scores[index].get)
        if got != want:
            disagreements.append(
                {"sentence": sentence, "expected": want, "task_library": got}
            )
        sums.append(sum(scores[index][label] for label in labels))
        if wanted is not None:
            difference = max(
                abs(scores[index][label] - float(score))
                for label, score in zip(labels, wanted[index])
            )
            max_difference = max(max_difference or 0.0, difference)
    return {
        "num_sentences": len(expected["sentences"]),
        "num_agree": len(expected["sentences"]) - len(disagreements),
        "disagreements": disagreements,
        "score_sum_range": [min(sums), max(sums)] if sums else None,
        "max_abs_score_difference": max_difference,
    }


def answers_module():
    """`tools/task_library_answers.py`: the expectations and comparison.

    Imported on request: it needs the project's environment (NumPy,
    keras_mobilebert), which the worker does not have.
    """
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tools import task_library_answers

    return task_library_answers


def _require_python():
    python = task_library_python()
    if python is None:
        raise FileNotFoundError(
            f"No Task Library environment at {DEFAULT_VENV} (nor "
            f"${PYTHON_ENV}); create it with "
            "`python tools/check_task_library.py --make-venv`."
        )
    return python


def check(tflite_path, expected, python=None):
    """Classify `expected["sentences"]` with the Task Library and compare.

    Args:
        tflite_path: path of a classifier `.tflite` with metadata.
        expected: dict as `compare` takes.
        python: the Task Library environment's Python; None finds it with
            `task_library_python()`.

    Returns:
        The report of `compare`.

    Example:
    ```python
    report = check("model.tflite", {"sentences": s, "labels": labels})
    assert not report["disagreements"]
    ```
    """
    python = python or _require_python()
    scores = classify(tflite_path, expected["sentences"], python)
    return compare(expected, scores, labels_of(tflite_path))


def answer_questions(tflite_path, pairs, python):
    """`BertQuestionAnswerer`'s answers for `(question, context)` pairs.

    Args:
        tflite_path: path of a question answerer `.tflite` with metadata.
        pairs: list of `(question, context)`.
        python: path of the Task Library environment's Python.

    Returns:
        Per pair, its answers best first: dicts with `text` (the context's
        space-separated words from the first to the last answer token),
        `start`, `end` (token positions in the window) and `logit` (start
        + end logit).

    Example:
    ```python
    answer_questions("qa.tflite", [("Who?", "The fox.")], python)
    ```
    """
    request = {"model": str(tflite_path), "pairs": [list(p) for p in pairs]}
    return _run_worker(request, python, "BertQuestionAnswerer")


def check_question_answerer(tflite_path, expected, python=None):
    """Answer `expected["pairs"]` with the Task Library and compare.

    Args:
        tflite_path: path of a question answerer `.tflite` with metadata.
        expected: what `question_answerer_expectations` returned.
        python: the Task Library environment's Python, or None.

    Returns:
        The report of `compare_answers`.

    Example:
    ```python
    expected = question_answerer_expectations(qa, questions, contexts)
    report = check_question_answerer("qa.tflite", expected)
    assert not report["rule_mismatches"]
    ```
    """
    python = python or _require_python()
    answers = answer_questions(tflite_path, expected["pairs"], python)
    return answers_module().compare_answers(expected, answers)


def _worker():
    # Runs in the Task Library environment: tflite_support only.
    from tflite_support.task import text

    request = json.loads(sys.stdin.read())
    if "pairs" in request:
        answerer = text.BertQuestionAnswerer.create_from_file(request["model"])
        results = []
        for question, context in request["pairs"]:
            answers = answerer.answer(context, question).answers
            results.append(
                [
                    {
                        "text": a.text,
                        "start": a.pos.start,
                        "end": a.pos.end,
                        "logit": a.pos.logit,
                    }
                    for a in answers
                ]
            )
        print(json.dumps(results))
        return
    classifier = text.BertNLClassifier.create_from_file(request["model"])
    results = []
    for sentence in request["sentences"]:
        result = classifier.classify(sentence)
        categories = result.classifications[0].categories
        results.append({c.category_name: c.score for c in categories})
    print(json.dumps(results))


def squad_check(tflite_path, preset, squad, count, python=None):
    """Check a question answerer file on SQuAD pairs the Task Library takes.

    The pairs are the first `count` questions of `squad`, in file order,
    that `task_library_takes` (ASCII case only, one window). Our answers
    come from the file's own logits (run in the LiteRT interpreter, so a
    quantized file is compared with itself) decoded by our Python decoder.
    Returns the report of `check_question_answerer`, with how many
    questions were looked at.

    Example:
    ```python
    squad_check("qa.tflite", "my_qa", "dev-v1.1.json", 200)
    ```
    """
    answers = answers_module()
    import keras_mobilebert
    from keras_mobilebert.data.squad import read_squad

    qa = keras_mobilebert.MobileBertQuestionAnswerer.from_preset(str(preset))
    questions, contexts, looked_at = [], [], 0
    for example in read_squad(squad):
        if len(questions) == count:
            break
        looked_at += 1
        if answers.task_library_takes(
            qa.preprocessor, example.question, example.context
        ):
            questions.append(example.question)
            contexts.append(example.context)
    expected = answers.question_answerer_expectations(
        qa, questions, contexts, tflite_path
    )
    report = check_question_answerer(tflite_path, expected, python)
    report["questions_looked_at"] = looked_at
    return report


def main(argv=None):
    """Command-line entry; see the module docstring."""
    parser = argparse.ArgumentParser(prog="check_task_library")
    parser.add_argument(
        "model", nargs="?", help="classifier or question answerer .tflite"
    )
    parser.add_argument("--expected", help="JSON of sentences and labels")
    parser.add_argument("--preset", help="Keras classifier preset directory")
    parser.add_argument("--sentences", help="text file, one per line")
    parser.add_argument(
        "--qa-preset", help="Keras question answerer preset directory"
    )
    parser.add_argument("--squad", help="SQuAD JSON of the pairs to answer")
    parser.add_argument(
        "--pairs", type=int, default=200, help="question-answering pairs"
    )
    parser.add_argument("--venv", help="Task Library environment")
    parser.add_argument(
        "--make-venv",
        nargs="?",
        const=str(DEFAULT_VENV),
        help="create the Task Library environment and exit",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _worker()
        return 0
    if args.make_venv:
        print(make_venv(args.make_venv))
        return 0
    if args.qa_preset:
        if not (args.model and args.squad):
            parser.error("--qa-preset needs a model and --squad")
        report = squad_check(
            args.model,
            args.qa_preset,
            args.squad,
            args.pairs,
            task_library_python(args.venv),
        )
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return 1 if report["rule_mismatches"] else 0
    if not args.model or not (args.expected or args.preset):
        parser.error("give a model and --expected or --preset")
    if args.expected:
        expected = json.loads(pathlib.Path(args.expected).read_text())
    else:
        lines = pathlib.Path(args.sentences).read_text().splitlines()
        sentences = [line for line in lines if line.strip()]
        expected = keras_expectations(
            args.preset, sentences, labels_of(args.model)
        )
    report = check(args.model, expected, task_library_python(args.venv))
    print(json.dumps(report, indent=2))
    return 1 if report["disagreements"] else 0


if __name__ == "__main__":
    sys.exit(main())
