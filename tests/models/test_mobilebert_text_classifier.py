import json
import pathlib

import keras_hub
import numpy as np
from keras_hub.src.tests.test_case import TestCase

import keras_mobilebert
from keras_mobilebert import MobileBertBackbone
from keras_mobilebert import MobileBertClassifier
from keras_mobilebert import MobileBertTextClassifier
from keras_mobilebert import MobileBertTextClassifierPreprocessor
from keras_mobilebert import MobileBertTokenizer
from tests.models.helpers import SMALL_BACKBONE
from tests.models.helpers import VOCAB


def scale_cls_to(backbone, x, target):
    """Scale the last block's output so that max |[CLS]| is `target`.

    The last NoNorm's gamma multiplies the block output; the released
    weights put about 1e7 in the raw [CLS] vector (HF issue 8938).
    """
    norm = backbone.transformer_layers[-1].bottleneck_output.norm
    norm.beta.assign(np.zeros(norm.beta.shape, "float32"))
    current = np.max(np.abs(backbone(x)["pooled_output"]))
    norm.gamma.assign(norm.gamma.numpy() * (target / current))


class MobileBertTextClassifierTest(TestCase):
    def setUp(self):
        self.preprocessor = MobileBertTextClassifierPreprocessor(
            MobileBertTokenizer(vocabulary=VOCAB, lowercase=True),
            sequence_length=8,
        )
        self.backbone = MobileBertBackbone(**SMALL_BACKBONE)
        self.init_kwargs = {
            "preprocessor": self.preprocessor,
            "backbone": self.backbone,
            "num_classes": 2,
        }
        self.train_data = (
            ["the quick brown fox.", "a dull film!"],
            [1, 0],
        )

    def test_classifier_basics(self):
        self.run_task_test(
            cls=MobileBertTextClassifier,
            init_kwargs=self.init_kwargs,
            train_data=self.train_data,
            expected_output_shape=(2, 2),
        )

    def test_saved_model(self):
        self.run_model_saving_test(
            cls=MobileBertTextClassifier,
            init_kwargs=self.init_kwargs,
            input_data=self.preprocessor(*self.train_data)[0],
        )

    def test_head_keeps_logits_moderate_at_released_scale(self):
        x = self.preprocessor(self.train_data[0])
        scale_cls_to(self.backbone, x, 1e7)
        pooled = self.backbone(x)["pooled_output"]
        self.assertAllClose(np.max(np.abs(pooled)), 1e7, rtol=1e-3)

        classifier = MobileBertTextClassifier(**self.init_kwargs)
        texts = self.train_data[0]
        logits = classifier.predict(texts, verbose=0)
        self.assertTrue(np.all(np.isfinite(logits)))
        self.assertLess(np.max(np.abs(logits)), 5.0)
        # The loss starts near ln(2) and a training step stays finite.
        history = classifier.fit(
            self.train_data[0], self.train_data[1], batch_size=2, verbose=0
        )
        loss = history.history["loss"][0]
        self.assertTrue(np.isfinite(loss))
        self.assertLess(loss, 2.0)

        # The bare HF head (dense straight on the raw [CLS]) explodes.
        bare = MobileBertTextClassifier(
            **self.init_kwargs, pooled_normalization=None
        )
        bare_logits = bare.predict(texts, verbose=0)
        self.assertGreater(np.max(np.abs(bare_logits)), 1e4)

    def test_head_is_scale_invariant(self):
        classifier = MobileBertTextClassifier(**self.init_kwargs)
        texts = self.train_data[0]
        x = self.preprocessor(texts)
        scale_cls_to(self.backbone, x, 1.0)
        before = classifier.predict(texts, verbose=0)
        scale_cls_to(self.backbone, x, 1e7)
        after = classifier.predict(texts, verbose=0)
        self.assertAllClose(before, after, atol=1e-4)

    def test_empty_string_in_predict_names_the_problem(self):
        classifier = MobileBertTextClassifier(**self.init_kwargs)
        with self.assertRaisesRegex(Exception, "empty or only whitespace"):
            classifier.predict(["a great film", ""], verbose=0)

    def test_bad_pooled_normalization(self):
        with self.assertRaisesRegex(ValueError, "pooled_normalization 'tanh'"):
            MobileBertTextClassifier(
                **self.init_kwargs, pooled_normalization="tanh"
            )

    def test_old_name_is_the_same_class_and_its_presets_load(self):
        self.assertIs(MobileBertClassifier, MobileBertTextClassifier)
        self.assertIs(
            keras_mobilebert.MobileBertClassifier, MobileBertClassifier
        )
        classifier = MobileBertTextClassifier(**self.init_kwargs)
        texts = self.train_data[0]
        expected = classifier.predict(texts, verbose=0)
        preset = pathlib.Path(self.get_temp_dir()) / "old_name"
        classifier.save_to_preset(str(preset))
        task = json.loads((preset / "task.json").read_text())
        self.assertEqual(
            task["registered_name"],
            "keras_mobilebert>MobileBertTextClassifier",
        )
        # What presets saved before the rename hold.
        task["class_name"] = "MobileBertClassifier"
        task["registered_name"] = "keras_mobilebert>MobileBertClassifier"
        (preset / "task.json").write_text(json.dumps(task))
        for load in (
            MobileBertClassifier.from_preset,
            MobileBertTextClassifier.from_preset,
            keras_hub.models.TextClassifier.from_preset,
        ):
            restored = load(str(preset))
            self.assertIsInstance(restored, MobileBertTextClassifier)
            np.testing.assert_array_equal(
                restored.predict(texts, verbose=0), expected
            )
