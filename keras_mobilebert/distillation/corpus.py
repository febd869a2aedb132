"""Text files -> sharded TFRecords of tokenized documents, with Apache Beam.

`prepare_corpus` is the pipeline behind `keras-mobilebert prepare-corpus`;
`corpus_data.py` streams its output into `distill --corpus`. The input
format is `read_documents`'s (one sentence per line, a blank line between
documents), plain or `.gz`.

The inputs are local paths, glob patterns or URLs of any file system
Beam has (`gs://` with `apache-beam[gcp]`, `s3://` with
`apache-beam[aws]`, `hdfs://`), matched and opened through Beam's
`FileSystems`, so the Dataflow workers read a bucket directly;
compression follows the extension (`.gz`, `.bz2`, ...).

The pipeline reads each file whole in one element (`Create(paths) |
FlatMap(file_documents)`): documents span lines, so Beam's line-splitting
`ReadFromText` cannot find their ends, and splitting a file by byte ranges
would need a second pass to mend documents cut at the range borders. One
file per element keeps a file's reading on one worker, which is cheap (I/O
only); the `Reshuffle` after it spreads the documents over all workers for
the tokenization, which is where the time goes. Corpora that come as many
files (Wikipedia and BooksCorpus dumps do) are read in parallel too.

Each record is one document as a `tf.train.Example`:
- `token_ids`: the WordPiece ids of its sentences, concatenated;
- `sentence_lengths`: the number of ids of each sentence;
- `split_points`: for each sentence, the number of ids of its first half
  of whitespace words (`max(1, words // 2)` words, `sentence_pair_table`'s
  rule for one-line documents), so the reader splits a one-sentence
  document exactly where the in-memory path does.

The sentences are tokenized with `MobileBertTokenizer` over the
bert-base-uncased vocabulary, as `distill` does. `manifest.json` (shard
names, their document and sentence counts, the vocabulary's SHA-256 and
the tokenizer settings) is written last and atomically: a folder without
it is not a corpus.
"""

import glob
import hashlib
import json
import os
import pathlib
import shutil
import uuid

from keras_mobilebert.utils.errors import InputFormatError
from keras_mobilebert.utils.errors import MissingDependencyError
from keras_mobilebert.utils.errors import MissingInputError
from keras_mobilebert.utils.errors import UnreachableSourceError
from keras_mobilebert.utils.files import atomic_path

MANIFEST = "manifest.json"
SHARD_PREFIX = "documents"
FORMAT_VERSION = 1
INSTALL_HINT = 'pip install "keras-mobilebert[corpus]"'
# The DirectRunner's defaults: worker processes, not threads (tokenizing
# holds the GIL), two of them (a laptop-sized default; raise it with
# --direct_num_workers).
DEFAULT_BEAM_OPTIONS = (
    "--direct_running_mode=multi_processing",
    "--direct_num_workers=2",
)


def _import_beam():
    try:
        import apache_beam
    except ImportError as error:
        raise MissingDependencyError(
            f"prepare-corpus needs Apache Beam: {INSTALL_HINT}"
        ) from error
    return apache_beam


def file_documents(path):
    """Yield the documents of one text file as line lists.

    The same rules as `data.read_documents`: lines stripped, blank lines
    separate documents, empty documents dropped. The file is opened with
    Beam's `FileSystems` (a local path or any URL Beam reads; compression
    from the extension), so this needs Apache Beam.

    Args:
        path: a file path or URL, e.g. `gs://bucket/wiki_00.txt.gz`.

    Example:
    ```python
    documents = list(file_documents("wiki_00.txt.gz"))
    ```
    """
    from apache_beam.io.filesystems import FileSystems

    current = []
    with FileSystems.open(str(path)) as f:
        # Beam's decompressing reader is not an `io` object that
        # `TextIOWrapper` takes, but it reads lines.
        for number, raw in enumerate(iter(f.readline, b""), 1):
            try:
                line = raw.decode("utf-8").strip()
            except UnicodeDecodeError:
                raise InputFormatError(
                    f"{path}, line {number}: not UTF-8 text."
                ) from None
            if line:
                current.append(line)
            elif current:
                yield current
                current = []
    if current:
        yield current


def _is_pattern(path):
    return "://" in str(path) or glob.has_magic(str(path))


def match_inputs(paths):
    """The files `paths` name: globs and URLs expanded with Beam.

    A plain local path stays as it is (checked before Beam is imported);
    a glob pattern or a URL (`gs://...`) goes through Beam's
    `FileSystems.match`, in sorted order.

    Args:
        paths: the command's text arguments.

    Example:
    ```python
    match_inputs(["gs://bucket/wiki/*.txt.gz"])
    ```
    """
    from apache_beam.io.filesystem import BeamIOError
    from apache_beam.io.filesystems import FileSystems

    files = []
    for path in paths:
        if not _is_pattern(path):
            files.append(str(path))
            continue
        try:
            (result,) = FileSystems.match([str(path)])
        except (BeamIOError, ValueError) as error:
            # Beam wraps the file system's own error (a missing client
            # package, no credentials) per path.
            details = getattr(error, "exception_details", None) or {}
            reason = details.get(str(path), error)
            raise UnreachableSourceError(
                f"Cannot list {path}: {reason} (for gs:// install "
                '"apache-beam[gcp]", for s3:// "apache-beam[aws]").'
            ) from None
        matched = sorted(m.path for m in result.metadata_list)
        if not matched:
            raise MissingInputError(f"No text file matches {path}.")
        files.extend(matched)
    return files


def vocabulary_sha256(path):
    """SHA-256 of a vocabulary file's bytes (the manifest's check).

    Example:
    ```python
    vocabulary_sha256(bert_uncased_vocabulary())
    ```
    """
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


class TokenizeDocuments:
    """Line lists -> serialized `tf.train.Example` records.

    Beam pickles this object (without a tokenizer) to its workers; each
    builds its tokenizer at its first document, so TensorFlow is never
    pickled and the object needs no Beam import.

    Args:
        vocabulary: path of the WordPiece vocabulary.
        lowercase: bool. The tokenizer's `lowercase`.

    Example:
    ```python
    records = beam_documents | beam.BatchElements() | beam.FlatMap(
        TokenizeDocuments(vocabulary).process_batch)
    ```
    """

    def __init__(self, vocabulary, lowercase=True):
        self.vocabulary = str(vocabulary)
        self.lowercase = lowercase
        self.tokenizer = None

    def setup(self):
        from keras_mobilebert.models.mobilebert import MobileBertTokenizer

        self.tokenizer = MobileBertTokenizer(
            vocabulary=self.vocabulary, lowercase=self.lowercase
        )

    def process(self, lines):
        """One document's record (bytes)."""
        yield from self.process_batch([lines])

    def process_batch(self, documents):
        """The records of several documents (one tokenizer call for all).

        Per-document calls spent most of `prepare-corpus`'s time in the
        tokenizer's fixed cost; the ids of each line do not depend on the
        other lines of a call.
        """
        import tensorflow as tf

        if self.tokenizer is None:
            self.setup()
        lines = [line for document in documents for line in document]
        halves = []
        for line in lines:
            words = line.split()
            halves.append(" ".join(words[: max(1, len(words) // 2)]))
        ids = self.tokenizer(lines + halves)
        # KerasHub returns Python lists for list input in eager mode.
        if hasattr(ids, "to_list"):
            ids = ids.to_list()
        ids = [[int(i) for i in sentence] for sentence in ids]

        def int64s(values):
            return tf.train.Feature(int64_list=tf.train.Int64List(value=values))

        start = 0
        for document in documents:
            end = start + len(document)
            sentences = ids[start:end]
            firsts = ids[len(lines) + start : len(lines) + end]
            start = end
            example = tf.train.Example(
                features=tf.train.Features(
                    feature={
                        "token_ids": int64s([i for s in sentences for i in s]),
                        "sentence_lengths": int64s([len(s) for s in sentences]),
                        "split_points": int64s([len(f) for f in firsts]),
                    }
                )
            )
            yield example.SerializeToString()


def _check_inputs(paths, output_dir):
    paths = [str(p) for p in paths]
    if not paths:
        raise InputFormatError("prepare-corpus needs at least one text file.")
    for path in paths:
        # Patterns and URLs are matched once Beam is imported.
        if not _is_pattern(path) and not pathlib.Path(path).is_file():
            raise MissingInputError(f"Text file {path} does not exist.")
    output_dir = pathlib.Path(output_dir)
    if (output_dir / MANIFEST).exists():
        raise InputFormatError(
            f"{output_dir} already holds a corpus ({MANIFEST}); "
            "choose another --output folder or remove it."
        )
    return paths, output_dir


def shard_counts(shard_paths):
    """`[(documents, sentences)]` per shard, read back with tf.data.

    Example:
    ```python
    shard_counts(["corpus/documents-00000-of-00002.tfrecord"])
    ```
    """
    import tensorflow as tf

    counts = []
    for path in shard_paths:
        lengths = tf.data.TFRecordDataset(str(path)).map(
            lambda record: tf.size(
                tf.io.parse_single_example(
                    record,
                    {"sentence_lengths": tf.io.VarLenFeature(tf.int64)},
                )["sentence_lengths"].values
            )
        )
        documents = sentences = 0
        for n in lengths.as_numpy_iterator():
            documents += 1
            sentences += int(n)
        counts.append((documents, sentences))
    return counts


def prepare_corpus(
    paths, output_dir, num_shards=8, beam_args=(), vocabulary=None
):
    """Tokenize text files into sharded TFRecords with a Beam pipeline.

    Runs on the DirectRunner with two worker processes unless `beam_args`
    say otherwise: any Beam pipeline option passes through, e.g.
    `["--runner=DataflowRunner", "--project=p", "--region=r",
    "--temp_location=gs://b/tmp"]`; the output folder must then be one
    the workers can write (`gs://...` is not read back here: the counts
    and the manifest are written by this process, which must see it).

    Args:
        paths: text files (one sentence per line, a blank line between
            documents; `.gz` too): local paths, glob patterns or URLs
            Beam reads (`gs://bucket/wiki/*.txt.gz`; see `match_inputs`).
        output_dir: the corpus folder; must not hold a corpus already.
        num_shards: int. Number of shard files (at least the number of
            workers that will read them: each reads whole shards).
        beam_args: list of Beam pipeline options (`--flag=value`).
        vocabulary: WordPiece vocabulary path; None is bert-base-uncased,
            `distill`'s.

    Returns:
        The manifest, a dict.

    Example:
    ```python
    manifest = prepare_corpus(["wiki_00.txt.gz"], "corpus", num_shards=4)
    ```
    """
    paths, output_dir = _check_inputs(paths, output_dir)
    if num_shards < 1:
        raise InputFormatError(f"--num-shards must be >= 1; got {num_shards}.")
    beam = _import_beam()
    from apache_beam.options.pipeline_options import PipelineOptions

    paths = match_inputs(paths)

    from keras_mobilebert.data import bert_uncased_vocabulary

    vocabulary = str(vocabulary or bert_uncased_vocabulary(quiet=True))
    created = not output_dir.exists()
    output_dir.mkdir(parents=True, exist_ok=True)
    staging = output_dir / f".incomplete-{uuid.uuid4().hex[:8]}"
    given = {arg.split("=")[0] for arg in beam_args}
    options = [a for a in DEFAULT_BEAM_OPTIONS if a.split("=")[0] not in given]
    options = PipelineOptions(options + list(beam_args))
    try:
        with beam.Pipeline(options=options) as pipeline:
            _ = (
                pipeline
                | "Files" >> beam.Create(paths)
                | "Documents" >> beam.FlatMap(file_documents)
                | "Spread" >> beam.Reshuffle()
                # Up to 256 documents a tokenizer call (Beam sizes the
                # batches by time).
                | "Batch" >> beam.BatchElements(max_batch_size=256)
                | "Tokenize"
                >> beam.FlatMap(TokenizeDocuments(vocabulary).process_batch)
                | "Write"
                >> beam.io.WriteToTFRecord(
                    str(staging / SHARD_PREFIX),
                    file_name_suffix=".tfrecord",
                    num_shards=num_shards,
                )
            )
        shards = sorted(staging.glob(f"{SHARD_PREFIX}-*.tfrecord"))
        counts = shard_counts(shards)
        if sum(d for d, _ in counts) == 0:
            raise InputFormatError(
                f"No text in {', '.join(str(p) for p in paths)}."
            )
        for shard in shards:
            os.replace(shard, output_dir / shard.name)
    except BaseException:
        # Nothing half-written: a folder this run made goes too.
        shutil.rmtree(staging, ignore_errors=True)
        if created:
            shutil.rmtree(output_dir, ignore_errors=True)
        raise
    shutil.rmtree(staging, ignore_errors=True)
    return write_manifest(
        output_dir, [s.name for s in shards], counts, paths, vocabulary
    )


def write_manifest(output_dir, shard_files, counts, sources, vocabulary):
    """Write `manifest.json` last and atomically; return it.

    Args:
        output_dir: the corpus folder, holding the shards.
        shard_files: the shards' file names, in order.
        counts: `shard_counts`' list for them.
        sources: the text files they came from.
        vocabulary: the WordPiece vocabulary path they were tokenized with.

    Example:
    ```python
    write_manifest("corpus", names, shard_counts(paths), ["a.txt"], vocab)
    ```
    """
    manifest = {
        "format_version": FORMAT_VERSION,
        "shards": [
            {"file": name, "documents": d, "sentences": s}
            for name, (d, s) in zip(shard_files, counts)
        ],
        "documents": sum(d for d, _ in counts),
        "sentences": sum(s for _, s in counts),
        "sources": [str(p) for p in sources],
        "tokenizer": {
            "class": "MobileBertTokenizer",
            "lowercase": True,
            "vocabulary_sha256": vocabulary_sha256(vocabulary),
        },
    }
    with atomic_path(pathlib.Path(output_dir) / MANIFEST) as tmp:
        tmp.write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def read_manifest(corpus_dir):
    """The manifest of a `prepare_corpus` folder, checked.

    Args:
        corpus_dir: the folder `prepare-corpus --output` wrote.

    Example:
    ```python
    manifest = read_manifest("corpus")
    ```
    """
    corpus_dir = pathlib.Path(corpus_dir)
    path = corpus_dir / MANIFEST
    if not path.is_file():
        raise MissingInputError(
            f"{corpus_dir} is not a corpus: it has no {MANIFEST} "
            "(make one with `keras-mobilebert prepare-corpus`)."
        )
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise InputFormatError(f"{path}: not JSON ({error}).") from None
    if manifest.get("format_version") != FORMAT_VERSION:
        raise InputFormatError(
            f"{path}: format_version {manifest.get('format_version')!r}, "
            f"expected {FORMAT_VERSION}."
        )
    for shard in manifest["shards"]:
        if not (corpus_dir / shard["file"]).is_file():
            raise MissingInputError(
                f"{path} lists shard {shard['file']}, which is missing."
            )
    return manifest
