"""A GLUE pair task's records go through the classifier as two segments."""

import keras
import numpy as np
import tensorflow as tf

from keras_mobilebert import MobileBertBackbone
from keras_mobilebert import MobileBertClassifier
from keras_mobilebert import MobileBertTextClassifierPreprocessor
from keras_mobilebert import MobileBertTokenizer
from keras_mobilebert.data.glue import load_glue
from tests.models.helpers import SMALL_BACKBONE
from tests.models.helpers import VOCAB

RTE_DEV = (
    "index\tsentence1\tsentence2\tlabel\n"
    "0\tThe quick fox jumped.\tA fox jumped.\tentailment\n"
    "1\tThe brown movie was dull!\tThe film was great.\tnot_entailment\n"
)


def test_pair_records_pack_as_cls_a_sep_b_sep(tmp_path):
    path = tmp_path / "dev.tsv"
    path.write_text(RTE_DEV, encoding="utf-8")
    split = load_glue("rte", "validation", path)
    tokenizer = MobileBertTokenizer(vocabulary=VOCAB, lowercase=True)
    preprocessor = MobileBertTextClassifierPreprocessor(
        tokenizer, sequence_length=12
    )
    # KerasHub takes the pair as `x=(first, second)`.
    out = preprocessor(x=split.features)
    ids = {token: i for i, token in enumerate(VOCAB)}

    def pieces(*tokens):
        return [ids[t] for t in tokens]

    first = pieces("[CLS]", "the", "quick", "fox", "jumped", ".", "[SEP]")
    first += pieces("a", "fox", "jumped", ".", "[SEP]")
    np.testing.assert_array_equal(out["token_ids"][0], first)
    np.testing.assert_array_equal(out["segment_ids"][0], [0] * 7 + [1] * 5)
    # 6 + 5 word pieces do not fit in 12 - 3: round-robin truncation
    # takes from each segment in turn, 5 from the first and 4 from the
    # second ("!" and "." are dropped).
    second = pieces("[CLS]", "the", "brown", "movie", "was", "dull")
    second += pieces("[SEP]", "the", "film", "was", "great", "[SEP]")
    np.testing.assert_array_equal(out["token_ids"][1], second)
    np.testing.assert_array_equal(out["segment_ids"][1], [0] * 7 + [1] * 5)
    np.testing.assert_array_equal(out["padding_mask"], np.ones((2, 12)))

    # The same records train a classifier through tf.data.
    keras.utils.set_random_seed(0)
    classifier = MobileBertClassifier(
        MobileBertBackbone(**SMALL_BACKBONE), num_classes=2
    )
    classifier.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    data = (
        tf.data.Dataset.from_tensor_slices((split.features, split.labels))
        .batch(2)
        .map(preprocessor)
    )
    history = classifier.fit(data, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    logits = classifier.predict(data, verbose=0)
    assert logits.shape == (2, 2)
