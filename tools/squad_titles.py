"""A real multi-class short-text set from SQuAD v1.1 dev: question -> article.

Evidence for `finetune --train` and `distill-task --train` (issue 22): the
questions of ten articles of the SQuAD v1.1 dev file, labelled with their
article's title, as a user's labelled CSV. The ten articles are drawn with
`--seed` from the file's 48, at most `--per-class` questions each (the
first ones, in file order), and `--validation-fraction` of each class is
held out with the same seed (`keras_mobilebert.data.stratified_split`),
so the files are a pure function of the options.

    python tools/squad_titles.py --squad /work/shared/data/squad \
        --output /work/evidence/issue22/data
    # writes all.csv, train.csv, test.csv (columns question,title)

`--awkward-labels` renames the titles to names holding commas, double
quotes and apostrophes (`Normans, "Northmen"`), to run a file whose labels
need CSV quoting through the same jobs.
"""

import argparse
import csv
import json
import pathlib

import numpy as np


def squad_questions(squad_path):
    """`{title: [question, ...]}` of a SQuAD v1.1 file, in file order."""
    path = pathlib.Path(squad_path)
    if path.is_dir():
        path = path / "dev-v1.1.json"
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    return {
        article["title"].replace("_", " "): [
            qa["question"].strip()
            for paragraph in article["paragraphs"]
            for qa in paragraph["qas"]
            if qa["question"].strip()
        ]
        for article in data
    }


def awkward(title):
    """A label that needs CSV quoting: a comma, quotes, an apostrophe."""
    return f'{title}, the "{title.split()[0]}" article\'s'


def write_csv(path, rows):
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["question", "title"])
        writer.writerows(rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--squad", default="/work/shared/data/squad")
    parser.add_argument("--output", required=True)
    parser.add_argument("--articles", type=int, default=10)
    parser.add_argument("--per-class", type=int, default=200)
    parser.add_argument("--validation-fraction", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--awkward-labels", action="store_true")
    args = parser.parse_args(argv)

    from keras_mobilebert.data import read_labeled_text
    from keras_mobilebert.data import stratified_split

    questions = squad_questions(args.squad)
    titles = sorted(questions)
    rng = np.random.default_rng(args.seed)
    chosen = sorted(rng.choice(titles, args.articles, replace=False))
    rows = []
    for title in chosen:
        label = awkward(title) if args.awkward_labels else title
        rows += [(q, label) for q in questions[title][: args.per_class]]
    output = pathlib.Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    write_csv(output / "all.csv", rows)
    split = read_labeled_text(output / "all.csv", "question", "title")
    train, test = stratified_split(split, args.validation_fraction, args.seed)
    for name, part in (("train", train), ("test", test)):
        names = part.label_names
        write_csv(
            output / f"{name}.csv",
            [(t, names[y]) for t, y in zip(part.segments[0], part.labels)],
        )
    print(
        f"{len(rows)} questions of {len(chosen)} articles "
        f"({', '.join(chosen)}): {len(train)} train, {len(test)} test in "
        f"{output}"
    )


if __name__ == "__main__":
    main()
