import keras
import numpy as np
from keras_hub.src.tests.test_case import TestCase

from keras_mobilebert.layers import MobileBertEmbedding
from keras_mobilebert.layers.embedding import trigram
from tests import numpy_reference as ref
from tests.layers.helpers import as_tensors

KWARGS = {
    "vocabulary_size": 20,
    "embedding_dim": 4,
    "hidden_dim": 8,
    "max_sequence_length": 10,
}


def make_inputs():
    return {
        "token_ids": np.array([[3, 5, 7, 0], [1, 2, 19, 4]], dtype="int32"),
        "segment_ids": np.array([[0, 0, 1, 1], [0, 1, 1, 1]], dtype="int32"),
    }


class MobileBertEmbeddingTest(TestCase):
    def test_layer_basics(self):
        self.run_layer_test(
            cls=MobileBertEmbedding,
            init_kwargs=KWARGS,
            input_data=as_tensors(make_inputs()),
            expected_output_shape=(2, 4, 8),
            # word table, transformation kernel + bias, segment table,
            # positions, NoNorm gamma + beta.
            expected_num_trainable_weights=7,
        )

    def test_trigram_order_and_zero_ends(self):
        e = np.arange(1, 7, dtype="float32").reshape(1, 3, 2)
        out = keras.ops.convert_to_numpy(trigram(e))
        # Position 0: next token (e1), itself (e0), previous (zeros).
        np.testing.assert_array_equal(out[0, 0], [3, 4, 1, 2, 0, 0])
        np.testing.assert_array_equal(out[0, 1], [5, 6, 3, 4, 1, 2])
        # Last position: next is zeros.
        np.testing.assert_array_equal(out[0, 2], [0, 0, 5, 6, 3, 4])

    def test_matches_numpy_reference(self):
        for kwargs in (
            KWARGS,
            {**KWARGS, "trigram_input": False},
            {**KWARGS, "normalization": "layer_norm", "dropout": 0.1},
        ):
            layer = MobileBertEmbedding(**kwargs)
            data = make_inputs()
            out = layer(data["token_ids"], data["segment_ids"])
            # Random NoNorm/LayerNorm affine parameters, so they are tested.
            weights = [np.random.randn(*w.shape) for w in layer.get_weights()]
            layer.set_weights(weights)
            out = layer(data["token_ids"], data["segment_ids"])
            expected = ref.embedding(
                layer, data["token_ids"], data["segment_ids"]
            )
            ref.assert_close_to_scale(out, expected, 1e-5, str(kwargs))

    def test_without_trigram_and_equal_widths_skips_projection(self):
        layer = MobileBertEmbedding(
            **{**KWARGS, "embedding_dim": 8, "trigram_input": False}
        )
        data = make_inputs()
        layer(data["token_ids"], data["segment_ids"])
        self.assertFalse(hasattr(layer, "embedding_transformation"))

    def test_out_of_vocabulary_id_names_the_problem(self):
        layer = MobileBertEmbedding(**KWARGS)
        with self.assertRaisesRegex(Exception, "vocabulary_size \\(20\\)"):
            layer(np.array([[1, 20]]), np.zeros((1, 2), "int32"))
        with self.assertRaisesRegex(Exception, "token_ids must be >= 0"):
            layer(np.array([[1, -1]]), np.zeros((1, 2), "int32"))

    def test_too_long_sequence_names_the_problem(self):
        layer = MobileBertEmbedding(**KWARGS)
        ids = np.ones((1, 11), "int32")
        with self.assertRaisesRegex(Exception, "max_sequence_length is 10"):
            layer(ids, np.zeros_like(ids))

    def test_saved_model_round_trip(self):
        ids = keras.Input((None,), dtype="int32")
        segments = keras.Input((None,), dtype="int32")
        layer = MobileBertEmbedding(**KWARGS)
        model = keras.Model([ids, segments], layer(ids, segments))
        path = self.get_temp_dir() + "/model.keras"
        model.save(path)
        restored = keras.models.load_model(path)
        data = make_inputs()
        inputs = [data["token_ids"], data["segment_ids"]]
        self.assertAllClose(restored(inputs), model(inputs))
