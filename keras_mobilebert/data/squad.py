"""Read SQuAD v1.1 and v2.0 question-answering data.

SQuAD JSON (Rajpurkar et al. 2016, 2018) nests articles, paragraphs and
questions: `{"data": [{"title", "paragraphs": [{"context", "qas": [{"id",
"question", "answers": [{"text", "answer_start"}], "is_impossible"}]}]}]}`
(`is_impossible` only in v2.0). The readers here flatten it to one
`SquadExample` per question and check it on the way: every answer must sit
at its `answer_start` in the context, questions and contexts must not be
empty, ids must be unique. An error names the file and the question id.

Sources: a local path, an http(s) or file URL (downloaded once into the
package cache), or the `squad` builder of tensorflow-datasets when it is
installed.
"""

import dataclasses
import hashlib
import json
import pathlib
import shutil
import sys
import urllib.parse
import urllib.request

from keras_mobilebert.utils.errors import ConfigError
from keras_mobilebert.utils.errors import MissingDependencyError
from keras_mobilebert.utils.errors import MissingInputError
from keras_mobilebert.utils.errors import UnreachableSourceError
from keras_mobilebert.utils.errors import UserInputError
from keras_mobilebert.utils.files import atomic_path
from keras_mobilebert.utils.files import cache_dir

# The official releases, for users online (`read_squad(SQUAD_URLS[...])`).
SQUAD_URLS = {
    "train-v1.1": "https://rajpurkar.github.io/SQuAD-explorer/dataset/"
    "train-v1.1.json",
    "dev-v1.1": "https://rajpurkar.github.io/SQuAD-explorer/dataset/"
    "dev-v1.1.json",
    "train-v2.0": "https://rajpurkar.github.io/SQuAD-explorer/dataset/"
    "train-v2.0.json",
    "dev-v2.0": "https://rajpurkar.github.io/SQuAD-explorer/dataset/"
    "dev-v2.0.json",
}
URL_SCHEMES = ("http", "https", "file")
TFDS_CONFIGS = ("v1.1", "v2.0")


@dataclasses.dataclass(frozen=True)
class SquadExample:
    """One SQuAD question with its paragraph and gold answers.

    Args:
        id: string. The question id (the key of predictions files).
        title: string. The article title.
        context: string. The paragraph.
        question: string. The question.
        answer_texts: tuple of strings. The gold answers, in file order;
            empty for an unanswerable (SQuAD v2.0) question.
        answer_starts: tuple of ints. Character offset of each answer in
            `context`.
        is_impossible: bool. SQuAD v2.0's "no answer in the paragraph".

    Example:
    ```python
    example = keras_mobilebert.data.squad.SquadExample(
        id="q1", title="Foxes", context="The fox jumped.",
        question="Who jumped?", answer_texts=("fox",), answer_starts=(4,),
        is_impossible=False,
    )
    ```
    """

    id: str
    title: str
    context: str
    question: str
    answer_texts: tuple
    answer_starts: tuple
    is_impossible: bool = False


class SquadFormatError(UserInputError):
    """A SQuAD file or record that cannot be read as SQuAD."""


def _expect(value, kind, where):
    if not isinstance(value, kind):
        names = (
            kind.__name__
            if isinstance(kind, type)
            else "/".join(k.__name__ for k in kind)
        )
        raise SquadFormatError(
            f"{where}: expected a {names}, got {type(value).__name__} "
            f"{str(value)[:60]!r}."
        )
    return value


def make_example(
    id,
    question,
    context,
    answer_texts=(),
    answer_starts=(),
    title="",
    is_impossible=None,
    source="",
):
    """A checked `SquadExample`.

    Args:
        id: string. The question id.
        question: string. Must not be empty or only whitespace.
        context: string. Must not be empty or only whitespace.
        answer_texts: sequence of strings. Gold answers.
        answer_starts: sequence of ints. Where each answer starts in
            `context`; `context[start:start + len(text)]` must be `text`.
        title: string. The article title.
        is_impossible: bool or None. None: True exactly when there are no
            answers.
        source: string. Named in errors (e.g. the file).

    Raises:
        SquadFormatError: naming the question id and what is wrong.

    Example:
    ```python
    make_example("q1", "Who jumped?", "The fox jumped.", ["fox"], [4])
    ```
    """
    where = f"{source}: question id {id!r}" if source else f"question {id!r}"
    _expect(question, str, f"{where}, 'question'")
    _expect(context, str, f"{where}, 'context'")
    if not question.strip():
        raise SquadFormatError(f"{where} has an empty question.")
    if not context.strip():
        raise SquadFormatError(f"{where} has an empty context.")
    answer_texts = tuple(answer_texts)
    answer_starts = tuple(answer_starts)
    if len(answer_texts) != len(answer_starts):
        raise SquadFormatError(
            f"{where} has {len(answer_texts)} answer texts but "
            f"{len(answer_starts)} answer starts."
        )
    for index, (text, start) in enumerate(zip(answer_texts, answer_starts)):
        _expect(text, str, f"{where}, answer {index} 'text'")
        if isinstance(start, bool) or not isinstance(start, int):
            raise SquadFormatError(
                f"{where}: answer {index} has answer_start {start!r}, not "
                "an integer."
            )
        if not text:
            raise SquadFormatError(f"{where}: answer {index} is empty.")
        found = context[start : start + len(text)] if start >= 0 else None
        if found != text:
            raise SquadFormatError(
                f"{where}: answer {index} {text!r} is not at answer_start "
                f"{start} of its context (found {found!r} there)."
            )
    if is_impossible is None:
        is_impossible = not answer_texts
    if is_impossible and answer_texts:
        raise SquadFormatError(
            f"{where} is marked is_impossible but has "
            f"{len(answer_texts)} answers."
        )
    return SquadExample(
        id=id,
        title=title,
        context=context,
        question=question,
        answer_texts=answer_texts,
        answer_starts=answer_starts,
        is_impossible=bool(is_impossible),
    )


def _examples_from_json(dataset, source):
    """Flatten parsed SQuAD JSON into checked examples."""
    _expect(dataset, dict, f"{source}: the top level")
    if "data" not in dataset:
        raise SquadFormatError(
            f"{source} is not SQuAD JSON: the top level has no 'data' list "
            f"(keys: {sorted(dataset)[:5]})."
        )
    articles = _expect(dataset["data"], list, f"{source}: 'data'")
    examples, seen = [], set()
    for a, article in enumerate(articles):
        where = f"{source}: article {a}"
        _expect(article, dict, where)
        title = article.get("title", "")
        paragraphs = _expect(
            article.get("paragraphs"), list, f"{where}, 'paragraphs'"
        )
        for p, paragraph in enumerate(paragraphs):
            here = f"{where}, paragraph {p}"
            _expect(paragraph, dict, here)
            qas = _expect(paragraph.get("qas"), list, f"{here}, 'qas'")
            for q, qa in enumerate(qas):
                _expect(qa, dict, f"{here}, question {q}")
                if "id" not in qa:
                    raise SquadFormatError(f"{here}, question {q} has no 'id'.")
                qid = _expect(qa["id"], str, f"{here}, question {q} 'id'")
                if qid in seen:
                    raise SquadFormatError(
                        f"{source}: question id {qid!r} appears twice."
                    )
                seen.add(qid)
                answers = _expect(
                    qa.get("answers", []),
                    list,
                    f"{source}: question id {qid!r}, 'answers'",
                )
                for i, answer in enumerate(answers):
                    _expect(
                        answer,
                        dict,
                        f"{source}: question id {qid!r}, answer {i}",
                    )
                    for key in ("text", "answer_start"):
                        if key not in answer:
                            raise SquadFormatError(
                                f"{source}: question id {qid!r}, answer {i} "
                                f"has no {key!r}."
                            )
                examples.append(
                    make_example(
                        id=qid,
                        question=qa.get("question"),
                        context=paragraph.get("context"),
                        answer_texts=[x["text"] for x in answers],
                        answer_starts=[x["answer_start"] for x in answers],
                        title=title,
                        is_impossible=qa.get("is_impossible"),
                        source=source,
                    )
                )
    return examples


def read_squad_file(path):
    """The questions of a local SQuAD v1.1 or v2.0 JSON file.

    Args:
        path: string or path-like.

    Returns:
        A list of `SquadExample`, in file order.

    Raises:
        SquadFormatError: the file is not UTF-8, not JSON or not SQuAD, or
            a record is bad; the message names the file and question id.

    Example:
    ```python
    examples = read_squad_file("dev-v1.1.json")
    examples[0].question
    ```
    """
    path = pathlib.Path(path)
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise SquadFormatError(
            f"{path} is not UTF-8 text (byte {e.start}: {e.reason}); SQuAD "
            "files are UTF-8 JSON."
        ) from None
    try:
        dataset = json.loads(text)
    except json.JSONDecodeError as e:
        raise SquadFormatError(
            f"{path} is not JSON (line {e.lineno}, column {e.colno}: {e.msg})."
        ) from None
    return _examples_from_json(dataset, str(path))


def _is_url(source):
    return urllib.parse.urlparse(str(source)).scheme in URL_SCHEMES


# Module level so tests can replace it; urllib opens file:// URLs too.
_open_url = urllib.request.urlopen


def download_squad(url, quiet=False):
    """The local path of a SQuAD JSON URL, downloaded once into the cache.

    The file goes to `cache_dir("squad")`, named after the URL (its hash
    and its last path part), written atomically: an interrupted download
    leaves nothing behind.

    Args:
        url: string. An http(s) or file URL.
        quiet: bool. If False, say on stderr when a download happens.

    Example:
    ```python
    path = download_squad(SQUAD_URLS["dev-v1.1"])
    ```
    """
    name = pathlib.PurePosixPath(urllib.parse.urlparse(url).path).name
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:12]
    path = cache_dir("squad") / f"{digest}-{name or 'squad.json'}"
    if path.is_file():
        return path
    try:
        with _open_url(url) as response, atomic_path(path) as tmp:
            # Said once the source answers: an unreachable one is only
            # its error.
            if not quiet:
                print(
                    f"Downloading {url} (once; cached as {path})",
                    file=sys.stderr,
                )
            with open(tmp, "wb") as f:
                shutil.copyfileobj(response, f)
            try:
                # Cache only what reads as SQuAD (not an error page).
                read_squad_file(tmp)
            except SquadFormatError as e:
                raise SquadFormatError(
                    f"The download of {url} is not a SQuAD file: {e}"
                ) from None
    except OSError as e:
        raise UnreachableSourceError(f"Could not download {url}: {e}") from e
    return path


def read_squad(source, quiet=False):
    """SQuAD examples from a local file or a URL.

    Args:
        source: string or path-like. A SQuAD v1.1 / v2.0 JSON file, or an
            http(s) / file URL of one (downloaded once into the package
            cache, see `download_squad`).
        quiet: bool. Suppress the one-time download notice.

    Returns:
        A list of `SquadExample`.

    Examples:
    ```python
    import keras_mobilebert

    dev = keras_mobilebert.data.squad.read_squad("dev-v1.1.json")
    dev = keras_mobilebert.data.squad.read_squad(
        keras_mobilebert.data.squad.SQUAD_URLS["dev-v1.1"]
    )
    ```
    """
    if _is_url(source):
        return read_squad_file(download_squad(str(source), quiet=quiet))
    path = pathlib.Path(source)
    if not path.is_file():
        raise MissingInputError(f"SQuAD file {path} does not exist.")
    return read_squad_file(path)


def _text(value):
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def read_squad_tfds(split="validation", version="v1.1", **load_kwargs):
    """SQuAD examples from tensorflow-datasets' `squad` builder.

    Needs the optional `tensorflow-datasets` package (it downloads and
    prepares the data on first use).

    Args:
        split: string. `"train"` or `"validation"` (any TFDS split string).
        version: string. `"v1.1"` or `"v2.0"`.
        **load_kwargs: passed to `tfds.load` (e.g. `data_dir`).

    Returns:
        A list of `SquadExample`.

    Example:
    ```python
    dev = keras_mobilebert.data.squad.read_squad_tfds("validation", "v1.1")
    ```
    """
    if version not in TFDS_CONFIGS:
        raise ConfigError(
            f"Unknown SQuAD version {version!r}; expected one of "
            f"{TFDS_CONFIGS}."
        )
    try:
        import tensorflow_datasets as tfds
    except ImportError:
        raise MissingDependencyError(
            "read_squad_tfds needs tensorflow-datasets (pip install "
            "tensorflow-datasets); or pass a SQuAD JSON file or URL to "
            "read_squad."
        ) from None
    name = f"squad/{version}"
    dataset = tfds.as_numpy(tfds.load(name, split=split, **load_kwargs))
    source = f"tfds {name} {split}"
    examples, seen = [], set()
    for record in dataset:
        qid = _text(record["id"])
        if qid in seen:
            raise SquadFormatError(f"{source}: question id {qid!r} twice.")
        seen.add(qid)
        answers = record["answers"]
        is_impossible = record.get("is_impossible")
        examples.append(
            make_example(
                id=qid,
                question=_text(record["question"]),
                context=_text(record["context"]),
                answer_texts=[_text(t) for t in answers["text"]],
                answer_starts=[int(s) for s in answers["answer_start"]],
                title=_text(record.get("title", "")),
                is_impossible=None
                if is_impossible is None
                else bool(is_impossible),
                source=source,
            )
        )
    return examples
