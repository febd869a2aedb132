from keras_hub.src.tests.test_case import TestCase

from keras_mobilebert import MobileBertMaskedLMPreprocessor
from keras_mobilebert import MobileBertTokenizer
from tests.models.helpers import VOCAB


class MobileBertMaskedLMPreprocessorTest(TestCase):
    def setUp(self):
        self.tokenizer = MobileBertTokenizer(vocabulary=VOCAB, lowercase=True)
        self.init_kwargs = {
            "tokenizer": self.tokenizer,
            # Mask every selectable token, always with [MASK]: deterministic.
            "mask_selection_rate": 1.0,
            "mask_token_rate": 1.0,
            "random_token_rate": 0.0,
            "mask_selection_length": 4,
            "sequence_length": 8,
        }
        self.input_data = ["the quick brown fox"]

    def test_preprocessor_basics(self):
        self.run_preprocessor_test(
            cls=MobileBertMaskedLMPreprocessor,
            init_kwargs=self.init_kwargs,
            input_data=self.input_data,
            expected_output=(
                {
                    "token_ids": [[2, 4, 4, 4, 4, 3, 0, 0]],
                    "segment_ids": [[0, 0, 0, 0, 0, 0, 0, 0]],
                    "padding_mask": [[1, 1, 1, 1, 1, 1, 0, 0]],
                    "mask_positions": [[1, 2, 3, 4]],
                },
                [[5, 6, 7, 8]],
                [[1.0, 1.0, 1.0, 1.0]],
            ),
        )

    def test_bert_masking_defaults(self):
        preprocessor = MobileBertMaskedLMPreprocessor(self.tokenizer)
        self.assertEqual(preprocessor.mask_selection_rate, 0.15)
        self.assertEqual(preprocessor.mask_token_rate, 0.8)
        self.assertEqual(preprocessor.random_token_rate, 0.1)
        self.assertEqual(preprocessor.sequence_length, 128)

    def test_special_tokens_are_never_masked(self):
        preprocessor = MobileBertMaskedLMPreprocessor(**self.init_kwargs)
        x, y, _ = preprocessor(["the fox"])
        token_ids = x["token_ids"].numpy()[0]
        self.assertEqual(token_ids[0], self.tokenizer.cls_token_id)
        self.assertEqual(token_ids[3], self.tokenizer.sep_token_id)
