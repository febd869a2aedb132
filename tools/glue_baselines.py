"""SST-2 reference rows and timings for planning the GLUE evidence runs.

1. TF-IDF (word 1-2 grams) + logistic regression on SST-2 dev, trained on
   all 67,349 training sentences and on a seeded random subset: the row
   any learned model must beat (the data README measured 0.820 / 0.780;
   `keras_mobilebert.metrics.classification.tfidf_baseline`).
2. The cost of the models the evidence table trains, on this machine:
   one forward pass over SST-2 dev (872 sentences, sequence 64, batch 32)
   of the MiniLM-L6 teacher classifier and of a 4-layer MobileBERT student
   classifier, with plain full-width batches and with length-bucketed,
   trimmed ones; and seconds per training step (forward, backward, Adam)
   of both, the same two ways.

Example:
```
python tools/glue_baselines.py --output runs/glue_baselines.json
```
"""

import argparse
import json
import os
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_DATA = pathlib.Path(
    os.environ.get("KERAS_MOBILEBERT_SHARED_DATA")
    or ROOT.parent / "shared" / "data"
)


def tfidf_accuracy(train, dev, subset=None, seed=0):
    """Dev accuracy of TF-IDF 1-2 grams + logistic regression.

    Args:
        train: a `GlueSplit` (SST-2 train).
        dev: a `GlueSplit` (SST-2 validation).
        subset: int or None. Train on a random subset of this size.
        seed: int. Seed of the subset.
    """
    import numpy as np

    from keras_mobilebert.metrics.classification import tfidf_baseline

    if subset:
        rng = np.random.default_rng(seed)
        train = train.select(
            np.sort(rng.choice(len(train), subset, replace=False))
        )
    result = tfidf_baseline(
        train.segments[0], train.labels, dev.segments[0], dev.labels
    )
    return result["accuracy"], len(train)


def _models(sequence_length):
    import keras_hub

    import keras_mobilebert
    from keras_mobilebert.data.pretrained_teachers import minilm_l6_snapshot

    teacher = keras_hub.models.BertTextClassifier(
        keras_hub.models.BertBackbone.from_preset(
            minilm_l6_snapshot(quiet=True)
        ),
        num_classes=2,
        preprocessor=None,
    )
    student = keras_mobilebert.MobileBertClassifier(
        keras_mobilebert.MobileBertBackbone.from_preset(
            "mobilebert_en_uncased", load_weights=False, num_layers=4
        ),
        num_classes=2,
    )
    preprocessor = (
        keras_mobilebert.MobileBertTextClassifierPreprocessor.from_preset(
            "mobilebert_en_uncased", sequence_length=sequence_length
        )
    )
    return {"teacher_minilm_l6": teacher, "student_4_layers": student}, (
        preprocessor
    )


def _batches(packed, batch_size, bucketed):
    """Plain full-width batches, or length-bucketed trimmed ones."""
    from keras_mobilebert.data import length_buckets as B

    lengths = B.sequence_lengths(packed["padding_mask"])
    if bucketed:
        plan = B.length_bucketed_batches(lengths, batch_size, seed=0)
        return [B.trimmed_batch(packed, b, lengths) for b in plan]
    plan = B.plain_batches(len(lengths), batch_size)
    return [{k: v[b] for k, v in packed.items()} for b in plan]


def time_models(dev, sequence_length=64, batch_size=32, train_steps=8):
    """Seconds per forward pass over `dev` and per training step."""
    import keras
    import numpy as np
    import tensorflow as tf

    from keras_mobilebert.data.length_buckets import pack_texts

    models, preprocessor = _models(sequence_length)
    packed = pack_texts(preprocessor, dev.features)
    labels = np.asarray(dev.labels)
    results = {}
    for name, model in models.items():
        forward = tf.function(
            lambda x, m=model: m(x, training=False), reduce_retracing=True
        )
        model.compile(
            optimizer=keras.optimizers.Adam(1e-5),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        row = {"parameters": int(model.count_params())}
        for mode in ("plain", "bucketed"):
            batches = _batches(packed, batch_size, mode == "bucketed")
            for batch in batches:  # trace every width once
                forward(batch)
            start = time.perf_counter()
            for batch in batches:
                forward(batch)
            row[f"forward_dev_{mode}_s"] = round(time.perf_counter() - start, 2)
            # Training steps on the first batches of the plan (labels are
            # only needed for the loss, any will do for timing).
            steps = batches[: train_steps + 1]
            y = [labels[: len(b["token_ids"])] for b in steps]
            model.train_on_batch(steps[0], y[0])  # trace
            for batch, target in zip(steps[1:], y[1:]):
                model.train_on_batch(batch, target)  # trace each width
            start = time.perf_counter()
            for batch, target in zip(steps[1:], y[1:]):
                model.train_on_batch(batch, target)
            row[f"train_step_{mode}_s"] = round(
                (time.perf_counter() - start) / max(1, len(steps) - 1), 3
            )
            row[f"{mode}_positions"] = int(
                sum(b["token_ids"].size for b in batches)
            )
        results[name] = row
        print(name, json.dumps(row), flush=True)
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=str(DEFAULT_DATA))
    parser.add_argument("--subset", type=int, default=8000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--subset-seeds", type=int, default=5)
    parser.add_argument("--sequence-length", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--skip-tfidf", action="store_true")
    parser.add_argument("--skip-timing", action="store_true")
    parser.add_argument("--output", default=None, help="JSON results file.")
    args = parser.parse_args(argv)

    from keras_mobilebert.data.glue import load_glue
    from keras_mobilebert.utils.files import atomic_path

    data = pathlib.Path(args.data_dir) / "sst2"
    train = load_glue("sst2", "train", data)
    dev = load_glue("sst2", "validation", data)
    results = {"train": len(train), "dev": len(dev)}
    if not args.skip_tfidf:
        accuracy, size = tfidf_accuracy(train, dev)
        results[f"tfidf_train_{size}"] = round(accuracy, 4)
        print(f"TF-IDF 1-2 grams + LR, all {size} train: {accuracy:.4f}")
        # A subset's score moves with which sentences it holds: report
        # several seeds and their mean.
        subsets = [
            tfidf_accuracy(train, dev, args.subset, seed)[0]
            for seed in range(args.seed, args.seed + args.subset_seeds)
        ]
        results[f"tfidf_train_{args.subset}_seeds"] = [
            round(a, 4) for a in subsets
        ]
        results[f"tfidf_train_{args.subset}_mean"] = round(
            sum(subsets) / len(subsets), 4
        )
        print(
            f"TF-IDF 1-2 grams + LR, {args.subset} train, seeds "
            f"{args.seed}..{args.seed + args.subset_seeds - 1}: "
            f"{[round(a, 4) for a in subsets]}, mean "
            f"{results[f'tfidf_train_{args.subset}_mean']:.4f}"
        )
    if not args.skip_timing:
        results["timing"] = time_models(
            dev, args.sequence_length, args.batch_size
        )
        results["timing_setup"] = {
            "sequence_length": args.sequence_length,
            "batch_size": args.batch_size,
            "cpus": os.cpu_count(),
        }
    if args.output:
        with atomic_path(args.output) as tmp:
            tmp.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    sys.exit(main())
