r"""Evidence for the SQuAD job: a distilled start against random weights.

An evidence script, not a test. No SQuAD-grade MobileBERT weights can be
reached offline, so this measures the pipeline (data, windows, training,
official metric, save and reload), not the paper's number (SQuAD v1.1 dev
F1 90.0 for the released 24-layer MobileBERT fine-tuned on all 87,599
training questions).

Data: the real SQuAD v1.1 dev file (`../shared/data/squad/dev-v1.1.json`),
split by article, never by question: the articles whose index in the file
is 3 modulo 4 (12 of 48) are evaluated on, the other 36 are trained on.
`train.json` and `eval.json` are written in SQuAD format.

Two rows, the same student architecture (MobileBERT-shaped, 4 layers,
width 256, bottleneck 64, embedding 64, 4 heads, 2 FFNs, as
`tools/distillation_check.py`) and the same fine-tuning budget (the SQuAD
job with the same windows, batch, epochs, learning rate and seed):

- `random`: the job's `init: "random"`;
- `distilled`: a student distilled from the all-MiniLM-L6-v2 teacher with
  the auxiliary strategy (LAMB 1e-2, 250 steps per layer + 100 MLM/NSP
  steps, batch 16, length 256; the setting `docs/distillation.md` found
  best) on the training articles' paragraphs only (`distill_text.txt`: an
  article per document, a paragraph per line), then the job's `init`
  pointing at its preset.

Each step writes its outputs under `--output-dir` and is skipped when they
exist, so the rows can run in separate processes (`--rows random`,
`--rows distilled`) and a killed step resumes (the distillation and the
job both checkpoint).

Usage:
    python tools/squad_finetune_evidence.py --output-dir runs/squad_evidence
    python tools/squad_finetune_evidence.py --rows random
    python tools/squad_finetune_evidence.py --table   # print the table

Results: docs/question_answering.md, "Fine-tuning".
"""

import argparse
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from keras_mobilebert_cli.startup import start_library  # noqa: E402

SQUAD_DEV = ROOT.parent / "shared" / "data" / "squad" / "dev-v1.1.json"
EVAL_EVERY = 4  # Articles 3, 7, 11, ... are evaluated on.
STUDENT = {
    "num_layers": 4,
    "num_heads": 4,
    "hidden_dim": 256,
    "intermediate_dim": 256,
    "embedding_dim": 64,
    "bottleneck_dim": 64,
    "num_feedforward_networks": 2,
    "max_sequence_length": 256,
}
ROWS = ("random", "distilled")


def split_articles(squad_path, output_dir):
    """Write `train.json` and `eval.json` (by article); return the split."""
    data = json.loads(pathlib.Path(squad_path).read_text(encoding="utf-8"))
    parts = {"train": [], "eval": []}
    for index, article in enumerate(data["data"]):
        part = "eval" if index % EVAL_EVERY == EVAL_EVERY - 1 else "train"
        parts[part].append(article)
    split = {}
    for part, articles in parts.items():
        path = output_dir / f"{part}.json"
        if not path.exists():
            path.write_text(
                json.dumps({"version": data.get("version"), "data": articles})
            )
        split[part] = {
            "path": str(path),
            "articles": [a["title"] for a in articles],
            "paragraphs": sum(len(a["paragraphs"]) for a in articles),
            "questions": sum(
                len(p["qas"]) for a in articles for p in a["paragraphs"]
            ),
        }
    titles = set(split["train"]["articles"]) & set(split["eval"]["articles"])
    assert not titles, titles
    return split


def write_distillation_text(train_path, text_path):
    """The training articles' paragraphs: an article per document."""
    if text_path.exists():
        return
    data = json.loads(train_path.read_text(encoding="utf-8"))
    with open(text_path, "w", encoding="utf-8") as f:
        for article in data["data"]:
            for paragraph in article["paragraphs"]:
                f.write(" ".join(paragraph["context"].split()) + "\n")
            f.write("\n")


def distill(output_dir, args):
    """The distilled student's preset directory (distilled once)."""
    student_dir = output_dir / "student_kd"
    preset = student_dir / "student"
    if (preset / "config.json").exists():
        return preset
    from keras_mobilebert_cli.main import main

    # The `distill` command; run again with the same arguments it resumes.
    main(
        [
            "distill",
            "--teacher",
            "minilm_l6",
            "--student-overrides",
            json.dumps(STUDENT),
            "--strategy",
            "auxiliary",
            "--layer-steps",
            str(args.layer_steps),
            "--pretraining-steps",
            str(args.pretraining_steps),
            "--checkpoint-every",
            "50",
            "--batch-size",
            "16",
            "--sequence-length",
            "256",
            "--learning-rate",
            "1e-2",
            "--text",
            str(output_dir / "distill_text.txt"),
            "--output-dir",
            str(student_dir),
            "--verbose",
            "2",
        ]
    )
    return preset


def row_config(row, split, output_dir, args):
    """The SQuAD job's config of one row: only `init` differs."""
    from keras_mobilebert.finetune import load_config
    from keras_mobilebert.finetune.squad import DEFAULT_CONFIG

    config = load_config(
        DEFAULT_CONFIG,
        train=split["train"]["path"],
        dev=split["eval"]["path"],
        init="random",
        sequence_length=args.sequence_length,
        doc_stride=args.doc_stride,
        max_question_length=args.max_question_length,
        batch_size=args.batch_size,
        epochs=args.epochs,
        learning_rate=args.learning_rate,
        max_train_examples=args.max_train_examples,
        checkpoint_every=100,
        seed=0,
    )
    config["backbone_overrides"] = dict(STUDENT)
    config["export"] = None  # The rows compare starts, not files.
    if row == "distilled":
        config["init"] = str(output_dir / "student_kd" / "student")
        config["backbone_overrides"] = {}
    return config


def run_row(row, split, output_dir, args):
    from keras_mobilebert.finetune import run_finetune

    results = output_dir / row / "results.json"
    if results.exists():
        return json.loads(results.read_text())
    config = row_config(row, split, output_dir, args)
    return run_finetune(config, output_dir / row)


def table(output_dir, split):
    """The results of the rows that have finished, as a Markdown table."""
    lines = [
        "| start | EM | F1 | final train loss | train s | windows |",
        "|---|---|---|---|---|---|",
    ]
    for row in ROWS:
        path = output_dir / row / "results.json"
        if not path.exists():
            continue
        r = json.loads(path.read_text())
        loss = r["training"]["history"][-1]["loss"]
        lines.append(
            f"| {row} | {r['exact_match']:.2f} | {r['f1']:.2f} | {loss:.3f} "
            f"| {r['train_seconds']:.0f} | {r['train_windows']} train / "
            f"{r['dev_windows']} eval |"
        )
    lines.append(
        f"\ntrain: {len(split['train']['articles'])} articles, "
        f"{split['train']['questions']} questions; eval: "
        f"{len(split['eval']['articles'])} articles, "
        f"{split['eval']['questions']} questions: "
        + ", ".join(split["eval"]["articles"])
    )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output-dir", default="runs/squad_evidence")
    parser.add_argument("--squad", default=str(SQUAD_DEV))
    parser.add_argument("--rows", nargs="*", default=list(ROWS), choices=ROWS)
    parser.add_argument("--table", action="store_true", help="only print")
    parser.add_argument("--layer-steps", type=int, default=250)
    parser.add_argument("--pretraining-steps", type=int, default=100)
    parser.add_argument("--sequence-length", type=int, default=256)
    parser.add_argument("--doc-stride", type=int, default=128)
    parser.add_argument("--max-question-length", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--learning-rate", type=float, default=5e-4)
    parser.add_argument("--max-train-examples", type=int, default=None)
    args = parser.parse_args(argv)
    output_dir = pathlib.Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    if not pathlib.Path(args.squad).is_file():
        sys.exit(
            f"{args.squad} is absent: pass --squad PATH of SQuAD v1.1 dev "
            "(the official JSON)."
        )
    split = split_articles(args.squad, output_dir)
    if not args.table:
        start_library()
        if "distilled" in args.rows:
            write_distillation_text(
                pathlib.Path(split["train"]["path"]),
                output_dir / "distill_text.txt",
            )
            distill(output_dir, args)
        for row in args.rows:
            run_row(row, split, output_dir, args)
    report = table(output_dir, split)
    (output_dir / "table.md").write_text(report + "\n")
    print(report)


if __name__ == "__main__":
    main()
