"""`prepare-corpus` through Apache Beam, then `distill --corpus` on it.

Beam is in the `corpus` extra, not in the main test environment:
`.ci/run` runs this file in `.venv-corpus` (".[corpus]" and pytest);
elsewhere it skips and says why.
"""

import bz2
import gzip
import importlib.util
import json

import pytest

pytest.importorskip(
    "apache_beam",
    reason="Apache Beam is not installed (the corpus extra); .ci/run "
    "runs this file in .venv-corpus",
)

import tensorflow as tf  # noqa: E402

from keras_mobilebert.distillation.corpus import file_documents  # noqa: E402
from keras_mobilebert.distillation.corpus import match_inputs  # noqa: E402
from keras_mobilebert.distillation.corpus import read_manifest  # noqa: E402
from keras_mobilebert.utils.errors import InputFormatError  # noqa: E402
from keras_mobilebert.utils.errors import MissingInputError  # noqa: E402
from keras_mobilebert.utils.errors import UnreachableSourceError  # noqa: E402
from keras_mobilebert_cli.main import main  # noqa: E402
from tests.distillation.test_resume import STUDENT  # noqa: E402
from tests.distillation.test_resume import TEACHER  # noqa: E402

PLAIN = (
    "the cat sat on the mat.\nthen it ran away.\nit came back later.\n\n"
    "one line document here.\n\n"
    "a dog barked.\nthe bird sang!\n"
)
GZIPPED = "gzip doc one, line one.\ngzip doc one line two.\n\ngzip doc two.\n"


def test_prepare_corpus_then_distill(tmp_path):
    plain = tmp_path / "a.txt"
    plain.write_text(PLAIN)
    gzipped = tmp_path / "b.txt.gz"
    with gzip.open(gzipped, "wt") as f:
        f.write(GZIPPED)
    corpus = tmp_path / "corpus"
    status = main(
        [
            "prepare-corpus",
            # A quoted glob: Beam matches it (a.txt and b.txt.gz).
            str(tmp_path / "*.txt*"),
            "--output",
            str(corpus),
            "--num-shards",
            "2",
            # A Beam option passed through (the default is 2 processes).
            "--direct_num_workers=1",
        ]
    )
    assert status == 0
    manifest = read_manifest(corpus)
    assert manifest["documents"] == 5
    assert manifest["sentences"] == 9
    assert [s["documents"] for s in manifest["shards"]] != [0, 0]
    assert sorted(p.name for p in corpus.iterdir()) == sorted(
        [s["file"] for s in manifest["shards"]] + ["manifest.json"]
    )
    lengths = []
    for shard in manifest["shards"]:
        for record in tf.data.TFRecordDataset(str(corpus / shard["file"])):
            parsed = tf.io.parse_single_example(
                record, {"sentence_lengths": tf.io.VarLenFeature(tf.int64)}
            )
            lengths.append(len(parsed["sentence_lengths"].values))
    assert sorted(lengths) == [1, 1, 2, 2, 3]
    # A second run into the same folder is refused; nothing changes.
    assert main(["prepare-corpus", str(plain), "--output", str(corpus)]) == 2

    output = tmp_path / "run"
    status = main(
        [
            "distill",
            "--teacher",
            "ib_bert_en_uncased",
            "--teacher-overrides",
            json.dumps(TEACHER),
            "--student-overrides",
            json.dumps(STUDENT),
            "--strategy",
            "progressive",
            "--layer-steps",
            "1",
            "--pretraining-steps",
            "2",
            "--batch-size",
            "4",
            "--sequence-length",
            "16",
            "--max-predictions",
            "3",
            "--corpus",
            str(corpus),
            "--verbose",
            "0",
            "--output-dir",
            str(output),
        ]
    )
    assert status == 0
    assert (
        output / "checkpoints/stage_02_pretraining_distillation.npz"
    ).is_file()


def test_inputs_are_matched_and_opened_through_beam(tmp_path):
    (tmp_path / "b.txt").write_text(PLAIN)
    (tmp_path / "a.txt").write_text(PLAIN)
    with bz2.open(tmp_path / "c.txt.bz2", "wt") as f:
        f.write(GZIPPED)
    with gzip.open(tmp_path / "d.txt.gz", "wt") as f:
        f.write(GZIPPED)
    plain = str(tmp_path / "b.txt")
    # A plain path stays; a pattern expands, sorted.
    assert match_inputs([plain, str(tmp_path / "*.txt*")]) == [plain] + [
        str(tmp_path / n) for n in ("a.txt", "b.txt", "c.txt.bz2", "d.txt.gz")
    ]
    expected = [
        ["gzip doc one, line one.", "gzip doc one line two."],
        ["gzip doc two."],
    ]
    assert list(file_documents(tmp_path / "c.txt.bz2")) == expected
    assert list(file_documents(tmp_path / "d.txt.gz")) == expected
    assert len(list(file_documents(plain))) == 3
    with pytest.raises(MissingInputError, match=r"No text file matches"):
        match_inputs([str(tmp_path / "none*.txt")])
    (tmp_path / "latin1.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    with pytest.raises(InputFormatError, match=r"latin1.txt, line 1"):
        list(file_documents(tmp_path / "latin1.txt"))


def _has_gcp_extra():
    try:
        return importlib.util.find_spec("google.cloud.storage") is not None
    except ModuleNotFoundError:  # no google.cloud package at all
        return False


@pytest.mark.skipif(
    _has_gcp_extra(),
    reason="apache-beam[gcp] is installed: gs:// would be reached",
)
def test_gs_input_without_the_gcp_extra_is_one_line(tmp_path, capsys):
    output = tmp_path / "corpus"
    argv = ["prepare-corpus", "gs://bucket/wiki/*.txt", "--output"]
    assert main(argv + [str(output)]) == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error
    assert "Cannot list gs://bucket/wiki/*.txt" in error
    assert "apache-beam[gcp]" in error
    assert not output.exists()
    with pytest.raises(UnreachableSourceError):
        match_inputs(["gs://bucket/wiki/*.txt"])


def test_benchmark_beam_rate_figures(tmp_path):
    """tools/benchmark_corpus_pipeline.py's Beam part on tiny text (the
    figures' form; one in-process worker keeps it fast)."""
    from tests.test_perf_tools import _load

    bench = _load("benchmark_corpus_pipeline")
    docs = [["the cat sat.", "it ran away."], ["one line here."]] * 20
    one = len(("\n\n".join("\n".join(d) for d in docs) + "\n\n").encode())
    figures = bench.beam_rate(
        docs,
        tmp_path,
        sizes_mb=(one / 1e6, 3 * one / 1e6),
        num_shards=2,
        beam_args=["--direct_running_mode=in_memory", "--direct_num_workers=1"],
    )
    small, big = figures["runs"]
    assert (small["copies"], big["copies"]) == (1, 3)
    assert (small["mb"], big["mb"]) == (one / 1e6, 3 * one / 1e6)
    assert (small["sentences"], big["sentences"]) == (60, 180)
    assert big["documents"] == 120
    for run in (small, big):
        assert run["mb_per_minute"] == pytest.approx(
            run["mb"] / run["seconds"] * 60
        )
    marginal = (big["mb"] - small["mb"]) / (big["seconds"] - small["seconds"])
    assert figures["marginal_mb_per_minute"] == pytest.approx(marginal * 60)
    assert figures["startup_seconds"] == pytest.approx(
        small["seconds"] - small["mb"] / marginal
    )
