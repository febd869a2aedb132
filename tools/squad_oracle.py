"""SQuAD oracle: what tokenization, windowing and decoding alone lose.

Every question's first gold answer goes through the question-answering
preprocessor as a training label; the oracle's logits are 10 at the
labelled start and end token of each window (so windows holding the whole
answer point at it and the others at `[CLS]`) and 0 elsewhere. The span
decoder then picks answers as it would from a model, and the official
SQuAD v1.1 metric scores them against all gold answers. A perfect model
could not do better; every point below 100 is lost to word pieces that
cross an answer's edge, answers longer than `max_answer_length`, or
windows.

Usage:
    python tools/squad_oracle.py ../shared/data/squad/dev-v1.1.json
    python tools/squad_oracle.py dev-v1.1.json --no-strip-accents \\
        --output runs/squad_oracle.json
"""

import argparse
import collections
import json
import pathlib
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from keras_mobilebert.data.squad import read_squad  # noqa: E402
from keras_mobilebert.metrics.squad import exact_match_score  # noqa: E402
from keras_mobilebert.metrics.squad import f1_score  # noqa: E402
from keras_mobilebert.metrics.squad import squad_v1_metrics  # noqa: E402
from keras_mobilebert.models.mobilebert.span_decoding import decode_answers  # noqa: E402

ORACLE_LOGIT = 10.0
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "squad" / "dev-v1.1.json"


def oracle_logits(windows, value=ORACLE_LOGIT):
    """Start and end logits that are `value` at each window's labels."""
    rows = np.arange(len(windows))
    start = np.zeros(windows.token_ids.shape, "float32")
    end = np.zeros(windows.token_ids.shape, "float32")
    start[rows, windows.start_positions] = value
    end[rows, windows.end_positions] = value
    return start, end


def _gold_token_count(example, preprocessor):
    """Word pieces of the first gold answer (by the context's tokens)."""
    _, starts, ends = preprocessor.tokenize_with_offsets(example.context)
    a = example.answer_starts[0]
    b = a + len(example.answer_texts[0])
    return sum(1 for s, e in zip(starts, ends) if e > a and s < b and e > s)


def loss_class(example, answer, gold_tokens, max_answer_length):
    """Why the oracle's answer differs from the first gold answer."""
    gold_start = example.answer_starts[0]
    gold_end = gold_start + len(example.answer_texts[0])
    if gold_tokens > max_answer_length:
        return "answer longer than max_answer_length word pieces"
    if answer.start <= gold_start and answer.end >= gold_end:
        return "answer edge inside a word piece (decoded span is wider)"
    return "other"


def run_oracle(
    examples,
    preprocessor,
    max_answer_length=30,
    n_best=20,
    examples_per_loss=3,
):
    """Oracle EM / F1 of `examples` and a count of each kind of loss.

    Args:
        examples: list of `SquadExample` (answerable ones).
        preprocessor: a `MobileBertQuestionAnswererPreprocessor`.
        max_answer_length: int. Longest answer the decoder may return.
        n_best: int. Candidates per answer.
        examples_per_loss: int. Examples listed per kind of loss.

    Returns:
        A JSON-ready dict: `exact_match`, `f1`, timings, window counts,
        `losses` (kind -> count and examples).
    """
    began = time.perf_counter()
    windows = preprocessor.encode(examples)
    preprocess_seconds = time.perf_counter() - began
    start, end = oracle_logits(windows)
    began = time.perf_counter()
    answers = decode_answers(
        windows,
        start,
        end,
        n_best=n_best,
        max_answer_length=max_answer_length,
    )
    decode_seconds = time.perf_counter() - began
    predictions = {e.id: a.text for e, a in zip(examples, answers)}
    scores = squad_v1_metrics(predictions, examples)
    losses = collections.defaultdict(lambda: {"count": 0, "examples": []})
    for example, answer in zip(examples, answers):
        gold = example.answer_texts
        exact = max(exact_match_score(answer.text, g) for g in gold)
        if exact:
            continue
        gold_tokens = _gold_token_count(example, preprocessor)
        kind = loss_class(example, answer, gold_tokens, max_answer_length)
        entry = losses[kind]
        entry["count"] += 1
        if len(entry["examples"]) < examples_per_loss:
            entry["examples"].append(
                {
                    "id": example.id,
                    "gold": list(gold),
                    "oracle": answer.text,
                    "f1": max(f1_score(answer.text, g) for g in gold),
                }
            )
    counts = np.bincount(windows.example_index, minlength=len(examples))
    return {
        "questions": len(examples),
        "exact_match": scores["exact_match"],
        "f1": scores["f1"],
        "windows": len(windows),
        "questions_with_several_windows": int(np.sum(counts > 1)),
        "max_windows_per_question": int(counts.max()),
        "preprocess_seconds": round(preprocess_seconds, 2),
        "decode_seconds": round(decode_seconds, 2),
        "losses": dict(losses),
    }


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "squad", nargs="?", default=str(DEFAULT_DATA), help="SQuAD JSON."
    )
    parser.add_argument("--preset", default="mobilebert_en_uncased")
    parser.add_argument("--sequence-length", type=int, default=384)
    parser.add_argument("--doc-stride", type=int, default=128)
    parser.add_argument("--max-question-length", type=int, default=64)
    parser.add_argument("--max-answer-length", type=int, default=30)
    parser.add_argument(
        "--strip-accents",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="Override the preset tokenizer's accent stripping (the uncased "
        "presets strip accents, as bert-base-uncased does).",
    )
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--output", default=None, help="Write JSON here.")
    return parser.parse_args(argv)


def main(argv=None):
    import keras_mobilebert

    args = parse_args(argv)
    examples = read_squad(args.squad)[: args.limit]
    overrides = {}
    if args.strip_accents is not None:
        overrides["strip_accents"] = args.strip_accents
    tokenizer = keras_mobilebert.MobileBertTokenizer.from_preset(
        args.preset, **overrides
    )
    preprocessor = keras_mobilebert.MobileBertQuestionAnswererPreprocessor(
        tokenizer,
        sequence_length=args.sequence_length,
        doc_stride=args.doc_stride,
        max_question_length=args.max_question_length,
    )
    result = run_oracle(
        examples, preprocessor, max_answer_length=args.max_answer_length
    )
    result["settings"] = {
        k: v for k, v in vars(args).items() if k not in ("output",)
    }
    text = json.dumps(result, indent=2, ensure_ascii=False)
    if args.output:
        from keras_mobilebert.utils.files import atomic_path

        with atomic_path(args.output) as tmp:
            tmp.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
