"""Is the `distill --corpus` input pipeline ever the bottleneck?

Prints (issue 21, part 4):

1. **The reader alone**, from prepared shards: the real
   `corpus_data.corpus_pretraining_dataset` (sequence 128, batch 256,
   `max_predictions` 20: `distill`'s defaults) in a child process pinned
   to ONE CPU (`os.sched_setaffinity`), TensorFlow's intra- and inter-op
   pools and tf.data's private pool at one thread each; warm-up batches,
   then sequences per second over `--batches`.
2. **The student's training step** on the same machine, every core: the
   released 24-block `mobilebert_en_uncased` in `distill`'s last stage,
   pre-training distillation (the `Distiller` of
   `DistillationRun.build_distiller`, LAMB, against `distill`'s default
   teacher `minilm_l6`), one prepared batch fed again and again so only
   the step is timed. Verdict: the reader at >= 10x the step's rate and
   >= 5,000 sequences per second. On a CPU the step at batch 256 needs
   about 28 GB (about 100 MB a sequence): `--student-batch-size`.
3. **`--beam-mb A B`**: `prepare-corpus`'s rate in MB of raw text a
   minute (DirectRunner, its default two worker processes) at two text
   sizes; the marginal rate leaves the start-up out, reported apart.
   Needs Apache Beam (the `corpus` extra); `--help` does not.

Text: the SQuAD v1.1 dev paragraphs (a sentence per line) and the SST-2
training sentences (one-line documents) from `../shared/data` (or `--data`,
or `KERAS_MOBILEBERT_SHARED_DATA`), 77 k sentences; the Beam sizes write
it as many times as they need. The load average is printed too. Each part
runs in a process of its own (a pin and thread pools cannot be undone);
`--part` runs one here and prints its figures as a JSON line.

    .venv-corpus/bin/python tools/benchmark_corpus_pipeline.py \\
        --work runs/cpb --skip-student      # builds runs/cpb/corpus
    python tools/benchmark_corpus_pipeline.py --work runs/cpb \\
        --student-batch-size 64 --json runs/final.json
    .venv-corpus/bin/python tools/benchmark_corpus_pipeline.py \\
        --work runs/beam_bench --beam-mb 5 20 --skip-pipeline --skip-student
"""

import argparse
import csv
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SHARED_DATA = pathlib.Path(
    os.environ.get("KERAS_MOBILEBERT_SHARED_DATA")
    or ROOT.parent / "shared" / "data"
)
PIPELINE_FLOOR = 5_000
STEP_FACTOR = 10
# A sentence ends at . ! or ? before a space and a capital or digit.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")


def shared_documents(data_dir=SHARED_DATA):
    """The real text: SQuAD dev paragraphs and SST-2 training sentences.

    Args:
        data_dir: the shared data folder (`squad/dev-v1.1.json`,
            `sst2/train.tsv`).

    Returns:
        A list of documents, each a list of sentences.

    Example:
    ```python
    documents = shared_documents("../shared/data")
    ```
    """
    data_dir = pathlib.Path(data_dir)
    documents = []
    squad = json.loads((data_dir / "squad" / "dev-v1.1.json").read_text())
    for article in squad["data"]:
        for paragraph in article["paragraphs"]:
            lines = _SENTENCE_END.split(paragraph["context"].strip())
            documents.append([" ".join(s.split()) for s in lines if s.strip()])
    with open(data_dir / "sst2" / "train.tsv", newline="") as f:
        rows = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        documents += [[row["sentence"].strip()] for row in rows]
    return documents


def write_text(documents, path, copies=1):
    """Write `documents` `copies` times in `prepare-corpus`'s format.

    One sentence per line, a blank line between documents.

    Returns:
        The number of bytes written.

    Example:
    ```python
    size = write_text(shared_documents(), "runs/text.txt", copies=4)
    ```
    """
    text = "\n\n".join("\n".join(d) for d in documents) + "\n\n"
    data = text.encode("utf-8") * int(copies)
    _write_atomically(path, data)
    return len(data)


def _write_atomically(path, data):
    from keras_mobilebert.utils.files import atomic_path

    pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(pathlib.Path(path)) as tmp:
        tmp.write_bytes(data)


def build_corpus(text_paths, output_dir, num_shards=8, beam_args=()):
    """`prepare-corpus` on `text_paths`; returns `(manifest, seconds)`.

    Example:
    ```python
    manifest, seconds = build_corpus(["text.txt"], "runs/corpus")
    ```
    """
    from keras_mobilebert.distillation.corpus import prepare_corpus

    start = time.perf_counter()
    manifest = prepare_corpus(
        text_paths, output_dir, num_shards=num_shards, beam_args=beam_args
    )
    return manifest, time.perf_counter() - start


def pin_to_one_core():
    """Pin this process to one CPU and TensorFlow to one thread per pool.

    Must run before TensorFlow starts its pools (before any op).

    Returns:
        The CPU number.
    """
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    os.environ["TF_NUM_INTRAOP_THREADS"] = "1"
    os.environ["TF_NUM_INTEROP_THREADS"] = "1"
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    return cpu


def _tokenizer():
    from keras_mobilebert.data import bert_uncased_vocabulary
    from keras_mobilebert.models.mobilebert import MobileBertTokenizer

    return MobileBertTokenizer(
        vocabulary=bert_uncased_vocabulary(quiet=True), lowercase=True
    )


def pipeline_rate(
    corpus_dir,
    batch_size=256,
    sequence_length=128,
    max_predictions=20,
    warmup=5,
    batches=200,
    one_thread=True,
):
    """Sequences per second of `corpus_pretraining_dataset` alone.

    Args:
        corpus_dir: a `prepare-corpus` folder.
        batch_size, sequence_length, max_predictions: the batches'.
        warmup: int. Batches read before the clock starts (tracing, the
            first shuffle block).
        batches: int. Batches timed.
        one_thread: bool. Give tf.data's private pool one thread (the
            process's pin is `pin_to_one_core`'s job).

    Returns:
        A dict: `sequences_per_second`, `seconds`, `batches`, `sequences`,
        `epochs_read` (the share of one epoch the timed run covers).

    Example:
    ```python
    figures = pipeline_rate("runs/corpus", batch_size=256, batches=200)
    ```
    """
    import tensorflow as tf

    from keras_mobilebert.distillation.corpus import read_manifest
    from keras_mobilebert.distillation.corpus_data import (
        corpus_pretraining_dataset,
    )

    dataset = corpus_pretraining_dataset(
        corpus_dir,
        _tokenizer(),
        batch_size,
        sequence_length=sequence_length,
        max_predictions=max_predictions,
    )
    if one_thread:
        options = tf.data.Options()
        options.threading.private_threadpool_size = 1
        options.threading.max_intra_op_parallelism = 1
        dataset = dataset.with_options(options)
    iterator = iter(dataset)
    for _ in range(warmup):
        batch = next(iterator)
    start = time.perf_counter()
    for _ in range(batches):
        batch = next(iterator)
    seconds = time.perf_counter() - start
    shape = tuple(batch["token_ids"].shape)
    if shape != (batch_size, sequence_length):
        raise AssertionError(f"Batches of shape {shape}.")
    sentences = read_manifest(corpus_dir)["sentences"]
    return {
        "sequences_per_second": batches * batch_size / seconds,
        "seconds": seconds,
        "batches": batches,
        "sequences": batches * batch_size,
        "epochs_read": (warmup + batches) * batch_size / sentences,
    }


def student_rate(
    corpus_dir,
    batch_size=256,
    sequence_length=128,
    max_predictions=20,
    warmup=1,
    steps=2,
    teacher="minilm_l6",
    student_overrides=None,
    teacher_overrides=None,
):
    """Sequences per second of `distill`'s pre-training distillation step.

    The real stage: `DistillationRun.build_distiller` of the schedule's
    last stage (`pretraining_distillation`, every block trainable), the
    teacher's embeddings and heads copied as `distill` copies them,
    compiled with `distill`'s LAMB; one batch of the corpus fed again and
    again so only the step is timed.

    Args:
        corpus_dir: a `prepare-corpus` folder (the batch's source).
        batch_size, sequence_length, max_predictions: the batch's.
        warmup: int. Steps before the clock starts (tracing, compiling).
        steps: int. Steps timed.
        teacher: `distill --teacher`.
        student_overrides: dict. Changes to `mobilebert_en_uncased` (none:
            the released 24 blocks).
        teacher_overrides: dict. `--teacher-overrides`.

    Returns:
        A dict: `sequences_per_second` (the batch over the median step),
        `seconds_per_step` (that median), `step_ms`
        (`latency.timing_summary` of the timed steps), `steps`,
        `batch_size`, `num_layers`, `parameters`.

    Example:
    ```python
    figures = student_rate("runs/corpus", batch_size=32, steps=2)
    ```
    """
    import keras
    import tensorflow as tf

    from keras_mobilebert.distillation.corpus_data import (
        corpus_pretraining_dataset,
    )
    from keras_mobilebert.distillation.optimizers import optimizer_factory
    from keras_mobilebert.distillation.runner import DistillationRun
    from keras_mobilebert.distillation.strategies import copy_from_teacher
    from keras_mobilebert.distillation.teacher_student import build_student
    from keras_mobilebert.distillation.teacher_student import load_teacher
    from keras_mobilebert.export.latency import timing_summary

    if warmup < 1 or steps < 1:
        raise ValueError("Time at least one step after at least one.")
    keras.utils.set_random_seed(0)
    student = build_student("mobilebert_en_uncased", student_overrides)
    batch = next(
        iter(
            corpus_pretraining_dataset(
                corpus_dir,
                _tokenizer(),
                batch_size,
                sequence_length=sequence_length,
                max_predictions=max_predictions,
            )
        )
    )
    with tempfile.TemporaryDirectory() as output_dir:
        run = DistillationRun(
            teacher=load_teacher(teacher, overrides=teacher_overrides),
            student=student,
            strategy="progressive",
            output_dir=output_dir,
            make_dataset=None,
            layer_steps=0,
            pretraining_steps=warmup + steps,
        )
    (stage,) = run.stages
    run.copied, _ = copy_from_teacher(run.teacher, run.student)
    distiller = run.build_distiller(stage)
    distiller.compile(optimizer=optimizer_factory("lamb", 1.5e-3)(stage))
    starts, times = [], []
    # Each step from its begin to its end (finetune_throughput's way).
    clock = keras.callbacks.LambdaCallback(
        on_train_batch_begin=lambda b, logs: starts.append(time.perf_counter()),
        on_train_batch_end=lambda b, logs: times.append(
            time.perf_counter() - starts[-1]
        ),
    )
    data = tf.data.Dataset.from_tensors(batch).repeat(warmup + steps)
    distiller.fit(data, epochs=1, callbacks=[clock], verbose=0, shuffle=False)
    summary = timing_summary(times[warmup:])
    seconds = summary["median_ms"] / 1000
    return {
        "sequences_per_second": batch_size / seconds,
        "seconds_per_step": seconds,
        "step_ms": summary,
        "steps": steps,
        "batch_size": batch_size,
        "num_layers": run.student.num_layers,
        "parameters": int(student.backbone.count_params()),
    }


def beam_rate(
    documents, work_dir, sizes_mb=(5, 20), num_shards=8, beam_args=()
):
    """MB of raw text per minute through `prepare-corpus`, two sizes.

    The text (`documents` written as often as it takes to reach each size)
    goes through `prepare_corpus` on the DirectRunner with its default
    options (two worker processes). The marginal rate, `(big - small) MB /
    (big - small) minutes`, leaves the start-up out; the start-up is the
    small run's time less its MB at that rate.

    Args:
        documents: `shared_documents()`' list.
        work_dir: a folder for the text files and corpora.
        sizes_mb: two text sizes in MB (10**6 bytes), the smaller first.
        num_shards: int. `--num-shards`.
        beam_args: more Beam options (none: `prepare-corpus`'s defaults).

    Returns:
        A dict: `runs` (`mb`, `seconds`, `mb_per_minute`, `documents`,
        `sentences` per size), `marginal_mb_per_minute`,
        `startup_seconds`.

    Example:
    ```python
    figures = beam_rate(shared_documents(), "runs/beam", sizes_mb=(5, 20))
    ```
    """
    work_dir = pathlib.Path(work_dir)
    one = write_text(documents, work_dir / "one_copy.txt")
    runs = []
    for mb in sizes_mb:
        copies = max(1, round(mb * 1e6 / one))
        text = work_dir / f"text_{copies}.txt"
        size = write_text(documents, text, copies)
        manifest, seconds = build_corpus(
            [text], work_dir / f"corpus_{copies}", num_shards, beam_args
        )
        runs.append(
            {
                "mb": size / 1e6,
                "copies": copies,
                "seconds": seconds,
                "mb_per_minute": size / 1e6 / seconds * 60,
                "documents": manifest["documents"],
                "sentences": manifest["sentences"],
            }
        )
    small, big = runs[0], runs[-1]
    figures = {"runs": runs}
    if big["mb"] > small["mb"]:
        marginal = (big["mb"] - small["mb"]) / (
            big["seconds"] - small["seconds"]
        )
        figures["marginal_mb_per_minute"] = marginal * 60
        figures["startup_seconds"] = small["seconds"] - small["mb"] / marginal
    return figures


def verdict(pipeline, student):
    """The ratio and PASS/FAIL of the two rates against the issue's bars.

    Example:
    ```python
    verdict({"sequences_per_second": 6000}, {"sequences_per_second": 20})
    ```
    """
    ratio = pipeline["sequences_per_second"] / student["sequences_per_second"]
    return {
        "ratio": ratio,
        "ratio_pass": ratio >= STEP_FACTOR,
        "floor_pass": pipeline["sequences_per_second"] >= PIPELINE_FLOOR,
    }


def _run_part(part, args):
    """One part in a fresh process of this Python; its JSON figures."""
    command = [sys.executable, __file__, "--part", part]
    skip = ("part", "skip_pipeline", "skip_student", "beam_mb")
    for name, value in vars(args).items():
        if name not in skip and value is not None and value is not False:
            command.append("--" + name.replace("_", "-"))
            command += [] if value is True else [str(value)]
    result = subprocess.run(
        command, capture_output=True, text=True, check=False
    )
    if result.returncode:
        sys.stderr.write(result.stderr[-4000:])
        raise SystemExit(f"The {part} part failed ({result.returncode}).")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _part(args):
    if args.part == "pipeline":
        cpu = pin_to_one_core()
        figures = pipeline_rate(
            args.corpus,
            args.batch_size,
            args.sequence_length,
            args.max_predictions,
            args.warmup,
            args.batches,
        )
        figures["cpu"] = cpu
        return figures
    return student_rate(
        args.corpus,
        args.student_batch_size or args.batch_size,
        args.sequence_length,
        args.max_predictions,
        args.student_warmup,
        args.student_steps,
        teacher=args.teacher,
        student_overrides=json.loads(args.student_overrides),
        teacher_overrides=json.loads(args.teacher_overrides),
    )


def report(pipeline=None, student=None, beam=None):
    """The printed lines of the figures given.

    Example:
    ```python
    print(report(pipeline={"sequences_per_second": 6000.0, ...}))
    ```
    """
    lines = []
    if pipeline:
        lines.append(
            f"input pipeline, one core (cpu {pipeline.get('cpu', '-')}): "
            f"{pipeline['sequences_per_second']:,.0f} sequences/s "
            f"({pipeline['batches']} batches in {pipeline['seconds']:.2f} s, "
            f"{pipeline['epochs_read']:.2f} of an epoch read)"
        )
    if student:
        lines.append(
            f"student step, {student['num_layers']} blocks, batch "
            f"{student['batch_size']}: {student['sequences_per_second']:,.2f}"
            f" sequences/s ({student['seconds_per_step']:.2f} s a step, "
            f"median of {student['steps']})"
        )
    if pipeline and student:
        judged = verdict(pipeline, student)
        lines.append(
            f"ratio {judged['ratio']:,.0f}x: "
            f"{'PASS' if judged['ratio_pass'] else 'FAIL'} (>= "
            f"{STEP_FACTOR}x); pipeline "
            f"{'PASS' if judged['floor_pass'] else 'FAIL'} (>= "
            f"{PIPELINE_FLOOR:,} sequences/s)"
        )
    if beam:
        for run in beam["runs"]:
            lines.append(
                f"prepare-corpus, {run['mb']:.1f} MB ({run['sentences']:,} "
                f"sentences): {run['seconds']:.1f} s, "
                f"{run['mb_per_minute']:.2f} MB/min"
            )
        if "marginal_mb_per_minute" in beam:
            lines.append(
                f"prepare-corpus marginal rate "
                f"{beam['marginal_mb_per_minute']:.2f} MB/min; start-up "
                f"{beam['startup_seconds']:.1f} s"
            )
    return "\n".join(lines)


def parser():
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--corpus",
        help="An existing prepare-corpus folder; default: build one "
        "from the shared data under --work (needs Apache Beam).",
    )
    p.add_argument(
        "--work",
        default="runs/corpus_pipeline_benchmark",
        help="Folder for the text, the corpus and the Beam runs.",
    )
    p.add_argument(
        "--data",
        default=str(SHARED_DATA),
        help="The shared data folder (squad/, sst2/).",
    )
    integers = {
        "--num-shards": (8, "prepare-corpus's --num-shards"),
        "--batch-size": (256, None),
        "--sequence-length": (128, None),
        "--max-predictions": (20, None),
        "--warmup": (5, "Reader batches before the clock starts."),
        "--batches": (200, "Reader batches timed (five shuffle blocks)."),
        "--student-batch-size": (None, "The step's (default --batch-size)."),
        "--student-warmup": (1, None),
        "--student-steps": (2, None),
    }
    for flag, (default, text) in integers.items():
        p.add_argument(flag, type=int, default=default, help=text)
    p.add_argument("--teacher", default="minilm_l6")
    p.add_argument("--student-overrides", default="{}")
    p.add_argument("--teacher-overrides", default="{}")
    p.add_argument("--skip-pipeline", action="store_true")
    p.add_argument("--skip-student", action="store_true")
    p.add_argument(
        "--beam-mb",
        type=float,
        nargs=2,
        default=None,
        help="Two text sizes (MB) for the Beam preparation rate.",
    )
    p.add_argument("--json", default=None, help="Write the figures here.")
    p.add_argument(
        "--part", choices=("pipeline", "student"), help=argparse.SUPPRESS
    )
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    if args.part:
        print(json.dumps(_part(args)))
        return 0
    work = pathlib.Path(args.work)
    figures = {"load_average": os.getloadavg()}
    need_corpus = not (args.skip_pipeline and args.skip_student)
    if need_corpus and not args.corpus:
        args.corpus = str(work / "corpus")
        if not (work / "corpus" / "manifest.json").exists():
            text = work / "text.txt"
            size = write_text(shared_documents(args.data), text)
            manifest, seconds = build_corpus(
                [text], args.corpus, args.num_shards
            )
            print(
                f"built {args.corpus}: {size / 1e6:.1f} MB, "
                f"{manifest['sentences']:,} sentences, {seconds:.0f} s"
            )
    if not args.skip_pipeline:
        figures["pipeline"] = _run_part("pipeline", args)
    if not args.skip_student:
        figures["student"] = _run_part("student", args)
    if args.beam_mb:
        figures["beam"] = beam_rate(
            shared_documents(args.data), work / "beam", args.beam_mb
        )
    figures["load_average_after"] = os.getloadavg()
    print(
        report(
            figures.get("pipeline"), figures.get("student"), figures.get("beam")
        )
    )
    print(
        f"load average before {figures['load_average']}, after "
        f"{figures['load_average_after']}"
    )
    if args.json:
        _write_atomically(args.json, json.dumps(figures, indent=1).encode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
