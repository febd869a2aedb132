"""Fine-tune MobileBERT for SQuAD question answering, step by step.

The SQuAD job (`keras-mobilebert finetune-squad`) as a script to copy,
with the public API only. The job adds what a long run needs: resuming
after a kill, `tf.distribute` strategies, `results.json`, the LiteRT
export.

    python recipes/finetune_squad.py --train train-v1.1.json \\
        --dev dev-v1.1.json --output runs/recipe_squad
    python recipes/finetune_squad.py --train t.json --dev d.json --smoke

Steps:
1. Read SQuAD-format train and dev files (paths, or URLs downloaded once:
   `keras_mobilebert.data.squad.SQUAD_URLS` has the official ones).
2. Build a question answerer: a backbone (the released weights, a
   preset directory such as a distilled student, or random weights of
   the preset's architecture) with a span head, and a preprocessor that
   cuts each (question, context) pair into windows.
3. Window the training questions and fit, AdamW with warmup and cosine
   decay.
4. Answer every dev question and score the answers with the official
   SQuAD metric (v2.0 files: with the no-answer threshold).
5. Answer a new question.
6. Save a KerasHub preset, reload it and check it answers the same.

`--smoke` makes everything tiny (2 layers, 16 wide, 64-token windows, 16
questions each side, one epoch): a check that the steps run, not a
model.
"""

import argparse

from keras_mobilebert import MobileBertBackbone
from keras_mobilebert import MobileBertQuestionAnswerer
from keras_mobilebert import MobileBertQuestionAnswererPreprocessor
from keras_mobilebert import MobileBertTokenizer
from keras_mobilebert.data.squad import SQUAD_URLS
from keras_mobilebert.data.squad import read_squad
from keras_mobilebert.finetune import finetuning_optimizer
from keras_mobilebert.finetune import save_preset
from keras_mobilebert.metrics.squad import squad_v1_metrics
from keras_mobilebert.metrics.squad import squad_v2_metrics

PRESET = "mobilebert_en_uncased"
SMOKE_BACKBONE = {
    "num_layers": 2,
    "num_heads": 2,
    "hidden_dim": 16,
    "intermediate_dim": 16,
    "embedding_dim": 16,
    "bottleneck_dim": 16,
    "num_feedforward_networks": 1,
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", default=SQUAD_URLS["train-v1.1"])
    parser.add_argument("--dev", default=SQUAD_URLS["dev-v1.1"])
    parser.add_argument(
        "--init",
        default="pretrained",
        help="'pretrained' (the released weights), 'random', or a preset "
        "directory (e.g. a distilled student)",
    )
    parser.add_argument("--sequence-length", type=int, default=384)
    parser.add_argument("--doc-stride", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--learning-rate", type=float, default=4e-5)
    parser.add_argument("--output", default="runs/recipe_squad")
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args(argv)
    if args.smoke:
        args.init, args.sequence_length, args.doc_stride = "random", 64, 32
        args.batch_size, args.epochs, args.learning_rate = 4, 1, 1e-3
    return args


def build(args):
    """Step 2: backbone, tokenizer, preprocessor, span head."""
    if args.init == "pretrained":
        backbone = MobileBertBackbone.from_preset(PRESET)
    elif args.init == "random":
        overrides = SMOKE_BACKBONE if args.smoke else {}
        backbone = MobileBertBackbone.from_preset(
            PRESET, load_weights=False, **overrides
        )
    else:
        backbone = MobileBertBackbone.from_preset(args.init)
    preprocessor = MobileBertQuestionAnswererPreprocessor(
        MobileBertTokenizer.from_preset(PRESET),
        sequence_length=args.sequence_length,
        doc_stride=args.doc_stride,
        max_question_length=min(64, args.sequence_length // 2),
    )
    return MobileBertQuestionAnswerer(backbone, preprocessor=preprocessor)


def official_scores(dev, answers):
    """Step 4's metric: v1.1, or v2.0 when some questions have no answer."""
    predictions = {e.id: a.text for e, a in zip(dev, answers)}
    if not any(e.is_impossible for e in dev):
        return squad_v1_metrics(predictions, dev)
    # A question is answered "" when its no-answer score beats the best
    # span by more than the threshold (0.0, as GR and Hugging Face).
    return squad_v2_metrics(
        predictions,
        dev,
        no_answer_probabilities={
            e.id: a.null_score_diff for e, a in zip(dev, answers)
        },
        no_answer_threshold=0.0,
    )


def main(argv=None):
    args = parse_args(argv)

    # 1. Data: one SquadExample per question.
    train, dev = read_squad(args.train), read_squad(args.dev)
    if args.smoke:
        train, dev = train[:16], dev[:16]
    print(f"{len(train)} training and {len(dev)} dev questions")

    # 2. Model.
    qa = build(args)

    # 3. Windows and fit. The first gold answer of each question is the
    # target; windows without the whole answer point at [CLS].
    windows = qa.preprocessor.encode(train)
    steps = args.epochs * -(-len(windows) // args.batch_size)
    qa.compile(optimizer=finetuning_optimizer(args.learning_rate, 0.1, steps))
    qa.fit(
        windows.inputs(),
        windows.labels(),
        batch_size=args.batch_size,
        epochs=args.epochs,
        shuffle=True,
    )

    # 4. Evaluate: decode every dev question, then the official metric.
    answers = qa.answer(dev, batch_size=args.batch_size)
    print("dev:", official_scores(dev, answers))

    # 5. Answer a question of your own.
    answer = qa.answer(
        "How many parameters does MobileBERT have?",
        "MobileBERT is a thin version of BERT-large. It has 25.3 million "
        "parameters and runs in 62 ms on a Pixel 4 phone.",
    )
    print(f"answer: {answer.text!r} (score {answer.score:.2f})")

    # 6. Save with the preprocessor, reload, compare.
    preset = save_preset(qa, f"{args.output}/preset")
    restored = MobileBertQuestionAnswerer.from_preset(str(preset))
    again = restored.answer(dev[:8])
    same = all(a.text == b.text for a, b in zip(again, answers[:8]))
    print(f"saved {preset}; the reloaded preset answers the same: {same}")
    return {
        "scores": official_scores(dev, answers),
        "answer": answer.text,
        "reloaded_same": same,
        "preset": str(preset),
    }


if __name__ == "__main__":
    main()
