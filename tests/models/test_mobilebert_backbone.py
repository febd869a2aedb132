import numpy as np
import pytest
from absl.testing import parameterized
from keras_hub.src.tests.test_case import TestCase

import keras_mobilebert
from keras_mobilebert import MobileBertBackbone
from tests import numpy_reference as ref
from tests.models.helpers import SMALL_BACKBONE
from tests.models.helpers import SMALL_TEACHER
from tests.models.helpers import SMALL_TINY
from tests.models.helpers import backbone_inputs

VARIANTS = {
    "mobilebert": SMALL_BACKBONE,
    "tiny": SMALL_TINY,
    "teacher": SMALL_TEACHER,
}


def count_encoder_parameters(c):
    """Parameters of embeddings + blocks, counted from the paper's shapes.

    Independent of the Keras code: every dense is in*out + out, every norm
    2*width, following GR `modeling.py` variable by variable.
    """
    dense = lambda i, o: i * o + o  # noqa: E731
    norm = lambda w: 2 * w  # noqa: E731
    h, b, e = c["hidden_dim"], c["bottleneck_dim"], c["embedding_dim"]
    emb = c["vocabulary_size"] * e + dense(3 * e, h) + 2 * h
    emb += c["max_sequence_length"] * h + norm(h)
    inner = b
    block = dense(h, b) + norm(b)  # bottleneck/input
    if c["key_query_shared_bottleneck"]:
        block += dense(h, b) + norm(b)  # bottleneck/attention
        qk_in, v_in = b, h
    elif c["use_bottleneck_attention"]:
        qk_in, v_in = b, b
    else:
        qk_in, v_in = h, h
    block += 2 * dense(qk_in, inner) + dense(v_in, inner)
    block += dense(inner, inner) + norm(inner)  # attention/output
    f = c["num_feedforward_networks"]
    block += f * (dense(inner, c["intermediate_dim"]))
    block += f * (dense(c["intermediate_dim"], inner) + norm(inner))
    block += dense(inner, h) + norm(h)  # output/bottleneck
    return emb + c["num_layers"] * block


class MobileBertBackboneTest(TestCase, parameterized.TestCase):
    def setUp(self):
        self.init_kwargs = dict(SMALL_BACKBONE)
        self.input_data = backbone_inputs()

    def test_backbone_basics(self):
        self.run_backbone_test(
            cls=MobileBertBackbone,
            init_kwargs=self.init_kwargs,
            input_data=self.input_data,
            expected_output_shape={
                "sequence_output": (2, 6, 16),
                "pooled_output": (2, 16),
            },
        )

    def test_saved_model(self):
        self.run_model_saving_test(
            cls=MobileBertBackbone,
            init_kwargs=self.init_kwargs,
            input_data=self.input_data,
        )

    @parameterized.named_parameters(*[(k, k) for k in VARIANTS])
    def test_matches_numpy_reference(self, variant):
        for mode in ("additive", "fill"):
            model = MobileBertBackbone(
                **VARIANTS[variant], attention_mask_mode=mode
            )
            model.set_weights(
                [np.random.randn(*w.shape) * 0.3 for w in model.get_weights()]
            )
            data = self.input_data
            hidden, scores, pooled = ref.backbone(
                model,
                data["token_ids"],
                data["segment_ids"],
                data["padding_mask"],
            )
            outputs = model.intermediates_model()(data)
            for i, (actual, expected) in enumerate(
                zip(outputs["hidden_states"], hidden)
            ):
                ref.assert_close_to_scale(
                    actual, expected, 1e-5, f"{variant}/{mode} hidden {i}"
                )
            for i, (actual, expected) in enumerate(
                zip(outputs["attention_scores"], scores)
            ):
                ref.assert_scores_close(
                    actual,
                    expected,
                    data["padding_mask"],
                    1e-5,
                    f"{variant}/{mode} scores {i}",
                )
            plain = model(data)
            ref.assert_close_to_scale(plain["sequence_output"], hidden[-1])
            ref.assert_close_to_scale(plain["pooled_output"], pooled)

    def test_intermediates_model_shares_weights_and_stops_early(self):
        model = MobileBertBackbone(**SMALL_BACKBONE)
        full = model.intermediates_model()
        self.assertEqual(len(full.weights), len(model.weights))
        data = self.input_data
        outputs = full(data)
        self.assertLen(outputs["hidden_states"], 3)
        self.assertLen(outputs["attention_scores"], 2)
        self.assertEqual(outputs["attention_scores"][0].shape, (2, 2, 6, 6))
        first = model.intermediates_model(num_layers=1)(data)
        self.assertLen(first["hidden_states"], 2)
        self.assertAllClose(
            first["hidden_states"][1], outputs["hidden_states"][1]
        )
        # Plain inference does not return the intermediates.
        self.assertEqual(set(model(data)), {"sequence_output", "pooled_output"})
        with self.assertRaisesRegex(ValueError, "num_layers must be in"):
            model.intermediates_model(num_layers=3)

    def test_pooled_output_is_raw_cls_without_pooler(self):
        model = MobileBertBackbone(**SMALL_BACKBONE)
        out = model(self.input_data)
        self.assertAllClose(out["pooled_output"], out["sequence_output"][:, 0])

    def test_parameter_counts_of_full_size_presets(self):
        # The counts the issue and the paper's configs give, for embeddings
        # plus the 24 blocks.
        expected = {
            "mobilebert_en_uncased": 24_581_888,
            "mobilebert_tiny_en_uncased": 15_485_696,
            "ib_bert_en_uncased": 294_205_184,
        }
        for name, count in expected.items():
            config = keras_mobilebert.presets[name]["config"]
            self.assertEqual(count_encoder_parameters(config), count, name)
        for name in ("mobilebert_en_uncased", "mobilebert_tiny_en_uncased"):
            model = MobileBertBackbone.from_preset(name, load_weights=False)
            self.assertEqual(model.count_params(), expected[name])
            metadata = keras_mobilebert.presets[name]["metadata"]
            self.assertEqual(metadata["params"], expected[name])
        # HF's MobileBertModel adds an (unused by the released config) tanh
        # pooler of 512*512+512; 24,581,888 + 262,656 = 24,844,544.
        self.assertEqual(24_581_888 + 512 * 512 + 512, 24_844_544)

    @pytest.mark.large
    def test_ib_bert_parameter_count_with_pooler(self):
        model = MobileBertBackbone.from_preset(
            "ib_bert_en_uncased", load_weights=False
        )
        self.assertEqual(model.count_params(), 294_205_184 + 262_656)

    @pytest.mark.large
    def test_full_size_forward_pass(self):
        model = MobileBertBackbone.from_preset(
            "mobilebert_en_uncased", load_weights=False
        )
        rng = np.random.RandomState(0)
        data = {
            "token_ids": rng.randint(0, 30522, (1, 128)).astype("int32"),
            "segment_ids": np.zeros((1, 128), "int32"),
            "padding_mask": np.ones((1, 128), "int32"),
        }
        out = model(data)
        self.assertEqual(out["sequence_output"].shape, (1, 128, 512))
        self.assertTrue(np.all(np.isfinite(out["sequence_output"])))

    def test_bad_inputs_name_the_problem(self):
        model = MobileBertBackbone(**SMALL_BACKBONE)
        data = backbone_inputs(padded=False)
        bad = dict(data, token_ids=data["token_ids"].copy())
        bad["token_ids"][0, 1] = SMALL_BACKBONE["vocabulary_size"]
        with self.assertRaisesRegex(Exception, "vocabulary_size \\(21\\)"):
            model(bad)
        with self.assertRaisesRegex(Exception, "vocabulary_size \\(21\\)"):
            model.predict(bad, verbose=0)
        long = backbone_inputs(length=21, padded=False)
        with self.assertRaisesRegex(Exception, "max_sequence_length is 20"):
            model(long)

    def test_unknown_config_values(self):
        with self.assertRaisesRegex(ValueError, "Unknown normalization"):
            MobileBertBackbone(**{**SMALL_BACKBONE, "normalization": "rms"})
        with self.assertRaisesRegex(ValueError, "Unknown activation"):
            MobileBertBackbone(**{**SMALL_BACKBONE, "activation": "elu"})
        with self.assertRaisesRegex(ValueError, "attention_mask_mode"):
            MobileBertBackbone(
                **{**SMALL_BACKBONE, "attention_mask_mode": "none"}
            )

    def test_mixed_precision_forward(self):
        model = MobileBertBackbone(**SMALL_BACKBONE, dtype="mixed_float16")
        out = model(self.input_data)
        self.assertEqual(out["sequence_output"].dtype, "float16")
        scores = model.intermediates_model()(self.input_data)
        self.assertEqual(scores["attention_scores"][0].dtype, "float32")
