"""The `keras-mobilebert prepare-corpus` subcommand.

Tokenize text files (one sentence per line, a blank line between
documents; `.gz` too) into sharded TFRecords of documents with an Apache
Beam pipeline, for `distill --corpus`. Needs the `corpus` extra
(`pip install "keras-mobilebert[corpus]"`). It runs on Beam's
DirectRunner with two worker processes unless Beam options given after
the command's own say otherwise: any option this command does not know
goes to Beam, written `--flag=value` (a value after a space would be
taken for a text file), e.g. `--direct_num_workers=8` or
`--runner=DataflowRunner --project=P --region=R
--temp_location=gs://B/tmp` (see docs/distributed.md).

Example:
```
keras-mobilebert prepare-corpus wiki_00.txt.gz wiki_01.txt.gz \
    --output corpus --num-shards 16
```
"""

import json


def register(subparsers):
    """Add the `prepare-corpus` subparser to a `keras-mobilebert` CLI.

    Args:
        subparsers: the object `ArgumentParser.add_subparsers()` returns.

    Example:
    ```python
    parser = argparse.ArgumentParser(prog="keras-mobilebert")
    register(parser.add_subparsers(dest="command"))
    ```
    """
    parser = subparsers.add_parser(
        "prepare-corpus",
        help="Text files to sharded TFRecords for distill --corpus "
        "(Apache Beam; the corpus extra).",
        description=__doc__.split("\n\n")[1],
    )
    parser.add_argument(
        "text",
        nargs="+",
        help="Text files: one sentence per line, a blank line between "
        "documents; .gz files are read through gzip. Quoted glob "
        "patterns and URLs Beam reads (gs://bucket/wiki/*.txt.gz with "
        "apache-beam[gcp]) are matched by Beam.",
    )
    parser.add_argument(
        "--output", required=True, help="The corpus folder to write."
    )
    parser.add_argument(
        "--num-shards",
        type=int,
        default=8,
        help="Shard files (at least the number of workers that will read "
        "the corpus; each reads whole shards).",
    )
    parser.set_defaults(func=run, pass_unknown_options=True)
    return parser


def run(args):
    """Run `prepare-corpus` with parsed `args`; print and return the
    manifest.

    Example:
    ```python
    run(parser.parse_args(["prepare-corpus", "a.txt", "--output", "c"]))
    ```
    """
    from keras_mobilebert.distillation.corpus import prepare_corpus

    manifest = prepare_corpus(
        args.text,
        args.output,
        num_shards=args.num_shards,
        beam_args=getattr(args, "unknown_options", []),
    )
    print(
        json.dumps(
            {
                key: manifest[key]
                for key in ("documents", "sentences", "shards")
            },
            indent=1,
        )
    )
    return manifest
