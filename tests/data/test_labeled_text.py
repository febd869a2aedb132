"""A user's labelled CSV, TSV and JSON Lines files: quoting, BOM, pairs,
label order, stratified splits, and errors naming file, line, column."""

import csv
import json
import pathlib

import numpy as np
import pytest

from keras_mobilebert.data import LabeledTextFormatError
from keras_mobilebert.data import read_labeled_text
from keras_mobilebert.data import stratified_split
from keras_mobilebert.data.labeled_text import class_counts
from keras_mobilebert.data.labeled_text import read_texts
from keras_mobilebert.utils.errors import UserInputError

FILES = (
    pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "labeled_text"
)
LOGIN = 'login, password & "2FA"'


def test_csv_with_a_bom_quoted_commas_quotes_and_newlines():
    split = read_labeled_text(FILES / "tickets.csv", "message", "team")
    # The file starts with a BOM: the first column is still "message".
    assert split.label_names == ("billing", LOGIN, "shipping")
    assert len(split) == 15
    assert split.segments[0][1] == "refund the second payment, please"
    assert split.segments[0][2] == 'the "pro" plan costs more than it said'
    assert split.segments[0][7] == "my account is locked\nafter three tries"
    # Line numbers are where each record starts (lines 9-10 hold one).
    assert split.ids[:2] == ["2", "3"] and split.ids[7:9] == ["9", "11"]
    assert class_counts(split) == {"billing": 5, LOGIN: 5, "shipping": 5}
    # The same rows through Python's csv module, independently.
    with open(FILES / "tickets.csv", encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert split.segments[0] == [r["message"] for r in rows]
    names = np.asarray(split.label_names)
    assert list(names[split.labels]) == [r["team"] for r in rows]


def test_labels_are_sorted_as_model_maker_sorts_them(tmp_path):
    path = tmp_path / "order.jsonl"
    labels = ["b", "B", "a", "10", "9", "é"]
    path.write_text(
        "".join(json.dumps({"text": "x", "label": n}) + "\n" for n in labels)
    )
    split = read_labeled_text(path)
    # MediaPipe Model Maker: sorted(set(labels)), Python's string order.
    assert split.label_names == tuple(sorted(set(labels)))
    numeric = read_labeled_text(FILES / "numeric_labels.jsonl")
    assert numeric.label_names == ("0", "1", "10")


def test_tsv_and_pairs_and_an_evaluation_file_with_the_model_classes():
    train = read_labeled_text(FILES / "tickets.csv", "message", "team")
    evaluation = read_labeled_text(
        FILES / "tickets_eval.tsv",
        "message",
        "team",
        label_names=train.label_names,
    )
    assert evaluation.label_names == train.label_names
    assert evaluation.labels.tolist() == [0, 1, 2]
    # Only the shipping class in a file: ids still follow the model's.
    pairs = read_labeled_text(
        FILES / "pairs.jsonl", "premise", second_text_column="hypothesis"
    )
    assert pairs.label_names == ("contradiction", "entailment")
    assert isinstance(pairs.features, tuple) and len(pairs.features) == 2
    assert pairs.features[1][1] == "nobody is playing"
    assert pairs.task.num_segments == 2
    texts, lines = read_texts(FILES / "tickets.csv", "message")
    assert texts == train.segments[0] and lines == train.ids


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "name, text, kwargs, message",
    [
        (
            "a.csv",
            "message,team\nhi,x\n",
            {"label_column": "label", "text_column": "message"},
            r"a.csv: no column 'label'; the columns are \['message', 'team'\]",
        ),
        (
            "b.csv",
            "text,label\nhi,x\n  ,y\n",
            {},
            r"b.csv, line 3, column 'text': the text is empty",
        ),
        (
            "c.csv",
            "text,label\nhi,x\nho,x\n",
            {},
            r"c.csv, column 'label': every example has the label 'x'",
        ),
        (
            "d.csv",
            'text,label\nhi,x\n"open,y\n',
            {},
            r"d.csv, line 3: .*quoted",
        ),
        (
            "e.tsv",
            "text\tlabel\nhi\tx\tz\n",
            {},
            r"e.tsv, line 2: 3 fields for the 2 columns",
        ),
        (
            "f.jsonl",
            '{"text": "hi", "label": "x"}\n{"text": "ho"\n',
            {},
            r"f.jsonl, line 2: not JSON",
        ),
        (
            "g.jsonl",
            '{"text": "hi", "label": "x"}\n{"label": "y"}\n',
            {},
            r"g.jsonl, line 2: no text column 'text'; the columns are "
            r"\['label'\]",
        ),
        ("h.txt", "text,label\n", {}, r"h.txt: cannot tell the format"),
        ("i.csv", "", {}, r"i.csv: the file is empty"),
    ],
)
def test_errors_name_the_file_the_line_and_the_problem(
    tmp_path, name, text, kwargs, message
):
    path = _write(tmp_path, name, text)
    with pytest.raises(LabeledTextFormatError, match=message):
        read_labeled_text(path, **kwargs)


def test_a_label_training_never_saw_is_refused_with_its_line(tmp_path):
    path = _write(tmp_path, "eval.csv", "text,label\nhi,a\nho,zebra\n")
    with pytest.raises(UserInputError, match=r"eval.csv, line 3, column"):
        read_labeled_text(path, label_names=("a", "b"))


def test_not_utf8_is_named(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("text,label\ncaf\xe9,a\n".encode("latin-1"))
    with pytest.raises(LabeledTextFormatError, match="latin.csv: not UTF-8"):
        read_labeled_text(path)


def test_stratified_split_holds_out_each_class_with_a_fixed_seed():
    split = read_labeled_text(FILES / "tickets.csv", "message", "team")
    train, held = stratified_split(split, 0.4, seed=3)
    assert class_counts(held) == {"billing": 2, LOGIN: 2, "shipping": 2}
    assert sorted(train.ids + held.ids, key=int) == split.ids
    assert held.split == "validation"
    again, held_again = stratified_split(split, 0.4, seed=3)
    assert held_again.ids == held.ids
    assert stratified_split(split, 0.4, seed=4)[1].ids != held.ids
    with pytest.raises(LabeledTextFormatError, match=r"in \(0, 1\)"):
        stratified_split(split, 1.0)
