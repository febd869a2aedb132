"""A tiny MobileBERT question answerer fine-tuned on part of SQuAD dev.

Random weights give arbitrary, nearly flat logits: decoders then disagree
on which of many near-equal spans wins, and the Task Library's top-5
search often finds no valid span at all. This tool trains a small model
(2 blocks, 128 wide, bert-base-uncased's tokenizer, GR's 384 / 128 / 64
windows) from scratch for a few minutes on the SQuAD v1.1 dev questions of
the first `--train-articles` articles, so its logits peak on plausible
spans, and scores it on the questions of the other articles. It is a test
object for the decoding and on-device comparisons
(`tools/qa_decoding_parity.py`, `tools/check_task_library.py`), not a
useful reader: expect an F1 far below a pre-trained model's.

Writes `<out>/preset` (a `MobileBertQuestionAnswerer` preset) and
`<out>/hf` (the same weights as a Hugging Face
`MobileBertForQuestionAnswering` snapshot), and `<out>/report.json`.

Usage:
    python tools/tiny_squad_model.py --out runs/tiny_squad
"""

import argparse
import json
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "squad" / "dev-v1.1.json"
TINY_BACKBONE = {
    "num_layers": 2,
    "num_heads": 2,
    "hidden_dim": 128,
    "intermediate_dim": 128,
    "embedding_dim": 64,
    "bottleneck_dim": 32,
    "num_feedforward_networks": 2,
}


def split_by_article(examples, train_articles):
    """Questions of the first `train_articles` titles, and the rest."""
    titles = list(dict.fromkeys(e.title for e in examples))
    train_titles = set(titles[:train_articles])
    train = [e for e in examples if e.title in train_titles]
    held_out = [e for e in examples if e.title not in train_titles]
    return train, held_out


def build(seed=0):
    """The tiny question answerer with the uncased preset's tokenizer."""
    import keras

    import keras_mobilebert

    keras.utils.set_random_seed(seed)
    backbone = keras_mobilebert.MobileBertBackbone.from_preset(
        "mobilebert_en_uncased", load_weights=False, **TINY_BACKBONE
    )
    preprocessor = (
        keras_mobilebert.MobileBertQuestionAnswererPreprocessor.from_preset(
            "mobilebert_en_uncased"
        )
    )
    return keras_mobilebert.MobileBertQuestionAnswerer(
        backbone, preprocessor=preprocessor
    )


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--squad", default=str(DEFAULT_DATA))
    parser.add_argument("--out", default=str(ROOT / "runs" / "tiny_squad"))
    parser.add_argument("--train-articles", type=int, default=36)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv=None):
    import keras

    from keras_mobilebert.convert import export_to_huggingface
    from keras_mobilebert.data.squad import read_squad
    from keras_mobilebert.metrics.squad import squad_v1_metrics
    from keras_mobilebert.utils.files import atomic_path

    args = parse_args(argv)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    train, held_out = split_by_article(
        read_squad(args.squad), args.train_articles
    )
    train = train[: args.limit]
    held_out = held_out[: args.limit]
    qa = build(args.seed)
    qa.compile(optimizer=keras.optimizers.Adam(args.learning_rate))
    began = time.perf_counter()
    history = qa.fit(
        train,
        batch_size=args.batch_size,
        epochs=args.epochs,
        shuffle=True,
        verbose=2,
    )
    seconds = time.perf_counter() - began
    answers = qa.answer(held_out, batch_size=64)
    scores = squad_v1_metrics(
        {e.id: a.text for e, a in zip(held_out, answers)}, held_out
    )
    qa.save_to_preset(str(out / "preset"))
    export_to_huggingface(qa, out / "hf")
    report = {
        "backbone": TINY_BACKBONE,
        "parameters": int(qa.count_params()),
        "train_questions": len(train),
        "held_out_questions": len(held_out),
        "epochs": args.epochs,
        "loss": [round(v, 4) for v in history.history["loss"]],
        "train_seconds": round(seconds, 1),
        "held_out_exact_match": round(scores["exact_match"], 2),
        "held_out_f1": round(scores["f1"], 2),
    }
    with atomic_path(out / "report.json") as tmp:
        tmp.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
