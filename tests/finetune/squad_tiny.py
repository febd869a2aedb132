"""Tiny SQuAD-format files and configs for the SQuAD job's tests."""

import json

from keras_mobilebert.finetune import load_config
from keras_mobilebert.finetune.squad import DEFAULT_CONFIG
from tests.test_finetune import TINY_BACKBONE

# (title, context, [(question, answer)]): answers are found in the context.
ARTICLES = [
    (
        "Foxes",
        "The quick brown fox jumped over the lazy dog in the old garden. "
        "Foxes live in forests and eat small animals at night.",
        [
            ("Who jumped over the dog?", "The quick brown fox"),
            ("Where do foxes live?", "in forests"),
            ("When do foxes eat?", "at night"),
        ],
    ),
    (
        "Rivers",
        "The Rhine flows from the Swiss Alps to the North Sea. It is "
        "about 1,230 kilometres long and passes through six countries.",
        [
            ("Where does the Rhine end?", "the North Sea"),
            ("How long is the Rhine?", "about 1,230 kilometres"),
            ("How many countries does the Rhine pass?", "six"),
        ],
    ),
    (
        "Phones",
        "MobileBERT answers a question in 62 ms on a Pixel 4 phone. It "
        "has 25.3 million parameters and four attention heads per layer.",
        [
            ("How fast is MobileBERT?", "62 ms"),
            ("How many parameters does MobileBERT have?", "25.3 million"),
            ("How many heads does each layer have?", "four"),
        ],
    ),
]


def squad_json(articles=ARTICLES, unanswerable=()):
    """SQuAD JSON of `articles`; `unanswerable` adds v2.0 questions."""
    data = []
    for title, context, qas in articles:
        questions = []
        for q, (question, answer) in enumerate(qas):
            questions.append(
                {
                    "id": f"{title}-{q}",
                    "question": question,
                    "answers": [
                        {"text": answer, "answer_start": context.index(answer)}
                    ],
                }
            )
        for q, question in enumerate(unanswerable):
            questions.append(
                {
                    "id": f"{title}-impossible-{q}",
                    "question": question,
                    "answers": [],
                    "is_impossible": True,
                }
            )
        data.append(
            {
                "title": title,
                "paragraphs": [{"context": context, "qas": questions}],
            }
        )
    return {"version": "tiny", "data": data}


def write_squad(path, articles=ARTICLES, unanswerable=()):
    path.write_text(json.dumps(squad_json(articles, unanswerable)))
    return path


def tiny_config(tmp_path, **overrides):
    """A SQuAD config on the tiny files, a 2-layer 16-wide model."""
    train = write_squad(tmp_path / "train.json")
    dev = write_squad(tmp_path / "dev.json")
    fields = {
        "train": str(train),
        "dev": str(dev),
        "init": "random",
        "sequence_length": 32,
        "doc_stride": 8,
        "max_question_length": 12,
        "batch_size": 4,
        "epochs": 2,
        "learning_rate": 5e-3,
        "checkpoint_every": 3,
        "export": None,
    }
    fields.update(overrides)
    config = load_config(DEFAULT_CONFIG, **fields)
    config["export"] = fields["export"]  # load_config ignores None values.
    config["backbone_overrides"] = dict(TINY_BACKBONE)
    return config
