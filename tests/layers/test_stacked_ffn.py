import keras
import numpy as np
from keras_hub.src.tests.test_case import TestCase

from keras_mobilebert.layers import StackedFFN
from tests import numpy_reference as ref


class StackedFFNTest(TestCase):
    def test_layer_basics(self):
        self.run_layer_test(
            cls=StackedFFN,
            init_kwargs={"num_feedforward_networks": 3, "intermediate_dim": 8},
            input_data=keras.ops.ones((2, 3, 4)),
            expected_output_shape=(2, 3, 4),
            expected_num_trainable_weights=3 * 6,
        )

    def test_matches_numpy(self):
        x = np.random.randn(2, 3, 4).astype("float32")
        for activation in ("relu", "relu6", "gelu_approximate"):
            for normalization in ("no_norm", "layer_norm"):
                layer = StackedFFN(
                    4, 8, activation=activation, normalization=normalization
                )
                layer(x)
                layer.set_weights(
                    [3 * np.random.randn(*w.shape) for w in layer.get_weights()]
                )
                expected = x.astype("float64")
                for inner, outer, norm in zip(
                    layer.intermediate_layers,
                    layer.output_layers,
                    layer.norm_layers,
                ):
                    y = ref.dense(outer, ref.dense(inner, expected, activation))
                    expected = ref.norm(norm, y + expected)
                ref.assert_close_to_scale(
                    layer(x), expected, 1e-5, f"{activation}/{normalization}"
                )

    def test_last_norm_epsilon(self):
        layer = StackedFFN(
            2, 8, normalization="layer_norm", last_layer_norm_epsilon=1e-5
        )
        layer(np.ones((1, 2, 4), "float32"))
        self.assertEqual(layer.norm_layers[0].epsilon, 1e-12)
        self.assertEqual(layer.norm_layers[1].epsilon, 1e-5)

    def test_bad_config(self):
        with self.assertRaisesRegex(ValueError, "at least 1"):
            StackedFFN(0, 8)
        with self.assertRaisesRegex(ValueError, "Unknown activation 'swish'"):
            StackedFFN(2, 8, activation="swish")
