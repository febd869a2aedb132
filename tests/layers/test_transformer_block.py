import keras
import numpy as np
from absl.testing import parameterized
from keras_hub.src.tests.test_case import TestCase

from keras_mobilebert.layers import MobileBertTransformerBlock
from tests import numpy_reference as ref

BASE = {
    "hidden_dim": 16,
    "intermediate_dim": 8,
    "num_heads": 2,
    "bottleneck_dim": 8,
    "num_feedforward_networks": 2,
}
VARIANTS = {
    # MobileBERT: shared Q/K bottleneck, value from the block input.
    "mobilebert": dict(BASE),
    # TINY: Q = K = V = bottleneck.
    "tiny": {
        **BASE,
        "key_query_shared_bottleneck": False,
        "use_bottleneck_attention": True,
    },
    # IB-BERT: wide inner width, Q = K = V = block input, LayerNorm, GELU.
    "teacher": {
        **BASE,
        "bottleneck_dim": 32,
        "key_query_shared_bottleneck": False,
        "num_feedforward_networks": 1,
        "normalization": "layer_norm",
        "activation": "gelu_approximate",
        "dropout": 0.1,
    },
    "no_bottleneck": {**BASE, "use_bottleneck": False},
}
# Trainable weights: bottleneck input (2 per dense + 2 per norm, one or two
# squeezes), attention (6), attention output (4), FFNs (6 each), output (4).
EXPECTED_WEIGHTS = {
    "mobilebert": 8 + 6 + 4 + 12 + 4,
    "tiny": 4 + 6 + 4 + 12 + 4,
    "teacher": 4 + 6 + 4 + 6 + 4,
    "no_bottleneck": 6 + 4 + 12,
}


# Seed generator states: one per dropout with a non-zero rate.
EXPECTED_SEEDS = {"mobilebert": 1, "tiny": 1, "teacher": 2, "no_bottleneck": 1}


def make_inputs():
    rng = np.random.RandomState(1)
    return {
        "inputs": rng.randn(2, 5, 16).astype("float32"),
        "padding_mask": np.array(
            [[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]], dtype="int32"
        ),
    }


class TransformerBlockTest(TestCase, parameterized.TestCase):
    @parameterized.named_parameters(*[(k, k) for k in VARIANTS])
    def test_layer_basics(self, variant):
        self.run_layer_test(
            cls=MobileBertTransformerBlock,
            init_kwargs=VARIANTS[variant],
            input_data={
                k: keras.ops.convert_to_tensor(v)
                for k, v in make_inputs().items()
            },
            expected_output_shape=(2, 5, 16),
            expected_num_trainable_weights=EXPECTED_WEIGHTS[variant],
            expected_num_non_trainable_variables=EXPECTED_SEEDS[variant],
        )

    @parameterized.named_parameters(*[(k, k) for k in VARIANTS])
    def test_matches_numpy(self, variant):
        data = make_inputs()
        for mode in ("fill", "additive"):
            layer = MobileBertTransformerBlock(
                **VARIANTS[variant], attention_mask_mode=mode
            )
            layer(**data)
            layer.set_weights(
                [np.random.randn(*w.shape) * 0.5 for w in layer.get_weights()]
            )
            out, scores = layer(**data, return_attention_scores=True)
            expected, expected_scores = ref.block(
                layer, data["inputs"], data["padding_mask"]
            )
            ref.assert_close_to_scale(out, expected, 1e-5, variant + mode)
            ref.assert_scores_close(
                scores,
                expected_scores,
                data["padding_mask"],
                1e-5,
                variant + mode,
            )

    def test_teacher_attends_over_block_input(self):
        layer = MobileBertTransformerBlock(**VARIANTS["teacher"])
        layer(**make_inputs())
        # Q/K/V project the 16-wide block input to the 32-wide inner width.
        self.assertEqual(
            tuple(layer.attention.query_dense.kernel.shape), (16, 32)
        )
        self.assertEqual(layer.attention.head_dim, 16)

    def test_dropout_placement_follows_gr(self):
        with_bottleneck = MobileBertTransformerBlock(**BASE, dropout=0.3)
        with_bottleneck(**make_inputs())
        self.assertEqual(with_bottleneck.attention_output_dropout.rate, 0.0)
        self.assertEqual(with_bottleneck.stacked_ffn.output_dropout, 0.0)
        self.assertEqual(with_bottleneck.bottleneck_output.dropout, 0.3)
        plain = MobileBertTransformerBlock(
            **{**BASE, "use_bottleneck": False}, dropout=0.3
        )
        plain(**make_inputs())
        self.assertEqual(plain.attention_output_dropout.rate, 0.3)
        self.assertEqual(plain.stacked_ffn.output_dropout, 0.3)

    def test_heads_must_divide_width(self):
        with self.assertRaisesRegex(ValueError, "divisible by num_heads"):
            MobileBertTransformerBlock(**{**BASE, "num_heads": 3})

    def test_saved_model_round_trip(self):
        inputs = keras.Input((None, 16))
        mask = keras.Input((None,), dtype="int32")
        block = MobileBertTransformerBlock(**BASE)
        model = keras.Model([inputs, mask], block(inputs, padding_mask=mask))
        path = self.get_temp_dir() + "/model.keras"
        model.save(path)
        restored = keras.models.load_model(path)
        data = make_inputs()
        args = [data["inputs"], data["padding_mask"]]
        self.assertAllClose(restored(args), model(args))
