"""tools/glue_baselines.py: the TF-IDF row and its missing-extra message."""

import pytest

from keras_mobilebert.data.glue import read_glue_lines
from tools import glue_baselines

TRAIN = ["sentence\tlabel"] + [
    f"{w} film {i}\t{label}"
    for i in range(20)
    for w, label in (("a great", 1), ("a dull", 0))
]
DEV = ["sentence\tlabel", "great film\t1", "dull film\t0"]


def test_tfidf_row_on_a_toy_split():
    pytest.importorskip("sklearn")
    train = read_glue_lines(TRAIN, "sst2", "train")
    dev = read_glue_lines(DEV, "sst2", "validation")
    assert glue_baselines.tfidf_accuracy(train, dev) == (1.0, 40)
    assert glue_baselines.tfidf_accuracy(train, dev, subset=10)[1] == 10
