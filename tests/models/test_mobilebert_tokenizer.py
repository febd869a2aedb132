import numpy as np
import tensorflow as tf
from keras_hub.src.tests.test_case import TestCase

from keras_mobilebert import MobileBertTokenizer
from tests.models.helpers import VOCAB


class MobileBertTokenizerTest(TestCase):
    def setUp(self):
        self.init_kwargs = {"vocabulary": VOCAB, "lowercase": True}
        self.input_data = ["The quick brown fox.", "the FOX jumped!"]

    def test_tokenizer_basics(self):
        self.run_preprocessing_layer_test(
            cls=MobileBertTokenizer,
            init_kwargs=self.init_kwargs,
            input_data=self.input_data,
            expected_output=[[5, 6, 7, 8, 16], [5, 8, 9, 17]],
            # Lowercased, punctuation split off.
            expected_detokenize_output=[
                "the quick brown fox .",
                "the fox jumped !",
            ],
        )

    def test_lowercase_is_a_setting(self):
        cased = MobileBertTokenizer(vocabulary=VOCAB, lowercase=False)
        self.assertAllEqual(cased("The fox"), [1, 8])  # "The" is unknown.

    def test_special_tokens(self):
        tokenizer = MobileBertTokenizer(**self.init_kwargs)
        self.assertEqual(tokenizer.cls_token_id, 2)
        self.assertEqual(tokenizer.sep_token_id, 3)
        self.assertEqual(tokenizer.pad_token_id, 0)
        self.assertEqual(tokenizer.mask_token_id, 4)

    def test_missing_special_token(self):
        with self.assertRaisesRegex(ValueError, "\\[MASK\\]"):
            MobileBertTokenizer(vocabulary=[t for t in VOCAB if t != "[MASK]"])

    def test_non_utf8_input_names_the_problem(self):
        tokenizer = MobileBertTokenizer(**self.init_kwargs)
        with self.assertRaisesRegex(ValueError, "input 1 is not valid UTF-8"):
            tokenizer(["fine", b"caf\xe9"])
        with self.assertRaisesRegex(
            tf.errors.InvalidArgumentError, "not valid UTF-8"
        ):
            tokenizer(tf.constant([b"ok", b"\xff\xfe"]))
        ds = tf.data.Dataset.from_tensor_slices([b"\xff"]).map(tokenizer)
        with self.assertRaisesRegex(
            tf.errors.InvalidArgumentError, "not valid UTF-8"
        ):
            list(ds)
        # Valid non-ASCII text passes.
        tokenizer(["café", "naïve"])

    def test_builtin_preset_uses_the_real_uncased_vocabulary(self):
        tokenizer = MobileBertTokenizer.from_preset("mobilebert_en_uncased")
        self.assertEqual(tokenizer.vocabulary_size(), 30522)
        # bert-base-uncased ids, as in HF's integration test input.
        ids = tokenizer("The quick brown fox")
        self.assertAllEqual(ids, [1996, 4248, 2829, 4419])
        self.assertEqual(tokenizer.id_to_token(101), "[CLS]")
        self.assertEqual(tokenizer.id_to_token(102), "[SEP]")
        self.assertEqual(np.asarray(tokenizer("HELLO")).tolist(), [7592])
