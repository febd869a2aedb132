"""LiteRT files of a MobileBERT classifier as Model Maker's recipes make them.

Runs ONLY in the Model Garden environment (`.venv-tfm`, `pip install -r
tools/tfm_requirements.txt`), like tools/make_tfm_fixtures.py, whose
encoder, TF Hub SavedModel and Model Maker classifier it reuses: the
released configuration with seeded random weights, the classifier of
MediaPipe Model Maker's `_BertClassifier._create_model`. Its
`export_model` then fixes the sequence length (inputs `input_word_ids`,
`input_mask`, `input_type_ids` of shape `[batch, seq_len]`), saves a
SavedModel and converts it with `model_util.convert_to_tflite_from_file`
(builtin ops only) and the chosen `QuantizationConfig`:

- `float32`: none, MediaPipe Model Maker's default;
- `dynamic`: `for_dynamic()` (`Optimize.DEFAULT`), TFLite Model Maker's
  default for text classifiers;
- `int8`: `for_int8(representative_data)` (`Optimize.DEFAULT`, int8 builtins
  only, uint8 output), with padded random token batches as the data.

Time them beside ours in keras_mobilebert's environment:

    keras-mobilebert benchmark --models mobilebert --modes float32 dynamic \
        int8 --qa-sequence-length 0 --compare "MM float32=OUT/float32.tflite" \
        "MM dynamic=OUT/dynamic.tflite" "MM int8=OUT/int8.tflite"

Usage:
    .venv-tfm/bin/python tools/model_maker_tflite.py --out DIR
"""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import argparse  # noqa: E402
import pathlib  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import make_tfm_fixtures as fixtures  # noqa: E402

MODES = ("float32", "dynamic", "int8")


def representative(config, length, count, seed):
    """Padded random token batches, as `for_int8`'s data would be."""
    rng = np.random.default_rng(seed)
    for _ in range(count):
        ids, mask, types = fixtures.make_inputs(config, length, rng)
        for row in range(ids.shape[0]):
            yield {
                "input_word_ids": ids[row : row + 1],
                "input_mask": mask[row : row + 1],
                "input_type_ids": types[row : row + 1],
            }


def convert(saved, mode, config, length, samples, seed):
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved))
    supported = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if mode in ("dynamic", "int8"):
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "int8":
        converter.representative_dataset = lambda: representative(
            config, length, samples, seed
        )
        converter.inference_input_type = tf.uint8
        converter.inference_output_type = tf.uint8
        supported = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.target_spec.supported_ops = supported
    return converter.convert()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--modes", nargs="+", choices=MODES, default=MODES)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--num-classes", type=int, default=2)
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import tensorflow as tf
    import tf_keras
    from official.nlp.modeling.networks import MobileBERTEncoder

    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    config = fixtures.released_config()
    encoder = MobileBERTEncoder(**config)
    fixtures.randomize(encoder.variables, rng)
    saved = fixtures.save_hub_savedmodel(encoder, config, out)
    classifier = fixtures.model_maker_classifier(saved, args.num_classes, rng)
    # `export_model`: constant-length inputs, batch left dynamic.
    inputs = {
        n: tf_keras.layers.Input(
            shape=(args.seq_len,), dtype=tf.int32, name=n, batch_size=None
        )
        for n in fixtures.INPUT_NAMES
    }
    constant = tf_keras.Model(inputs=inputs, outputs=classifier(inputs))
    constant_saved = out / "saved_model_constant_len"
    constant.save(
        str(constant_saved), include_optimizer=False, save_format="tf"
    )
    for mode in args.modes:
        start = time.time()
        data = convert(
            constant_saved, mode, config, args.seq_len, args.samples, args.seed
        )
        path = out / f"{mode}.tflite"
        path.write_bytes(data)
        print(
            f"{path}: {len(data) / 2**20:.1f} MiB in "
            f"{time.time() - start:.0f} s",
            flush=True,
        )


if __name__ == "__main__":
    main()
