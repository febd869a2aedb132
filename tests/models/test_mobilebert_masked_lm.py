import numpy as np
from keras_hub.src.tests.test_case import TestCase

from keras_mobilebert import MobileBertBackbone
from keras_mobilebert import MobileBertMaskedLM
from keras_mobilebert import MobileBertMaskedLMPreprocessor
from keras_mobilebert import MobileBertTokenizer
from tests import numpy_reference as ref
from tests.models.helpers import SMALL_BACKBONE
from tests.models.helpers import SMALL_TEACHER
from tests.models.helpers import VOCAB
from tests.models.helpers import backbone_inputs


def numpy_mlm_logits(head, sequence, positions, activation):
    """GR `get_masked_lm_output`, written from the reference."""
    x = np.take_along_axis(
        np.asarray(sequence, "float64"), positions[..., None], axis=1
    )
    x = ref.dense(head.transform_dense, x, activation)
    x = ref.norm(head.transform_norm, x)
    table = np.concatenate(
        [
            ref.to_numpy(head.token_embedding.embeddings),
            ref.to_numpy(head.extra_output_weights),
        ],
        axis=1,
    )
    return x @ table.T + ref.to_numpy(head.output_bias)


class MobileBertMaskedLMTest(TestCase):
    def setUp(self):
        self.preprocessor = MobileBertMaskedLMPreprocessor(
            MobileBertTokenizer(vocabulary=VOCAB, lowercase=True),
            # Mask every token with [MASK]: deterministic, so the harness can
            # compare predictions across its input paths.
            sequence_length=5,
            mask_selection_length=5,
            mask_selection_rate=1.0,
            mask_token_rate=1.0,
            random_token_rate=0.0,
        )
        self.backbone = MobileBertBackbone(**SMALL_BACKBONE)
        self.init_kwargs = {
            "preprocessor": self.preprocessor,
            "backbone": self.backbone,
        }
        self.train_data = (
            ["the quick brown fox jumped.", "the film was a great film!"],
        )

    def test_masked_lm_basics(self):
        self.run_task_test(
            cls=MobileBertMaskedLM,
            init_kwargs=self.init_kwargs,
            train_data=self.train_data,
            expected_output_shape=(2, 5, len(VOCAB)),
        )

    def test_saved_model(self):
        x = self.preprocessor(*self.train_data)[0]
        self.run_model_saving_test(
            cls=MobileBertMaskedLM, init_kwargs=self.init_kwargs, input_data=x
        )

    def test_head_matches_numpy_and_ties_the_word_table(self):
        for config in (SMALL_BACKBONE, SMALL_TEACHER):
            backbone = MobileBertBackbone(**config)
            model = MobileBertMaskedLM(backbone)
            head = model.masked_lm_head
            data = backbone_inputs(padded=False)
            positions = np.array([[1, 3], [0, 5]], "int32")
            model({**data, "mask_positions": positions})
            for w in head.weights:
                w.assign(np.random.randn(*w.shape).astype("float32"))
            logits = model({**data, "mask_positions": positions})
            sequence = backbone(data)["sequence_output"]
            expected = numpy_mlm_logits(
                head, sequence, positions, config.get("activation", "relu")
            )
            ref.assert_close_to_scale(logits, expected, 1e-5)
            # The output matrix is tied: the word table is the backbone's.
            self.assertIs(
                head.token_embedding.embeddings,
                backbone.token_embedding.embeddings,
            )
            hidden, embedding = config["hidden_dim"], config["embedding_dim"]
            self.assertEqual(
                tuple(head.extra_output_weights.shape),
                (config["vocabulary_size"], hidden - embedding),
            )
