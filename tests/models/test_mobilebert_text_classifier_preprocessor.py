import tensorflow as tf
from keras_hub.src.tests.test_case import TestCase

from keras_mobilebert import MobileBertTextClassifierPreprocessor
from keras_mobilebert import MobileBertTokenizer
from tests.models.helpers import VOCAB


class MobileBertTextClassifierPreprocessorTest(TestCase):
    def setUp(self):
        self.tokenizer = MobileBertTokenizer(vocabulary=VOCAB, lowercase=True)
        self.init_kwargs = {"tokenizer": self.tokenizer, "sequence_length": 8}
        self.input_data = (["The quick brown fox."], [1], [1.0])

    def test_preprocessor_basics(self):
        self.run_preprocessor_test(
            cls=MobileBertTextClassifierPreprocessor,
            init_kwargs=self.init_kwargs,
            input_data=self.input_data,
            expected_output=(
                {
                    "token_ids": [[2, 5, 6, 7, 8, 16, 3, 0]],
                    "segment_ids": [[0, 0, 0, 0, 0, 0, 0, 0]],
                    "padding_mask": [[1, 1, 1, 1, 1, 1, 1, 0]],
                },
                [1],
                [1.0],
            ),
        )

    def test_default_sequence_length_is_128(self):
        preprocessor = MobileBertTextClassifierPreprocessor(self.tokenizer)
        self.assertEqual(preprocessor.sequence_length, 128)
        out = preprocessor(["the fox"])
        self.assertEqual(out["token_ids"].shape, (1, 128))

    def test_sentence_pairs_and_truncation(self):
        preprocessor = MobileBertTextClassifierPreprocessor(
            self.tokenizer, sequence_length=8
        )
        first = tf.constant(["the quick brown fox jumped"])
        second = tf.constant(["a great film"])
        out = preprocessor(x=(first, second))
        # [CLS] a.. [SEP] b.. [SEP], truncated round robin to 8.
        self.assertAllEqual(out["token_ids"], [[2, 5, 6, 7, 3, 10, 11, 3]])
        self.assertAllEqual(out["segment_ids"], [[0, 0, 0, 0, 0, 1, 1, 1]])

    def test_empty_string_names_the_problem(self):
        preprocessor = MobileBertTextClassifierPreprocessor(**self.init_kwargs)
        with self.assertRaisesRegex(ValueError, "input 1 is empty"):
            preprocessor(["the fox", "   "])
        ds = tf.data.Dataset.from_tensor_slices(["the fox", ""]).batch(2)
        with self.assertRaisesRegex(
            tf.errors.InvalidArgumentError, "empty or only whitespace"
        ):
            list(ds.map(preprocessor))
