import keras
import numpy as np
from keras_hub.src.tests.test_case import TestCase

from keras_mobilebert import MobileBertBackbone
from keras_mobilebert import MobileBertPreTrainingModel
from tests import numpy_reference as ref
from tests.models.helpers import SMALL_BACKBONE
from tests.models.helpers import VOCAB
from tests.models.helpers import backbone_inputs


class MobileBertPreTrainingModelTest(TestCase):
    def setUp(self):
        self.backbone = MobileBertBackbone(**SMALL_BACKBONE)

    def test_pretraining_model_outputs_and_serialization(self):
        model = MobileBertPreTrainingModel(self.backbone)
        data = backbone_inputs()
        positions = np.array([[1, 2], [3, 4]], "int32")
        out = model({**data, "mask_positions": positions})
        self.assertEqual(out["mlm_logits"].shape, (2, 2, len(VOCAB)))
        self.assertEqual(out["nsp_logits"].shape, (2, 2))
        pooled = self.backbone(data)["pooled_output"]
        nsp = model.next_sentence_head
        expected = ref.dense(nsp, np.asarray(pooled, "float64"))
        ref.assert_close_to_scale(out["nsp_logits"], expected)
        path = self.get_temp_dir() + "/pretraining.keras"
        model.save(path)
        restored = keras.models.load_model(path)
        again = restored({**data, "mask_positions": positions})
        self.assertAllClose(again["mlm_logits"], out["mlm_logits"])
        self.assertAllClose(again["nsp_logits"], out["nsp_logits"])
