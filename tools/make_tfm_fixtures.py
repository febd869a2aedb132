"""Model Garden MobileBERT files and their outputs, made by the real code.

Runs ONLY in the Model Garden environment (`.venv-tfm`: `pip install -r
tools/tfm_requirements.txt`, i.e. tf-models-official 2.20.0 with its own
TensorFlow 2.20, which keras_mobilebert, needing TensorFlow 2.21, cannot
share). It
imports nothing from keras_mobilebert, so the reference it writes is
independent of the converter under test.

With seeded random weights (every NoNorm scale and bias drawn away from
1 and 0, so no norm is trivially skipped) it builds
`official.nlp.modeling.networks.MobileBERTEncoder` and writes, under OUT:

- `tfm_checkpoint/`: `tf.train.Checkpoint(encoder=...).save(...)`, the
  Model Garden TF2 checkpoint;
- `savedmodel/` and `savedmodel.tar.gz`: the TF Hub / Kaggle layout
  (`export_tfhub`: a Keras model over the encoder with dict inputs
  `input_word_ids`, `input_mask`, `input_type_ids`, `assets/vocab.txt`, a
  `do_lower_case` variable), and the same folder as a `.tar.gz`;
- `model_maker/checkpoint/model-0001.*`: a MediaPipe Model Maker BERT text
  classifier (`hub.KerasLayer` of that SavedModel, `Dropout`,
  `Dense(num_classes, softmax, name="output")`), fitted one epoch and saved
  by `ModelCheckpoint(save_weights_only=True)` as Model Maker does (with
  `--released`, saved unfitted by `save_weights`, the same kind of file
  without optimizer slots: a fit of 24 blocks traces for minutes);
- `io.npz`: padded inputs (the second row half padding) and the encoder's
  `sequence_output`, `pooled_output` and the classifier's probabilities.

Usage:
    .venv-tfm/bin/python tools/make_tfm_fixtures.py --out DIR           # tiny
    .venv-tfm/bin/python tools/make_tfm_fixtures.py --released --out DIR
    # add --no-savedmodel-folder to keep only the .tar.gz (the checked-in
    # fixtures: tests/fixtures/convert/tfm/)
"""

import os

# tf-models-official builds tf_keras (Keras 2) models.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import pathlib  # noqa: E402
import shutil  # noqa: E402
import tarfile  # noqa: E402

import numpy as np  # noqa: E402

# The tiny configuration: MobileBERTEncoder's defaults (the released
# configuration) with these changes.
TINY = {
    "word_vocab_size": 60,
    "word_embed_size": 8,
    "max_sequence_length": 24,
    "num_blocks": 2,
    "hidden_size": 24,
    "num_attention_heads": 2,
    "intermediate_size": 16,
    "intra_bottleneck_size": 8,
    "num_feedforward_networks": 2,
}
NUM_CLASSES = 3


def released_config():
    """`MobileBERTEncoder.__init__`'s defaults, read from Model Garden itself.

    They are the released configuration
    (mobilebert_en_uncased_L-24_H-128_B-512_A-4_F-4_OPT); the converter's
    default must equal them, and the full-size check passes no config.
    """
    import inspect

    from official.nlp.modeling.networks import MobileBERTEncoder

    parameters = inspect.signature(MobileBERTEncoder.__init__).parameters
    return {
        name: p.default
        for name, p in parameters.items()
        if p.default is not inspect.Parameter.empty
        # How the mask is fed, not what is computed.
        and name != "input_mask_dtype"
    }


def randomize(variables, rng):
    """Seeded values: kernels ~ N(0, 0.5/sqrt(fan_in)), norms off 1 and 0."""
    for v in variables:
        shape = v.shape.as_list()
        name = v.name
        if name.endswith("gamma:0"):
            value = rng.uniform(0.6, 1.4, shape)
        elif name.endswith("beta:0") or name.endswith("bias:0"):
            value = rng.normal(0.0, 0.1, shape)
        elif "embeddings" in name:
            value = rng.normal(0.0, 0.5, shape)
        else:
            fan_in = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
            if len(shape) == 3 and "output" in name:
                # The attention output kernel [heads, head_dim, out].
                fan_in = shape[0] * shape[1]
            value = rng.normal(0.0, 0.5 / np.sqrt(fan_in), shape)
        v.assign(value.astype(v.dtype.as_numpy_dtype))


def make_inputs(config, length, rng):
    vocab = config["word_vocab_size"]
    ids = rng.integers(1, vocab, (2, length)).astype("int32")
    mask = np.ones((2, length), "int32")
    mask[1, length // 2 :] = 0
    ids[1, length // 2 :] = 0
    types = np.zeros((2, length), "int32")
    types[:, length // 4 : length // 2] = 1
    return ids, mask, types


INPUT_NAMES = ("input_word_ids", "input_mask", "input_type_ids")


def save_hub_savedmodel(encoder, config, out):
    """The TF Hub export (official/nlp/tools/export_tfhub_lib.py).

    A Keras model with dict inputs over the encoder, the vocabulary (a
    made-up one of the config's size, `out/vocab.txt`) as an asset and a
    `do_lower_case` variable, saved to `out/savedmodel`.
    """
    import tensorflow as tf
    import tf_keras

    vocab = out / "vocab.txt"
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokens += [f"w{i}" for i in range(config["word_vocab_size"] - 5)]
    vocab.write_text("\n".join(tokens) + "\n")
    inputs = {
        n: tf_keras.layers.Input(shape=(None,), dtype=tf.int32, name=n)
        for n in INPUT_NAMES
    }
    core = tf_keras.Model(
        inputs=inputs, outputs=encoder([inputs[n] for n in INPUT_NAMES])
    )
    core.vocab_file = tf.saved_model.Asset(str(vocab))
    core.do_lower_case = tf.Variable(True, trainable=False)
    saved = out / "savedmodel"
    core.save(str(saved), include_optimizer=False, save_format="tf")
    return saved


def model_maker_classifier(saved, num_classes, rng):
    """MediaPipe Model Maker's `_BertClassifier._create_model` over `saved`.

    `hub.KerasLayer`, `Dropout(0.1)` on the pooled output and
    `Dense(num_classes, softmax, name="output")`, its weights seeded.
    """
    import tensorflow as tf
    import tensorflow_hub as hub
    import tf_keras

    hub_layer = hub.KerasLayer(str(saved), trainable=True)
    inputs = {
        n: tf_keras.layers.Input(shape=(None,), dtype=tf.int32, name=n)
        for n in INPUT_NAMES
    }
    pooled = hub_layer(inputs)["pooled_output"]
    x = tf_keras.layers.Dropout(rate=0.1)(pooled)
    probs = tf_keras.layers.Dense(
        num_classes,
        kernel_initializer=tf_keras.initializers.TruncatedNormal(stddev=0.02),
        name="output",
        activation="softmax",
        dtype=tf.float32,
    )(x)
    classifier = tf_keras.Model(inputs=inputs, outputs=probs)
    randomize(classifier.get_layer("output").variables, rng)
    return classifier


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument(
        "--released",
        action="store_true",
        help="The released configuration (24 blocks) instead of a tiny one.",
    )
    parser.add_argument("--length", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--no-savedmodel-folder",
        action="store_true",
        help="Keep the SavedModel only as savedmodel.tar.gz.",
    )
    args = parser.parse_args()

    import tensorflow as tf
    import tf_keras
    from official.nlp.modeling.networks import MobileBERTEncoder

    config = released_config()
    if not args.released:
        config.update(TINY)
    length = args.length or (128 if args.released else 12)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    tf.random.set_seed(args.seed)

    encoder = MobileBERTEncoder(**config)
    randomize(encoder.variables, rng)
    ids, mask, types = make_inputs(config, length, rng)
    encoded = encoder([ids, mask, types], training=False)

    tf.train.Checkpoint(encoder=encoder).save(str(out / "tfm_checkpoint/ckpt"))
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")

    names = INPUT_NAMES
    saved = save_hub_savedmodel(encoder, config, out)
    vocab = out / "vocab.txt"
    with tarfile.open(out / "savedmodel.tar.gz", "w:gz") as tar:
        for path in sorted(saved.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(saved)), recursive=False)
    classifier = model_maker_classifier(saved, NUM_CLASSES, rng)
    checkpoints = out / "model_maker" / "checkpoint"
    batch = dict(zip(names, (ids, mask, types)))
    if args.released:
        # A fit of the 24-block model traces for minutes; the weights file
        # is the same kind, only without optimizer slots (the tiny fixture
        # has them).
        classifier.save_weights(str(checkpoints / "model-0001"))
    else:
        classifier.compile(
            optimizer=tf_keras.optimizers.Adam(1e-5),
            loss="sparse_categorical_crossentropy",
        )
        classifier.fit(
            batch,
            np.array([0, 2], "int32"),
            epochs=1,
            verbose=0,
            callbacks=[
                tf_keras.callbacks.ModelCheckpoint(
                    str(checkpoints / "model-{epoch:04d}"),
                    save_weights_only=True,
                )
            ],
        )
    classified = classifier(batch, training=False)
    # The fit moved the encoder's weights in the classifier only: the
    # classifier's own outputs are its reference.
    np.savez(
        out / "io.npz",
        input_word_ids=ids,
        input_mask=mask,
        input_type_ids=types,
        sequence_output=encoded["sequence_output"].numpy(),
        pooled_output=encoded["pooled_output"].numpy(),
        probabilities=classified.numpy(),
    )
    if args.no_savedmodel_folder:
        shutil.rmtree(saved)
    vocab.rename(out / "tfm_checkpoint" / "vocab.txt")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
