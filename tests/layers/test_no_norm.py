import keras
import numpy as np
from keras_hub.src.tests.test_case import TestCase

from keras_mobilebert.layers import NoNorm
from keras_mobilebert.layers.no_norm import make_normalization


class NoNormTest(TestCase):
    def test_layer_basics(self):
        self.run_layer_test(
            cls=NoNorm,
            init_kwargs={},
            input_data=keras.ops.convert_to_tensor(
                np.random.rand(2, 3, 4).astype("float32")
            ),
            expected_output_shape=(2, 3, 4),
            expected_num_trainable_weights=2,
        )

    def test_starts_as_identity(self):
        x = np.random.randn(2, 5, 6).astype("float32")
        self.assertAllClose(NoNorm()(x), x)

    def test_math_matches_numpy(self):
        layer = NoNorm()
        x = np.random.randn(2, 5, 6).astype("float32")
        layer.build(x.shape)
        gamma = np.random.randn(6).astype("float32")
        beta = np.random.randn(6).astype("float32")
        layer.set_weights([gamma, beta])
        self.assertAllClose(layer(x), x * gamma + beta)
        # No statistics: scaling the input scales the output's x*gamma part.
        self.assertAllClose(layer(10 * x) - beta, 10 * (x * gamma))

    def test_saved_model_round_trip(self):
        inputs = keras.Input((None, 6))
        layer = NoNorm()
        model = keras.Model(inputs, layer(inputs))
        layer.set_weights([np.arange(6.0), np.ones(6)])
        path = self.get_temp_dir() + "/model.keras"
        model.save(path)
        restored = keras.models.load_model(path)
        x = np.random.randn(1, 3, 6).astype("float32")
        self.assertIsInstance(restored.layers[-1], NoNorm)
        self.assertAllClose(restored(x), model(x))

    def test_make_normalization(self):
        self.assertIsInstance(
            make_normalization("no_norm", 1e-12, "float32", "n"), NoNorm
        )
        ln = make_normalization("layer_norm", 1e-5, "float32", "n")
        self.assertIsInstance(ln, keras.layers.LayerNormalization)
        self.assertEqual(ln.epsilon, 1e-5)
        with self.assertRaisesRegex(
            ValueError, "Unknown normalization 'batch'"
        ):
            make_normalization("batch", 1e-12, "float32", "n")
