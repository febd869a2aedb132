import json
import os
import pathlib
import shutil
import warnings

import keras_hub
import numpy as np
import pytest
from keras_hub.src.tests.test_case import TestCase

import keras_mobilebert
from keras_mobilebert import MobileBertBackbone
from keras_mobilebert import MobileBertMaskedLM
from keras_mobilebert import MobileBertTextClassifier
from keras_mobilebert import MobileBertTextClassifierPreprocessor
from keras_mobilebert import MobileBertTokenizer
from keras_mobilebert import PresetWeightsNotFoundError
from tests.models.helpers import SMALL_BACKBONE
from tests.models.helpers import VOCAB
from tests.models.helpers import backbone_inputs

FIELDS = set(keras_mobilebert.presets["mobilebert_en_uncased"]["config"])


class PresetTest(TestCase):
    def setUp(self):
        self.home = pathlib.Path(self.get_temp_dir()) / "home"
        self.old_home = os.environ.get("KERAS_MOBILEBERT_HOME")
        os.environ["KERAS_MOBILEBERT_HOME"] = str(self.home)

    def tearDown(self):
        if self.old_home is None:
            os.environ.pop("KERAS_MOBILEBERT_HOME", None)
        else:
            os.environ["KERAS_MOBILEBERT_HOME"] = self.old_home

    def small_classifier(self):
        preprocessor = MobileBertTextClassifierPreprocessor(
            MobileBertTokenizer(vocabulary=VOCAB, lowercase=True),
            sequence_length=8,
        )
        return MobileBertTextClassifier(
            backbone=MobileBertBackbone(**SMALL_BACKBONE),
            preprocessor=preprocessor,
            num_classes=3,
        )

    def test_every_preset_states_every_field(self):
        init_args = set(
            MobileBertBackbone.__init__.__code__.co_varnames[
                1 : MobileBertBackbone.__init__.__code__.co_argcount
            ]
        ) - {"dtype"}
        for name, preset in keras_mobilebert.presets.items():
            self.assertEqual(set(preset["config"]), init_args, name)
        self.assertEqual(FIELDS, init_args)
        self.assertEqual(
            set(MobileBertBackbone.presets), set(keras_mobilebert.presets)
        )

    def test_builtin_architectures_build_offline(self):
        for name in (
            "mobilebert_en_uncased",
            "mobilebert_tiny_en_uncased",
            "mobilebert_qat_en_uncased",
            "mobilebert_multi_cased",
        ):
            model = MobileBertBackbone.from_preset(name, load_weights=False)
            config = keras_mobilebert.presets[name]["config"]
            for field, value in config.items():
                self.assertEqual(getattr(model, field), value, (name, field))
            self.assertEqual(
                model.count_params(),
                keras_mobilebert.presets[name]["metadata"]["params"],
            )

    @pytest.mark.large
    def test_teacher_architecture_builds_offline(self):
        model = MobileBertBackbone.from_preset(
            "ib_bert_en_uncased", load_weights=False
        )
        self.assertEqual(model.normalization, "layer_norm")
        self.assertTrue(model.use_pooler)

    def test_missing_builtin_weights_say_where_they_come_from(self):
        with self.assertRaisesRegex(
            PresetWeightsNotFoundError, "hf://google/mobilebert-uncased"
        ):
            MobileBertBackbone.from_preset("mobilebert_en_uncased")
        with self.assertRaisesRegex(
            PresetWeightsNotFoundError, "No public weights exist"
        ):
            MobileBertTextClassifier.from_preset(
                "ib_bert_en_uncased", num_classes=2
            )
        with self.assertRaisesRegex(PresetWeightsNotFoundError, "vocabulary"):
            MobileBertTokenizer.from_preset("mobilebert_multi_cased")

    def test_builtin_classifier_without_weights(self):
        classifier = MobileBertTextClassifier.from_preset(
            "mobilebert_tiny_en_uncased", num_classes=2, load_weights=False
        )
        self.assertEqual(classifier.backbone.num_layers, 24)
        tokenizer = classifier.preprocessor.tokenizer
        self.assertEqual(tokenizer.vocabulary_size(), 30522)
        self.assertTrue(tokenizer.lowercase)
        logits = classifier.predict(["a fine film"], verbose=0)
        self.assertEqual(logits.shape, (1, 2))

    def test_save_and_load_reproduces_outputs_exactly(self):
        classifier = self.small_classifier()
        texts = ["the quick brown fox", "a dull film"]
        expected = classifier.predict(texts, verbose=0)
        preset = self.get_temp_dir() + "/classifier"
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)
            classifier.save_to_preset(preset)
        files = set(os.listdir(preset))
        for name in (
            "config.json",
            "model.weights.h5",
            "metadata.json",
            "tokenizer.json",
            "preprocessor.json",
            "task.json",
            "task.weights.h5",
            "assets",
        ):
            self.assertIn(name, files)
        restored = MobileBertTextClassifier.from_preset(preset)
        np.testing.assert_array_equal(
            restored.predict(texts, verbose=0), expected
        )
        backbone = MobileBertBackbone.from_preset(preset)
        data = backbone_inputs()
        np.testing.assert_array_equal(
            backbone(data)["sequence_output"],
            classifier.backbone(data)["sequence_output"],
        )
        # KerasHub's base classes find our classes once the package is
        # imported.
        base = keras_hub.models.Backbone.from_preset(preset)
        self.assertIsInstance(base, MobileBertBackbone)
        task = keras_hub.models.TextClassifier.from_preset(preset)
        self.assertIsInstance(task, MobileBertTextClassifier)

    def test_run_preset_test_on_local_directory(self):
        classifier = self.small_classifier()
        preset = self.get_temp_dir() + "/harness"
        classifier.save_to_preset(preset)
        self.run_preset_test(
            cls=MobileBertBackbone,
            preset=preset,
            input_data=backbone_inputs(),
            expected_output_shape={
                "sequence_output": (2, 6, 16),
                "pooled_output": (2, 16),
            },
        )

    def test_converted_copy_in_the_cache_is_used_for_builtin_names(self):
        classifier = self.small_classifier()
        target = self.home / "presets" / "mobilebert_en_uncased"
        classifier.save_to_preset(str(target))
        backbone = MobileBertBackbone.from_preset("mobilebert_en_uncased")
        self.assertEqual(backbone.hidden_dim, SMALL_BACKBONE["hidden_dim"])
        masked_lm = MobileBertMaskedLM.from_preset("mobilebert_en_uncased")
        self.assertEqual(masked_lm.backbone.num_layers, 2)
        base = keras_hub.models.Backbone.from_preset("mobilebert_en_uncased")
        self.assertIsInstance(base, MobileBertBackbone)

    def test_broken_preset_directories_name_the_problem(self):
        backbone = MobileBertBackbone(**SMALL_BACKBONE)
        preset = pathlib.Path(self.get_temp_dir()) / "broken"
        backbone.save_to_preset(str(preset))
        weights = preset / "model.weights.h5"
        good = weights.read_bytes()

        weights.unlink()
        with self.assertRaisesRegex(FileNotFoundError, "no model.weights.h5"):
            MobileBertBackbone.from_preset(str(preset))
        # Without weights the architecture still loads.
        MobileBertBackbone.from_preset(str(preset), load_weights=False)

        weights.write_bytes(good[: len(good) // 2])
        with self.assertRaisesRegex(ValueError, "truncated or not a Keras"):
            MobileBertBackbone.from_preset(str(preset))

        MobileBertBackbone(**{**SMALL_BACKBONE, "hidden_dim": 32}).save_weights(
            str(weights)
        )
        with self.assertRaisesRegex(
            ValueError, "(?s)do not match the architecture.*shape"
        ):
            MobileBertBackbone.from_preset(str(preset))

        config = json.loads((preset / "config.json").read_text())
        config["config"]["normalization"] = "batch_norm"
        (preset / "config.json").write_text(json.dumps(config))
        with self.assertRaisesRegex(Exception, "Unknown normalization"):
            MobileBertBackbone.from_preset(str(preset), load_weights=False)

        shutil.rmtree(preset)
        with self.assertRaisesRegex(ValueError, "preset"):
            MobileBertBackbone.from_preset(str(preset))
