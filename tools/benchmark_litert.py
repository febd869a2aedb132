"""Side-by-side LiteRT benchmark: MobileBERT, TINY and BERT-base.

    python tools/benchmark_litert.py --threads 2 --output runs/benchmark

The same as `keras-mobilebert benchmark`; see
`keras_mobilebert/export/benchmark.py`. Prints a table and writes
benchmark.csv, benchmark.md and benchmark.png to the output directory.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from keras_mobilebert_cli.benchmark import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
