import json
import sys
import types

import numpy as np
import pytest

from keras_mobilebert.data import squad
from keras_mobilebert.data.squad import SquadFormatError
from keras_mobilebert.data.squad import make_example
from keras_mobilebert.data.squad import read_squad
from keras_mobilebert.data.squad import read_squad_tfds
from tests.shared_data import shared_data_file

CONTEXT = "Super Bowl 50 was won by the Denver Broncos in Santa Clara."


def squad_json(qas=None, context=CONTEXT, version="1.1"):
    if qas is None:
        qas = [
            {
                "id": "q1",
                "question": "Who won Super Bowl 50?",
                "answers": [
                    {"text": "Denver Broncos", "answer_start": 29},
                    {"text": "the Denver Broncos", "answer_start": 25},
                ],
            }
        ]
    return {
        "version": version,
        "data": [
            {
                "title": "Super_Bowl_50",
                "paragraphs": [{"context": context, "qas": qas}],
            }
        ],
    }


def write(tmp_path, content, name="squad.json"):
    path = tmp_path / name
    if isinstance(content, (dict, list)):
        content = json.dumps(content)
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def test_v1_file_becomes_one_record_per_question(tmp_path):
    [example] = read_squad(write(tmp_path, squad_json()))
    assert example.id == "q1"
    assert example.title == "Super_Bowl_50"
    assert example.context == CONTEXT
    assert example.question == "Who won Super Bowl 50?"
    assert example.answer_texts == ("Denver Broncos", "the Denver Broncos")
    assert example.answer_starts == (29, 25)
    assert example.is_impossible is False


def test_v2_unanswerable_question(tmp_path):
    qas = [
        {
            "id": "q2",
            "question": "Who lost Super Bowl 51?",
            "answers": [],
            "plausible_answers": [{"text": "Denver", "answer_start": 29}],
            "is_impossible": True,
        }
    ]
    [example] = read_squad(write(tmp_path, squad_json(qas, version="v2.0")))
    assert example.is_impossible is True
    assert example.answer_texts == ()
    assert example.answer_starts == ()


def test_answer_start_not_at_its_text_names_the_question(tmp_path):
    qas = squad_json()["data"][0]["paragraphs"][0]["qas"]
    qas[0]["answers"][1]["answer_start"] = 26
    path = write(tmp_path, squad_json(qas))
    with pytest.raises(SquadFormatError) as info:
        read_squad(path)
    message = str(info.value)
    assert str(path) in message and "'q1'" in message
    assert "answer 1 'the Denver Broncos' is not at answer_start 26" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "field, value, expected",
    [
        ("question", "   ", "question id 'q1' has an empty question"),
        ("context", "", "question id 'q1' has an empty context"),
    ],
)
def test_empty_question_or_context(tmp_path, field, value, expected):
    qas = [{"id": "q1", "question": "Who?", "answers": []}]
    kwargs = {"context": CONTEXT}
    if field == "question":
        qas[0]["question"] = value
    else:
        kwargs["context"] = value
    with pytest.raises(SquadFormatError, match=expected):
        read_squad(write(tmp_path, squad_json(qas, **kwargs)))


def test_not_utf8_names_the_file(tmp_path):
    path = write(tmp_path, json.dumps(squad_json()).encode("latin-1") + b"\xff")
    with pytest.raises(SquadFormatError, match="is not UTF-8") as info:
        read_squad(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    "content, expected",
    [
        ('{"data": [', "is not JSON \\(line 1, column 11"),
        ('{"version": "1.1"}', "is not SQuAD JSON: the top level has no"),
        ("[1, 2]", "the top level: expected a dict, got list"),
        ('{"data": [{"title": "x"}]}', "article 0, 'paragraphs': expected"),
    ],
)
def test_not_squad_json_names_file_and_problem(tmp_path, content, expected):
    path = write(tmp_path, content)
    with pytest.raises(SquadFormatError, match=expected) as info:
        read_squad(path)
    assert str(path) in str(info.value)


def test_bad_records_are_named():
    with pytest.raises(SquadFormatError, match="'q9'.*marked is_impossible"):
        make_example(
            "q9", "Who?", CONTEXT, ["Denver"], [29], is_impossible=True
        )
    with pytest.raises(SquadFormatError, match="'q9'.*not an integer"):
        make_example("q9", "Who?", CONTEXT, ["Denver"], ["29"])
    with pytest.raises(SquadFormatError, match="'q9'.*2 answer texts but 1"):
        make_example("q9", "Who?", CONTEXT, ["Denver", "x"], [29])
    with pytest.raises(SquadFormatError, match="'q9'.*not at answer_start -1"):
        make_example("q9", "Who?", CONTEXT, ["Clara."], [-1])


def test_duplicate_ids_are_an_error(tmp_path):
    qas = [
        {"id": "q1", "question": "Who?", "answers": []},
        {"id": "q1", "question": "What?", "answers": []},
    ]
    with pytest.raises(SquadFormatError, match="'q1' appears twice"):
        read_squad(write(tmp_path, squad_json(qas)))


def test_missing_file():
    with pytest.raises(FileNotFoundError, match="nowhere.json does not exist"):
        read_squad("/nowhere.json")


def test_url_is_downloaded_once_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_MOBILEBERT_HOME", str(tmp_path / "home"))
    source = write(tmp_path, squad_json())
    url = source.as_uri()
    opened = []
    real_open = squad._open_url

    def counting_open(address):
        opened.append(address)
        return real_open(address)

    monkeypatch.setattr(squad, "_open_url", counting_open)
    first = read_squad(url, quiet=True)
    source.unlink()  # The second read must come from the cache.
    second = read_squad(url, quiet=True)
    assert first == second and len(first) == 1
    assert opened == [url]
    cached = list((tmp_path / "home" / "squad").iterdir())
    assert len(cached) == 1 and cached[0].name.endswith("-squad.json")


def test_a_download_that_is_not_squad_is_not_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_MOBILEBERT_HOME", str(tmp_path / "home"))

    class Page:
        def __init__(self):
            self.data = [b"<html>rate limited</html>"]

        def read(self, size=-1):
            return self.data.pop() if self.data else b""

        def __enter__(self):
            return self

        def __exit__(self, *args):
            return False

    monkeypatch.setattr(squad, "_open_url", lambda url: Page())
    url = "https://example.com/dev-v1.1.json"
    with pytest.raises(SquadFormatError, match="download of https://"):
        read_squad(url, quiet=True)
    assert list((tmp_path / "home" / "squad").iterdir()) == []


def test_a_failed_download_names_the_url(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_MOBILEBERT_HOME", str(tmp_path / "home"))

    def refuse(url):
        raise OSError("connection refused")

    monkeypatch.setattr(squad, "_open_url", refuse)
    with pytest.raises(OSError, match="Could not download https://x/y.json"):
        read_squad("https://x/y.json", quiet=True)


def test_tfds_builder(monkeypatch):
    calls = []

    def load(name, split, **kwargs):
        calls.append((name, split, kwargs))
        return [
            {
                "id": b"q1",
                "title": b"Super_Bowl_50",
                "context": CONTEXT.encode(),
                "question": b"Who won?",
                "answers": {
                    "text": np.array([b"Denver Broncos"]),
                    "answer_start": np.array([29], "int32"),
                },
                "is_impossible": False,
            },
            {
                "id": b"q2",
                "title": b"Super_Bowl_50",
                "context": CONTEXT.encode(),
                "question": b"Who lost?",
                "answers": {
                    "text": np.array([], object),
                    "answer_start": np.array([], "int32"),
                },
                "is_impossible": True,
            },
        ]

    fake = types.SimpleNamespace(load=load, as_numpy=lambda ds: ds)
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", fake)
    examples = read_squad_tfds("validation", "v2.0", data_dir="/d")
    assert calls == [("squad/v2.0", "validation", {"data_dir": "/d"})]
    assert [e.id for e in examples] == ["q1", "q2"]
    assert examples[0].answer_texts == ("Denver Broncos",)
    assert examples[0].answer_starts == (29,)
    assert examples[1].is_impossible


def test_tfds_missing_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", None)
    with pytest.raises(ImportError, match="pip install tensorflow-datasets"):
        read_squad_tfds()
    with pytest.raises(ValueError, match="Unknown SQuAD version 'v3'"):
        read_squad_tfds(version="v3")


def test_real_dev_v1_1():
    examples = read_squad(shared_data_file("squad/dev-v1.1.json"))
    assert len(examples) == 10570
    assert len({e.context for e in examples}) == 2067
    assert sum(len(e.answer_texts) for e in examples) == 34726
    assert not any(e.is_impossible for e in examples)
    first = examples[0]
    assert first.id == "56be4db0acb8001400a502ec"
    assert first.answer_texts[0] == "Denver Broncos"
