"""`distill` on a cluster of two real worker processes on loopback.

One large test, four cluster runs of a tiny teacher and student (about 4
minutes on a busy 2-core machine; every process has a bounded wait and is
killed in a `finally`):

1. one plain process and a two-worker `multi_worker_mirrored` run of the
   same global batches end with the same student (tolerance below), and
   only the chief writes files;
2. worker 1 killed with SIGKILL after global step 7: the chief stops
   within the cluster timeout with one line naming worker 1; both started
   again, the run resumes from the checkpoint at step 6 and ends where the
   uninterrupted two-worker run ends;
3. a worker that never starts: the chief stops with one line naming it.

Tolerance. Both runs see the same global batches (the per-stage losses
agree to 1e-5), but the two workers' gradients are summed by an
all-reduce in another order than one process sums its batch. Adam's
update is about `lr * sign(gradient)` at first, so a gradient within
rounding of zero can move its weight by up to about `2 * lr` per step the
other way. In these tiny models the attention query and key kernels get
such gradients (attention is near uniform), and their weights differ by up
to a few learning rates (measured: 5.5 lr at most), while 99% of all
weights agree within 0.002 lr. So: every weight within `2 * lr * steps`
and 99% of them within `0.01 * lr`.
"""

import json
import time

import numpy as np
import pytest

from keras_mobilebert.distillation.checkpoints import load_npz
from keras_mobilebert.distillation.fault_injection import KILL_ENV
from tests.distillation.test_resume import STUDENT
from tests.distillation.test_resume import TEACHER
from tests.multi_worker import assert_weights_match
from tests.multi_worker import run_cluster
from tests.multi_worker import written_files as files

LEARNING_RATE = 1e-3
STEPS = 10
FINAL = "checkpoints/stage_02_pretraining_distillation.npz"


def distill_args(output_dir, text, distribute="multi_worker_mirrored"):
    return [
        "distill",
        "--teacher",
        "ib_bert_en_uncased",
        "--teacher-overrides",
        json.dumps(TEACHER),
        "--student-overrides",
        json.dumps(STUDENT),
        "--strategy",
        "progressive",
        # layer_1: steps 0-4, layer_2: 4-8, pre-training: 8-10.
        "--layer-steps",
        "4",
        "--pretraining-steps",
        "2",
        "--checkpoint-every",
        "2",
        "--batch-size",
        "4",
        "--sequence-length",
        "16",
        "--max-predictions",
        "3",
        "--optimizer",
        "adam",
        "--learning-rate",
        str(LEARNING_RATE),
        "--seed",
        "0",
        "--text",
        str(text),
        "--distribute",
        distribute,
        "--cluster-timeout",
        "60",
        "--verbose",
        "0",
        "--output-dir",
        str(output_dir),
    ]


def student(output_dir):
    arrays, _ = load_npz(output_dir / FINAL)
    return {k: v for k, v in arrays.items() if k.startswith("student/")}


def losses(output_dir):
    lines = (output_dir / "losses.csv").read_text().splitlines()
    header = lines[0].split(",")
    column = header.index("loss")
    return [float(line.split(",")[column]) for line in lines[1:]]


def assert_same_student(a, b):
    assert_weights_match(student(a), student(b), LEARNING_RATE, STEPS, 0.01)
    np.testing.assert_allclose(losses(a), losses(b), rtol=1e-5)


@pytest.mark.large
def test_two_workers_match_one_process_and_survive_a_killed_worker(
    tmp_path,
):
    text = tmp_path / "corpus.txt"
    text.write_text(
        "the film is a joy .\nit moves along briskly .\n\n"
        "a dull , lifeless script .\nnothing works here .\n\n"
        "great acting from everyone .\nthe ending is perfect .\n"
    )
    single = tmp_path / "single"
    codes, logs = run_cluster(
        distill_args(single, text, "none"), 0, tmp_path, "single"
    )
    assert codes == [0], logs[0][-3000:]

    straight = tmp_path / "straight"
    codes, logs = run_cluster(
        distill_args(straight, text), 2, tmp_path, "straight"
    )
    assert codes == [0, 0], logs[0][-3000:] + logs[1][-3000:]
    assert_same_student(single, straight)
    # Only the chief writes, and exactly what one process writes.
    assert files(straight) == files(single)
    assert all('"resumed_from": null' in log for log in logs)

    # Worker 1 dies after step 7 (the checkpoint is at step 6); the chief
    # stops by itself, with one line naming it.
    resumed = tmp_path / "resumed"
    begin = time.monotonic()
    codes, logs = run_cluster(
        distill_args(resumed, text),
        2,
        tmp_path,
        "killed",
        extra_env={1: {KILL_ENV: "7"}},
    )
    assert codes[1] == -9, logs[1][-3000:]
    assert codes[0] not in (0, None), logs[0][-3000:]
    last = logs[0].strip().splitlines()[-1]
    assert "worker 1" in last and "stopped responding" in last, last
    assert time.monotonic() - begin < 400
    _, meta = load_npz(resumed / "checkpoints" / "progress.npz")
    assert meta["global_step"] == 6
    codes, logs = run_cluster(
        distill_args(resumed, text), 2, tmp_path, "resumed"
    )
    assert codes == [0, 0], logs[0][-3000:] + logs[1][-3000:]
    assert all('"resumed_from": 6' in log for log in logs)
    assert_same_student(straight, resumed)
    assert files(resumed) == files(single)

    # A worker that never starts: the chief gives up, naming it.
    lonely = tmp_path / "lonely"
    begin = time.monotonic()
    argv = distill_args(lonely, text)
    argv[argv.index("--cluster-timeout") + 1] = "5"
    from tests.multi_worker import free_ports
    from tests.multi_worker import start
    from tests.multi_worker import wait_all
    from tests.multi_worker import worker_env

    ports = free_ports(2)
    chief = start(argv, worker_env(ports, 0), tmp_path / "lonely.log")
    (code,) = wait_all([chief], 300)
    log = (tmp_path / "lonely.log").read_text()
    assert code not in (0, None), log[-3000:]
    last = log.strip().splitlines()[-1]
    assert f"worker 1 (127.0.0.1:{ports[1]}) did not join" in last, last
    assert time.monotonic() - begin < 300


@pytest.mark.large
def test_two_workers_stream_a_corpus(tmp_path):
    """`distill --corpus` on a two-worker cluster: each worker builds its
    dataset from its input context (the shard split itself is counted in
    tests/distillation/test_corpus_data.py) and the run completes with the
    chief's outputs only."""
    from tests.distillation.test_corpus_data import documents
    from tests.distillation.test_corpus_data import write_corpus

    corpus = write_corpus(tmp_path / "corpus", documents(40), 4)
    args = distill_args(tmp_path / "run", "unused")
    at = args.index("--text")
    args[at : at + 2] = ["--corpus", str(corpus)]
    codes, logs = run_cluster(args, 2, tmp_path, "corpus")
    assert codes == [0, 0], logs[0][-3000:] + logs[1][-3000:]
    assert (tmp_path / "run" / FINAL).is_file()
    assert '"pretraining_distillation"' in logs[0]
