"""The TF-MOT bridge: tf_keras twin, quantize_apply, int8 export, copy back.

Needs the `tfmot` extra, which cannot share an environment with the `dev`
extra (TF-MOT pins absl-py~=1.2, mediapipe needs ~=2.3): `.ci/run` runs
this file in a second virtual environment. Elsewhere it is skipped.
"""

import importlib.util
import re

import keras
import numpy as np
import pytest

# Not `pytest.importorskip("tensorflow_model_optimization")`: importing
# TF-MOT directly would set TF_USE_LEGACY_KERAS=1 in this process; the
# bridge module imports it with the variable contained.
if importlib.util.find_spec("tensorflow_model_optimization") is None:
    pytest.skip(
        "needs pip install keras-mobilebert[tfmot]", allow_module_level=True
    )

from keras_mobilebert import MobileBertBackbone  # noqa: E402
from keras_mobilebert import MobileBertClassifier  # noqa: E402
from keras_mobilebert import export  # noqa: E402
from keras_mobilebert.quantization import quantize_aware  # noqa: E402
from keras_mobilebert.quantization import tfmot as qt  # noqa: E402
from tests.models.helpers import SMALL_BACKBONE  # noqa: E402
from tests.models.helpers import SMALL_TINY  # noqa: E402
from tests.models.helpers import backbone_inputs  # noqa: E402
from tests.quantization import helpers  # noqa: E402
from tests.quantization import qa_helpers  # noqa: E402
from tests.quantization.fresh_python import run_python  # noqa: E402

SEQUENCE_LENGTH = 16
QAT_SETTINGS = {"attention_mask_mode": "fill", "activation": "relu6"}


def _max_error(reference, outputs):
    return max(
        float(np.max(np.abs(np.asarray(reference[k]) - np.asarray(v))))
        for k, v in outputs.items()
    )


def _batch(samples):
    """TFLite-named samples to one Keras-named batch."""
    names = {"ids": "token_ids", "mask": "padding_mask"}
    return {
        names.get(k, k): np.concatenate([s[k] for s in samples])
        for k in samples[0]
    }


@pytest.mark.parametrize(
    "config",
    [
        {**SMALL_BACKBONE, **QAT_SETTINGS},
        {**SMALL_TINY, **QAT_SETTINGS},
        {**SMALL_BACKBONE, "attention_mask_mode": "additive"},
    ],
    ids=["mobilebert", "tiny", "additive_relu"],
)
def test_float_twin_matches_keras_3(config):
    keras.utils.set_random_seed(0)
    backbone = MobileBertBackbone(**config, attention_dropout=0.0)
    classifier = MobileBertClassifier(backbone=backbone, num_classes=3)
    x = backbone_inputs(batch=3, length=SEQUENCE_LENGTH)
    twin = qt.build_tf_keras_twin(backbone)
    error = _max_error(backbone(x), twin(x))
    scale = float(np.max(np.abs(backbone(x)["sequence_output"])))
    assert error <= 1e-6 * max(scale, 1.0), error
    twin = qt.build_tf_keras_twin(classifier)
    assert _max_error({"y": classifier(x)}, {"y": twin(x)}) <= 1e-5


@pytest.mark.parametrize(
    "config", [SMALL_BACKBONE, SMALL_TINY], ids=["mobilebert", "tiny"]
)
def test_quantize_apply_wraps_every_custom_layer(config):
    keras.utils.set_random_seed(0)
    backbone = MobileBertBackbone(**config, **QAT_SETTINGS)
    qat = qt.quantize_aware_tfmot(backbone)
    wrapped = {}
    for layer in qat.layers:
        if isinstance(layer, qt.quantize.QuantizeWrapperV2):
            inner = type(layer.layer).__name__
            quantize_config = type(layer.quantize_config).__name__
            wrapped.setdefault(inner, set()).add(quantize_config)
    assert wrapped["TwinNoNorm"] == {"NoNormQuantizeConfig"}
    assert wrapped["TwinAttention"] == {"AttentionQuantizeConfig"}
    assert wrapped["TwinTokenEmbedding"] == {"EmbeddingQuantizeConfig"}
    assert wrapped["TwinPositionEmbedding"] == {
        "PositionEmbeddingQuantizeConfig"
    }
    assert "Dense" in wrapped and "Add" in wrapped and "ReLU" in wrapped
    num_no_norm = sum(
        isinstance(getattr(layer, "layer", None), qt.TwinNoNorm)
        for layer in qat.layers
    )
    # As in quantize_aware: embedding norm, and per block the bottleneck
    # input norms (two with the shared query/key bottleneck), the attention
    # output norm, one per FFN, the output norm.
    shared = config.get("key_query_shared_bottleneck", True)
    per_block = (
        (2 if shared else 1) + 1 + config["num_feedforward_networks"] + 1
    )
    assert num_no_norm == 1 + config["num_layers"] * per_block
    # Untrained ranges are GR's [-6, 6]; the model runs and keeps shapes.
    x = backbone_inputs(length=SEQUENCE_LENGTH)
    out = qat(x, training=False)
    assert out["sequence_output"].shape == (2, SEQUENCE_LENGTH, 16)


def test_float_weights_copy_back_exactly():
    keras.utils.set_random_seed(0)
    backbone = MobileBertBackbone(**SMALL_TINY, attention_dropout=0.0)
    twin = qt.build_tf_keras_twin(backbone)
    for variable in twin.weights:
        variable.assign(variable.numpy() * 1.5 + 0.01)
    fresh = MobileBertBackbone(**SMALL_TINY, attention_dropout=0.0)
    summary = qt.copy_weights_back(twin, fresh)
    assert summary["ranges"] == 0
    x = backbone_inputs(length=SEQUENCE_LENGTH)
    assert _max_error(twin(x), fresh(x)) <= 1e-5


def _block(name):
    match = re.search(r"transformer_layer_\d+", name)
    return match.group(0) if match else None


def _distinct_classifier(seed):
    """A classifier whose every weight holds its own random values."""
    keras.utils.set_random_seed(seed)
    backbone = MobileBertBackbone(**SMALL_BACKBONE, **QAT_SETTINGS)
    classifier = MobileBertClassifier(backbone=backbone, num_classes=2)
    rng = np.random.RandomState(seed)
    for variable in classifier.weights:
        variable.assign(rng.normal(size=variable.shape).astype("float32"))
    return classifier


def test_the_bridge_copies_every_weight_to_its_own_block():
    # Every block has layers of the same names (NoNorm starts at ones and
    # zeros in all of them): with distinct values everywhere, a weight
    # copied into another block shows.
    source = _distinct_classifier(seed=0)
    twin = qt.build_tf_keras_twin(source)
    twin_values = {n: v.numpy() for n, v in qt.twin_variables(twin).items()}
    for variable in source.weights:
        value = variable.numpy()
        places = [
            name
            for name, twin_value in twin_values.items()
            if twin_value.shape == value.shape
            and np.array_equal(twin_value, value)
        ]
        assert len(places) == 1, (variable.path, places)
        assert _block(places[0]) == _block(variable.path), places
    expected = {v.path: v.numpy() for v in source.weights}
    # Back from the float twin and from the TF-MOT model, into a float
    # classifier and into a quantize_aware copy: each weight at its path.
    qat = qt.quantize_aware_tfmot(source)
    for tf_keras_model in (twin, qat):
        fresh = _distinct_classifier(seed=1)
        targets = (fresh, quantize_aware(_distinct_classifier(seed=2)))
        for target in targets:
            qt.copy_weights_back(tf_keras_model, target)
            got = {v.path: v.numpy() for v in target.weights}
            for path, value in expected.items():
                np.testing.assert_array_equal(got[path], value, err_msg=path)


def test_qat_fit_int8_export_and_copy_back(tmp_path):
    classifier = helpers.trained_classifier()
    texts, labels = helpers.toy_texts(256, seed=3)
    train = export.texts_to_inputs(classifier, texts, SEQUENCE_LENGTH)
    calibration = {k: v[:64] for k, v in _batch(train).items()}
    qat = qt.quantize_aware_tfmot(classifier, calibration_inputs=calibration)
    # The ranges start from the data, not from TF-MOT's [-6, 6].
    logits = qat.get_layer("quant_logits")
    logits_max = [w for w in logits.weights if "post_activation_max" in w.name]
    assert 0.0 < float(logits_max[0].numpy()) < 5.0
    qat.compile(
        optimizer=qt.tf_keras.optimizers.Adam(1e-3),
        loss=qt.tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    history = qat.fit(_batch(train), labels, batch_size=32, epochs=2, verbose=0)
    assert history.history["accuracy"][-1] >= 0.8, history.history

    test_texts, test_labels = helpers.toy_texts(64, seed=4)
    test = export.texts_to_inputs(classifier, test_texts, SEQUENCE_LENGTH)
    path = tmp_path / "tfmot_int8.tflite"
    result = export.export_tfmot_int8(
        qat,
        path,
        sequence_length=SEQUENCE_LENGTH,
        representative_data=_batch_rows(train),
        sample_data=_batch_rows(test),
        log=None,
    )
    tflite_bytes = path.read_bytes()
    # Builtin int8 ops only, the encoder computing in int8 throughout.
    export.check_builtin_ops(tflite_bytes)
    assert not [op for op in result.ops if op.startswith("Flex")]
    assert export.float_ops_on_main_path(tflite_bytes) == []
    # The file matches the tf_keras QAT model within int8 tolerance.
    print(f"int8 vs tf_keras QAT: {result.summary()}")
    assert result.relative_error < 0.1, result.summary()
    assert result.label_agreement >= 0.95
    outputs = export.run_tflite(tflite_bytes, test)["probabilities"]
    accuracy = float(np.mean(outputs.argmax(-1) == test_labels))
    assert accuracy >= 0.8

    # Back to Keras 3: float weights into the classifier, weights and
    # ranges into a quantize_aware copy, which then agrees with TF-MOT.
    native = quantize_aware(classifier)
    summary = qt.copy_weights_back(qat, native)
    # Only the logits layer's input, behind the head's float LayerNorm.
    assert summary["ranges_not_set"] == ["logits/input_quantizer"]
    assert summary["ranges"] > 0
    x = _batch(test)
    reference = np.asarray(qat(x, training=False))
    got = keras.ops.convert_to_numpy(native(x, training=False))
    agreement = float(np.mean(reference.argmax(-1) == got.argmax(-1)))
    assert agreement >= 0.95
    qt.copy_weights_back(qat, classifier)
    twin = qt.build_tf_keras_twin(classifier)
    for name, variable in qt.twin_variables(twin).items():
        trained = qt.twin_variables(qat)[name]
        np.testing.assert_array_equal(variable.numpy(), trained.numpy())


def _batch_rows(samples):
    return [{k: v[0] for k, v in sample.items()} for sample in samples]


def test_float_twin_of_a_question_answerer_matches_keras_3():
    qa = qa_helpers.untrained_question_answerer()
    x = backbone_inputs(batch=3, length=SEQUENCE_LENGTH)
    twin = qt.build_tf_keras_twin(qa)
    assert sorted(twin.output) == ["end_logits", "start_logits"]
    reference = qa(x)
    assert _max_error(reference, twin(x)) <= 1e-5


def _windows_rows(windows):
    inputs = windows.inputs()
    return [{k: v[i] for k, v in inputs.items()} for i in range(len(windows))]


def test_qat_question_answerer_fits_exports_int8_and_copies_back(tmp_path):
    from keras_mobilebert.models.mobilebert.span_decoding import decode_answers

    qa = qa_helpers.trained_question_answerer()
    questions, contexts, answers, starts = qa_helpers.toy_pairs(256, seed=3)
    train = qa.preprocessor.encode((questions, contexts), (answers, starts))
    calibration = {k: v[:64] for k, v in train.inputs().items()}
    qat = qt.quantize_aware_tfmot(qa, calibration_inputs=calibration)
    # The span head is wrapped like every dense layer of the encoder.
    assert isinstance(
        qat.get_layer("quant_qa_outputs"), qt.quantize.QuantizeWrapperV2
    )
    loss = qt.tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    qat.compile(
        optimizer=qt.tf_keras.optimizers.Adam(1e-3),
        loss={"start_logits": loss, "end_logits": loss},
    )
    history = qat.fit(
        train.inputs(), train.labels(), batch_size=32, epochs=2, verbose=0
    )
    assert np.isfinite(history.history["loss"]).all()

    test_q, test_c, test_a, _ = qa_helpers.toy_pairs(32, seed=4)
    test = qa.preprocessor.encode((test_q, test_c))
    path = tmp_path / "qa_tfmot_int8.tflite"
    result = export.export_tfmot_int8(
        qat,
        path,
        sequence_length=qa_helpers.SEQUENCE_LENGTH,
        representative_data=_windows_rows(train),
        sample_data=_windows_rows(test),
        log=None,
    )
    tflite_bytes = path.read_bytes()
    assert not [op for op in result.ops if op.startswith("Flex")]
    assert export.float_ops_on_main_path(tflite_bytes) == []
    assert result.relative_error < 0.1, result.summary()
    assert result.label_agreement >= 0.9, result.summary()
    # The int8 file answers the toy questions.
    samples = [
        {
            "ids": row["token_ids"][None],
            "mask": row["padding_mask"][None],
            "segment_ids": row["segment_ids"][None],
        }
        for row in _windows_rows(test)
    ]
    outputs = export.run_tflite(tflite_bytes, samples)
    shape = test.token_ids.shape
    found = decode_answers(
        test,
        outputs["start_logits"].reshape(shape),
        outputs["end_logits"].reshape(shape),
    )
    assert sum(a.text == t for a, t in zip(found, test_a)) >= 30

    # Back to Keras 3: weights and ranges into a quantize_aware copy.
    native = quantize_aware(qa)
    summary = qt.copy_weights_back(qat, native)
    assert summary["ranges"] > 0
    assert not [p for p in summary["ranges_not_set"] if "qa_outputs" in p]
    x = test.inputs()
    reference = qat(x, training=False)
    got = native(x, training=False)
    for name in ("start_logits", "end_logits"):
        same = np.asarray(reference[name]).argmax(-1) == np.asarray(
            got[name]
        ).argmax(-1)
        assert np.mean(same) >= 0.9, name


def test_importing_the_bridge_restores_keras_3():
    script = (
        "import os, keras, numpy as np\n"
        "import tensorflow as tf\n"
        "from keras_mobilebert.quantization import tfmot\n"
        "print(os.environ.get('TF_USE_LEGACY_KERAS'))\n"
        "print(tf.keras.version().split('.')[0])\n"
        "print(keras.layers.Dense(2)(np.ones((1, 3))).shape[-1])\n"
    )
    out = run_python(script).split()
    assert out[-3:] == ["None", "3", "2"]
