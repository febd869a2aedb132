import keras
import numpy as np
import pytest

from keras_mobilebert import MobileBertBackbone
from keras_mobilebert import MobileBertMaskedLM
from keras_mobilebert import MobileBertMaskedLMPreprocessor
from keras_mobilebert import MobileBertTokenizer
from keras_mobilebert.quantization import QuantDense
from keras_mobilebert.quantization import QuantizedMobileBertBackbone
from keras_mobilebert.quantization import QuantizedMobileBertMaskedLM
from keras_mobilebert.quantization import is_quantize_aware
from keras_mobilebert.quantization import quantize_aware
from tests.models.helpers import VOCAB
from tests.quantization import helpers

SENTENCES = [
    "the quick brown fox jumped",
    "a great film",
    "the movie was dull",
    "the fox jumped a film",
]


def _toy_masked_lm():
    keras.utils.set_random_seed(0)
    preprocessor = MobileBertMaskedLMPreprocessor(
        MobileBertTokenizer(vocabulary=VOCAB, lowercase=True),
        sequence_length=helpers.SEQUENCE_LENGTH,
        mask_selection_length=2,
        mask_selection_rate=0.3,
    )
    backbone = MobileBertBackbone(**helpers.TOY_BACKBONE)
    return MobileBertMaskedLM(backbone, preprocessor=preprocessor)


def test_quantize_aware_masked_lm_copies_and_ties_the_weights():
    masked_lm = _toy_masked_lm()
    qat = quantize_aware(masked_lm)
    assert isinstance(qat, QuantizedMobileBertMaskedLM)
    assert isinstance(qat.backbone, QuantizedMobileBertBackbone)
    assert is_quantize_aware(qat)
    head = qat.masked_lm_head
    assert type(head.transform_dense) is QuantDense
    # The output matrix stays tied to the (quantization-aware) word table.
    assert head.token_embedding is qat.backbone.token_embedding
    for name in ("extra_output_weights", "output_bias"):
        np.testing.assert_array_equal(
            getattr(head, name).numpy(),
            getattr(masked_lm.masked_lm_head, name).numpy(),
        )
    np.testing.assert_array_equal(
        head.token_embedding.embeddings.numpy(),
        masked_lm.backbone.token_embedding.embeddings.numpy(),
    )
    with pytest.raises(TypeError, match="QuantizedMobileBertBackbone"):
        QuantizedMobileBertMaskedLM(backbone=masked_lm.backbone)


def test_qat_masked_lm_trains_reloads_and_exports_int8(tmp_path):
    pytest.importorskip("ai_edge_litert")
    from keras_mobilebert import export

    qat = quantize_aware(_toy_masked_lm())
    # Sentences whose masked words their context predicts: the model gets
    # confident, so the int8 file's top-1 tokens are not near-ties (on
    # random word salad the agreement wandered between 0.88 and 0.98).
    texts = SENTENCES * 64
    qat.compile(optimizer=keras.optimizers.Adam(3e-3))
    history = qat.fit(x=texts, batch_size=32, epochs=4, verbose=0)
    losses = history.history["loss"]
    # Masking is random; 4 epochs took the loss from about 1.7 to 0.95.
    assert losses[-1] < 0.8 * losses[0], losses

    qat.save_to_preset(str(tmp_path / "qat"))
    restored = MobileBertMaskedLM.from_preset(str(tmp_path / "qat"))
    assert isinstance(restored, QuantizedMobileBertMaskedLM)
    loaded = {v.path: v.numpy() for v in restored.weights}
    assert len(loaded) == len({v.path for v in qat.weights})
    for variable in qat.weights:  # Ranges included.
        np.testing.assert_array_equal(variable.numpy(), loaded[variable.path])

    # The export verifies the file against the Keras model (relative
    # error, top-1 token agreement) before it writes it. Texts work as
    # representative data: the preprocessor adds the mask positions. The
    # head's LayerNorm and logits take their int8 ranges from this data, so
    # it gets every text: calibrated on 64 randomly masked samples, one
    # trained model's error ranged 0.040-0.084 over 4 exports (0.102 once
    # in CI) as the masks fell; on 256, 0.032-0.045 over 8. Training masks
    # at random too (unseeded in tf.data): over 25 trainings calibrated on
    # 256, 24 files were within 0.031-0.052 and one at 0.18 (agreement
    # 1.0), so the bound sits below the mode's 0.3, not at the median.
    path = tmp_path / "mlm.tflite"
    result = export.to_litert(
        restored,
        path,
        "qat_int8",
        representative_data=texts,
        num_representative=len(texts),
        log=None,
    )
    assert export.float_ops_on_main_path(path.read_bytes()) == []
    assert result.relative_error < 0.25
    assert result.label_agreement >= 0.85
