import keras
import numpy as np
from keras_hub.src.tests.test_case import TestCase

from keras_mobilebert.layers import BottleneckInput
from keras_mobilebert.layers import BottleneckOutput
from tests import numpy_reference as ref


def randomize(layer):
    layer.set_weights([np.random.randn(*w.shape) for w in layer.get_weights()])


class BottleneckInputTest(TestCase):
    def test_layer_basics(self):
        for shared, weights, shape in ((False, 4, (2, 3, 4)), (True, 8, None)):
            self.run_layer_test(
                cls=BottleneckInput,
                init_kwargs={"bottleneck_dim": 4, "key_query_shared": shared},
                input_data=keras.ops.ones((2, 3, 16)),
                expected_output_shape=shape or ((2, 3, 4), (2, 3, 4)),
                expected_num_trainable_weights=weights,
            )

    def test_matches_numpy(self):
        x = np.random.randn(2, 3, 16).astype("float32")
        for normalization in ("no_norm", "layer_norm"):
            layer = BottleneckInput(
                4, key_query_shared=True, normalization=normalization
            )
            layer(x)
            randomize(layer)
            layer_input, shared = layer(x)
            ref.assert_close_to_scale(
                layer_input,
                ref.norm(layer.input_norm, ref.dense(layer.input_dense, x)),
            )
            ref.assert_close_to_scale(
                shared,
                ref.norm(
                    layer.attention_norm, ref.dense(layer.attention_dense, x)
                ),
            )
            # The two squeezes have separate weights.
            self.assertNotAllClose(layer_input, shared)


class BottleneckOutputTest(TestCase):
    def test_layer_basics(self):
        self.run_layer_test(
            cls=BottleneckOutput,
            init_kwargs={"hidden_dim": 16, "dropout": 0.1},
            input_data={
                "inputs": keras.ops.ones((2, 3, 4)),
                "residual": keras.ops.ones((2, 3, 16)),
            },
            expected_output_shape=(2, 3, 16),
            expected_num_trainable_weights=4,
            # The dropout's seed generator state.
            expected_num_non_trainable_variables=1,
        )

    def test_residual_wiring_matches_numpy(self):
        layer = BottleneckOutput(16, dropout=0.5)
        x = np.random.randn(2, 3, 4).astype("float32")
        residual = np.random.randn(2, 3, 16).astype("float32")
        layer(x, residual)
        randomize(layer)
        expected = ref.norm(layer.norm, ref.dense(layer.dense, x) + residual)
        ref.assert_close_to_scale(layer(x, residual), expected)
        # Dropout acts only in training.
        self.assertNotAllClose(layer(x, residual, training=True), expected)

    def test_saved_model_round_trip(self):
        x = keras.Input((None, 4))
        residual = keras.Input((None, 16))
        model = keras.Model([x, residual], BottleneckOutput(16)(x, residual))
        path = self.get_temp_dir() + "/model.keras"
        model.save(path)
        restored = keras.models.load_model(path)
        data = [np.random.randn(1, 3, 4), np.random.randn(1, 3, 16)]
        self.assertAllClose(restored(data), model(data))
