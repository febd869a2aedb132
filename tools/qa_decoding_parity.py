"""Our QA answers against Hugging Face's postprocessing on the same model.

A Hugging Face `MobileBertForQuestionAnswering` snapshot (by default the
`google/mobilebert-uncased` configuration with torch's seeded random
weights; or `--snapshot DIR`, e.g. a fine-tuned model written with
`keras_mobilebert.convert.export_to_huggingface`) answers real SQuAD v1.1
dev questions twice:

- ours: `MobileBertQuestionAnswerer.from_preset(snapshot).answer(...)`
  (our tokenizer, windows, Keras logits, `span_decoding`);
- Hugging Face's: its fast tokenizer's overflowing windows with offset
  mappings, the PyTorch model's logits, and the decoding of
  `postprocess_qa_predictions` in transformers' question-answering example
  (`examples/pytorch/question-answering/utils_qa.py`, SQuAD v1.1: per
  window the top-`n_best` start and end logits, pairs inside the context,
  end >= start, at most `max_answer_length` tokens, best start + end
  logit over all windows, text cut from the offset mapping), re-implemented
  here from its description.

Windows are made the same: our `doc_stride` is GR's step between window
starts, HF's `stride` the overlap of consecutive windows; with room for
`budget = sequence_length - question pieces - 3` context tokens, overlap =
budget - doc_stride, so HF is called per question with that stride.
Questions over `max_question_length` pieces (we cut them, HF would not)
are left out and counted.

Reported: answer-string agreement end to end; the same with our decoder
run on HF's logits (decoding alone); HF's decoding made exhaustive
(`n_best` = every token) against ours, which scores every valid span;
window and logit agreement; and
every disagreement with its class: `top_k` (our best span has a start or
end outside HF's top-`n_best` logits of its window, so HF cannot return
it; ours scores higher; or no pair of HF's top logits is a valid span and
HF answers its placeholder "empty"), `near_tie` (the two best spans'
scores differ by less than the logits' float disagreement), `offsets`
(same tokens, other characters), `other`.

Usage:
    python tools/qa_decoding_parity.py --questions 300 \\
        --output runs/qa_decoding_parity.json
    python tools/qa_decoding_parity.py --snapshot runs/tiny_squad/hf
"""

import argparse
import collections
import json
import pathlib
import sys
import tempfile
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "squad" / "dev-v1.1.json"


def random_snapshot(directory, seed=0, num_layers=24):
    """A random HF QA snapshot with bert-base-uncased's tokenizer.

    `google/mobilebert-uncased`'s configuration (transformers' defaults,
    no pooler; `num_layers` blocks, 24 for the full model) with
    `torch.manual_seed(seed)`'s initialization.
    """
    import torch
    import transformers

    from keras_mobilebert.data.vocabularies import vocabulary_path

    torch.manual_seed(seed)
    config = transformers.MobileBertConfig(
        classifier_activation=False,
        num_hidden_layers=num_layers,
        attn_implementation="eager",
    )
    model = transformers.MobileBertForQuestionAnswering(config).eval()
    directory = pathlib.Path(directory)
    model.save_pretrained(str(directory))
    vocabulary = pathlib.Path(vocabulary_path("bert_base_uncased"))
    (directory / "vocab.txt").write_bytes(vocabulary.read_bytes())
    (directory / "tokenizer_config.json").write_text(
        json.dumps({"do_lower_case": True, "model_max_length": 512})
    )
    return directory


def pick_examples(examples, preprocessor, count, several_windows):
    """`count` dev questions, `several_windows` of them over several windows.

    Deterministic: the questions whose context needs several windows, in
    file order, then every k-th other question.
    """
    lengths = {}
    for example in examples:
        if example.context not in lengths:
            lengths[example.context] = len(
                preprocessor.tokenize_with_offsets(example.context)[0]
            )
    # A context over about 300 pieces needs a second 384-token window
    # for typical questions; the windows themselves decide below.
    long = [e for e in examples if lengths[e.context] > 300]
    windows = preprocessor.encode(long)
    counts = np.bincount(windows.example_index, minlength=len(long))
    multi = [e for e, c in zip(long, counts) if c > 1][:several_windows]
    chosen = {e.id for e in multi}
    rest = [e for e in examples if e.id not in chosen]
    step = max(1, len(rest) // max(1, count - len(multi)))
    picked = multi + rest[::step][: count - len(multi)]
    return picked


def hf_windows(tokenizer, example, sequence_length, doc_stride):
    """HF's windows of one pair, stride set to give our window starts."""
    question_pieces = len(
        tokenizer(example.question, add_special_tokens=False)["input_ids"]
    )
    budget = sequence_length - question_pieces - 3
    encoded = tokenizer(
        example.question,
        example.context,
        truncation="only_second",
        max_length=sequence_length,
        stride=max(0, budget - doc_stride),
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding="max_length",
    )
    offsets = []
    for row in range(len(encoded["input_ids"])):
        sequence = encoded.sequence_ids(row)
        offsets.append(
            [
                tuple(o) if sequence[k] == 1 else None
                for k, o in enumerate(encoded["offset_mapping"][row])
            ]
        )
    return {
        "input_ids": np.asarray(encoded["input_ids"]),
        "token_type_ids": np.asarray(encoded["token_type_ids"]),
        "attention_mask": np.asarray(encoded["attention_mask"]),
        "offsets": offsets,
    }


def hf_logits(model, windows, batch_size=16):
    """Start and end logits of the PyTorch model on stacked windows."""
    import torch

    starts, ends = [], []
    for first in range(0, len(windows["input_ids"]), batch_size):
        batch = {
            name: torch.tensor(windows[name][first : first + batch_size])
            for name in ("input_ids", "token_type_ids", "attention_mask")
        }
        with torch.no_grad():
            out = model(**batch)
        starts.append(out.start_logits.numpy())
        ends.append(out.end_logits.numpy())
    return np.concatenate(starts), np.concatenate(ends)


def hf_style_answer(
    context, starts, ends, offsets, n_best=20, max_answer_length=30
):
    """The utils_qa.py decoding (SQuAD v1.1) of one pair's windows.

    Args:
        context: string.
        starts, ends: float arrays `(windows, sequence_length)`.
        offsets: per window, per token `(start, end)` in `context`, or
            None outside the context.
        n_best: int. Start and end logits considered per window.
        max_answer_length: int. Longest span, in tokens.

    Returns:
        `(text, score, (window, start token, end token))`; `("empty",
        None, None)` when no pair of the top logits is a valid span (the
        example's placeholder answer).
    """
    best = None
    for window, (start, end) in enumerate(zip(starts, ends)):
        top_starts = np.argsort(start)[::-1][:n_best]
        top_ends = np.argsort(end)[::-1][:n_best]
        for i in top_starts:
            for j in top_ends:
                if offsets[window][i] is None or offsets[window][j] is None:
                    continue
                if j < i or j - i + 1 > max_answer_length:
                    continue
                score = float(start[i] + end[j])
                # The first of equal scores wins, as a stable sort keeps it.
                if best is None or score > best[0]:
                    span = (offsets[window][i][0], offsets[window][j][1])
                    best = (score, span, (window, int(i), int(j)))
    if best is None:
        return "empty", None, None
    score, (a, b), where = best
    return context[a:b], score, where


def _classify(ours, theirs, windows, rows, hf, n_best, tolerance):
    """Why our answer differs from HF's (see the module docstring)."""
    if theirs["score"] is None:
        return "top_k"  # No pair of HF's top logits is a valid span.
    if abs(ours.score - theirs["score"]) <= tolerance:
        if ours.start == theirs["start"] or ours.text.strip() == (
            theirs["text"].strip()
        ):
            return "offsets"
        return "near_tie"
    if ours.score > theirs["score"]:
        # Is our span outside HF's top-n_best starts or ends?
        for row in rows:
            token_starts = windows.token_starts[row]
            token_ends = windows.token_ends[row]
            first = np.flatnonzero(token_starts == ours.start)
            last = np.flatnonzero(token_ends == ours.end)
            if first.size and last.size:
                start_rank = np.sum(
                    hf["start"][row] > hf["start"][row][first[0]]
                )
                end_rank = np.sum(hf["end"][row] > hf["end"][row][last[-1]])
                if start_rank >= n_best or end_rank >= n_best:
                    return "top_k"
    return "other"


def compare(snapshot, examples, n_best=20, max_answer_length=30, log=print):
    """Answer `examples` both ways and compare; a JSON-ready report."""
    import torch
    import transformers

    import keras_mobilebert
    from keras_mobilebert.models.mobilebert.span_decoding import decode_answers

    torch.set_num_threads(2)
    qa = keras_mobilebert.MobileBertQuestionAnswerer.from_preset(str(snapshot))
    pre = qa.preprocessor
    model = transformers.MobileBertForQuestionAnswering.from_pretrained(
        str(snapshot), attn_implementation="eager"
    ).eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(snapshot))
    kept = [
        e
        for e in examples
        if len(pre.tokenize_with_offsets(e.question)[0])
        <= pre.max_question_length
    ]
    began = time.perf_counter()
    windows = pre.encode(kept)
    ours_logits = qa.predict(windows.inputs(), batch_size=16, verbose=0)
    ours = decode_answers(
        windows,
        ours_logits["start_logits"],
        ours_logits["end_logits"],
        n_best=n_best,
        max_answer_length=max_answer_length,
    )
    ours_seconds = time.perf_counter() - began
    began = time.perf_counter()
    per_pair = [
        hf_windows(tokenizer, e, pre.sequence_length, pre.doc_stride)
        for e in kept
    ]
    stacked = {
        k: np.concatenate([w[k] for w in per_pair])
        for k in ("input_ids", "token_type_ids", "attention_mask")
    }
    hf_start, hf_end = hf_logits(model, stacked)
    hf_seconds = time.perf_counter() - began
    same_windows = stacked["input_ids"].shape == windows.token_ids.shape and (
        np.array_equal(stacked["input_ids"], windows.token_ids)
    )
    scale = max(np.abs(hf_start).max(), np.abs(hf_end).max())
    logit_error = None
    if same_windows:
        logit_error = float(
            max(
                np.abs(ours_logits["start_logits"] - hf_start).max(),
                np.abs(ours_logits["end_logits"] - hf_end).max(),
            )
            / scale
        )
        on_hf_logits = decode_answers(
            windows,
            hf_start,
            hf_end,
            n_best=n_best,
            max_answer_length=max_answer_length,
        )
    tolerance = 4 * (logit_error or 1e-5) * scale
    first = 0
    agree = agree_on_hf_logits = agree_exhaustive = 0
    classes = collections.Counter()
    disagreements = []
    for index, (example, pair) in enumerate(zip(kept, per_pair)):
        count = len(pair["input_ids"])
        rows = np.arange(first, first + count)
        first += count
        text, score, where = hf_style_answer(
            example.context,
            hf_start[rows],
            hf_end[rows],
            pair["offsets"],
            n_best=n_best,
            max_answer_length=max_answer_length,
        )
        start = None
        if where is not None:
            start = pair["offsets"][where[0]][where[1]][0]
        theirs = {"text": text, "score": score, "start": start}
        exhaustive = hf_style_answer(
            example.context,
            hf_start[rows],
            hf_end[rows],
            pair["offsets"],
            n_best=hf_start.shape[1],
            max_answer_length=max_answer_length,
        )[0]
        if same_windows and on_hf_logits[index].text == exhaustive:
            agree_exhaustive += 1
        if same_windows and on_hf_logits[index].text == text:
            agree_on_hf_logits += 1
        if ours[index].text == text:
            agree += 1
            continue
        hf = {"start": hf_start, "end": hf_end}
        kind = _classify(
            ours[index], theirs, windows, rows, hf, n_best, tolerance
        )
        classes[kind] += 1
        disagreements.append(
            {
                "id": example.id,
                "windows": count,
                "class": kind,
                "ours": ours[index].text,
                "ours_score": round(ours[index].score, 6),
                "hf": text,
                "hf_score": None if score is None else round(score, 6),
            }
        )
    several = int(
        np.sum(np.bincount(windows.example_index, minlength=len(kept)) > 1)
    )
    report = {
        "snapshot": str(snapshot),
        "questions": len(kept),
        "left_out_long_questions": len(examples) - len(kept),
        "questions_with_several_windows": several,
        "windows": len(windows),
        "same_windows": bool(same_windows),
        "max_relative_logit_difference": logit_error,
        "answer_agreement": agree / len(kept),
        "answer_agreement_decoding_only": (
            agree_on_hf_logits / len(kept) if same_windows else None
        ),
        "answer_agreement_exhaustive_hf_decoding": (
            agree_exhaustive / len(kept) if same_windows else None
        ),
        "disagreement_classes": dict(classes),
        "disagreements": disagreements,
        "seconds": {"ours": round(ours_seconds, 1), "hf": round(hf_seconds, 1)},
        "settings": {"n_best": n_best, "max_answer_length": max_answer_length},
    }
    log(
        f"{len(kept)} questions ({several} over several windows): answers "
        f"agree on {agree} ({100 * agree / len(kept):.1f}%); "
        f"disagreements {dict(classes)}"
    )
    return report


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--squad", default=str(DEFAULT_DATA))
    parser.add_argument(
        "--snapshot",
        default=None,
        help="HF MobileBertForQuestionAnswering snapshot; default: a "
        "full-size random one (torch seed --seed).",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--num-layers",
        type=int,
        default=24,
        help="Blocks of the random model (decoding does not depend on "
        "depth; 4 runs about 6 times faster than 24).",
    )
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--several-windows", type=int, default=60)
    parser.add_argument("--n-best", type=int, default=20)
    parser.add_argument("--max-answer-length", type=int, default=30)
    parser.add_argument("--output", default=None, help="Write JSON here.")
    return parser.parse_args(argv)


def main(argv=None):
    import keras_mobilebert
    from keras_mobilebert.data.squad import read_squad
    from keras_mobilebert.utils.files import atomic_path

    args = parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        snapshot = args.snapshot or random_snapshot(
            pathlib.Path(scratch) / "hf", args.seed, args.num_layers
        )
        pre = (
            keras_mobilebert.MobileBertQuestionAnswererPreprocessor.from_preset(
                str(snapshot)
            )
        )
        examples = pick_examples(
            read_squad(args.squad), pre, args.questions, args.several_windows
        )
        report = compare(
            snapshot,
            examples,
            n_best=args.n_best,
            max_answer_length=args.max_answer_length,
        )
    if args.snapshot is None:
        report["snapshot"] = (
            f"random google/mobilebert-uncased config, {args.num_layers} "
            f"layers, torch seed {args.seed}"
        )
    text = json.dumps(report, indent=2, ensure_ascii=False)
    if args.output:
        with atomic_path(args.output) as tmp:
            tmp.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
