import keras
import numpy as np
from keras_hub.src.tests.test_case import TestCase

from keras_mobilebert.layers import MobileBertAttention
from tests import numpy_reference as ref
from tests.layers.helpers import as_tensors


def make_inputs(batch=2, length=5):
    rng = np.random.RandomState(0)
    return {
        "query": rng.randn(batch, length, 8).astype("float32"),
        "key": rng.randn(batch, length, 8).astype("float32"),
        "value": rng.randn(batch, length, 12).astype("float32"),
        "padding_mask": np.array(
            [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype="int32"
        ),
    }


class MobileBertAttentionTest(TestCase):
    def test_layer_basics(self):
        self.run_layer_test(
            cls=MobileBertAttention,
            init_kwargs={"num_heads": 2, "head_dim": 4},
            input_data=as_tensors(make_inputs()),
            expected_output_shape=(2, 5, 8),
            expected_num_trainable_weights=6,
        )

    def test_matches_numpy_in_both_mask_modes(self):
        data = make_inputs()
        for mode in ("fill", "additive"):
            layer = MobileBertAttention(
                num_heads=2, head_dim=4, attention_mask_mode=mode
            )
            context, scores = layer(**data, return_attention_scores=True)
            expected_context, expected_scores = ref.attention(
                layer,
                data["query"],
                data["key"],
                data["value"],
                data["padding_mask"],
            )
            ref.assert_close_to_scale(context, expected_context, 1e-5, mode)
            ref.assert_scores_close(
                scores, expected_scores, data["padding_mask"], 1e-5, mode
            )

    def test_fill_mode_sets_masked_logits_to_minus_six(self):
        data = make_inputs()
        layer = MobileBertAttention(
            num_heads=2, head_dim=4, attention_mask_mode="fill"
        )
        _, scores = layer(**data, return_attention_scores=True)
        scores = keras.ops.convert_to_numpy(scores)
        np.testing.assert_array_equal(scores[0, :, :, 3:], -6.0)
        self.assertTrue(np.all(scores[0, :, :, :3] != -6.0))

    def test_additive_mode_gives_masked_keys_zero_weight(self):
        data = make_inputs()
        layer = MobileBertAttention(num_heads=2, head_dim=4)
        context = layer(**data)
        # Changing the values at masked positions changes nothing.
        changed = dict(data)
        changed["value"] = data["value"].copy()
        changed["value"][0, 3:] = 1000.0
        self.assertAllClose(layer(**changed)[0], context[0])

    def test_unknown_mask_mode(self):
        with self.assertRaisesRegex(ValueError, "attention_mask_mode 'soft'"):
            MobileBertAttention(
                num_heads=2, head_dim=4, attention_mask_mode="soft"
            )
