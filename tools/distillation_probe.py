"""Linear probe of frozen features: what did distillation put in a student?

Fine-tuning accuracy mixes two things: what the student learned from the
teacher and how well a short fine-tuning run exploits it. This probe
isolates the first: the backbone is frozen, its sequence output is
mean-pooled over real tokens, standardized, and a logistic regression is
trained on the Rotten Tomatoes training sentences and scored on the test
sentences. It is run on students saved by `DistillationRun` (their
`student/` preset directories), on the same architecture at random
initialization (with a random word table, and with the table from the
teacher's principal components), and on the MiniLM-L6 teacher itself.

Usage:
    python tools/distillation_probe.py runs/distillation_check/a_*/student
"""

import argparse
import pathlib
import sys

import keras
import numpy as np
import tensorflow as tf

ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import keras_hub  # noqa: E402

import keras_mobilebert  # noqa: E402
from keras_mobilebert.data.pretrained_teachers import minilm_l6_snapshot  # noqa: E402
from keras_mobilebert.distillation.embedding_init import (  # noqa: E402
    init_student_embeddings_from_teacher,
)
from tools.distillation_check import STUDENT  # noqa: E402
from tools.distillation_check import encode  # noqa: E402


def features(backbone, inputs, batch_size=100):
    pooled = []
    n = len(inputs["token_ids"])
    for start in range(0, n, batch_size):
        batch = {k: v[start : start + batch_size] for k, v in inputs.items()}
        sequence = backbone(batch, training=False)["sequence_output"]
        mask = tf.cast(batch["padding_mask"], sequence.dtype)[..., None]
        pooled.append(
            (tf.reduce_sum(sequence * mask, 1) / tf.reduce_sum(mask, 1)).numpy()
        )
    return np.concatenate(pooled)


def probe(train_x, train_y, test_x, test_y, seed=0):
    mean, std = train_x.mean(0), train_x.std(0) + 1e-6
    train_x, test_x = (train_x - mean) / std, (test_x - mean) / std
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((train_x.shape[1],)),
            keras.layers.Dense(
                2, kernel_regularizer=keras.regularizers.L2(1e-3)
            ),
        ]
    )
    model.compile(
        keras.optimizers.Adam(1e-2),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(train_x, train_y, batch_size=len(train_y), epochs=300, verbose=0)
    return float(model.evaluate(test_x, test_y, verbose=0)[1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("students", nargs="*")
    parser.add_argument("--sequence-length", type=int, default=64)
    parser.add_argument("--skip-teacher", action="store_true")
    args = parser.parse_args(argv)
    tokenizer = keras_mobilebert.MobileBertTokenizer(
        vocabulary=keras_mobilebert.data.bert_uncased_vocabulary(),
        lowercase=True,
    )
    train_texts, train_y = keras_mobilebert.data.load_rotten_tomatoes("train")
    test_texts, test_y = keras_mobilebert.data.load_rotten_tomatoes("test")
    train = encode(tokenizer, train_texts, args.sequence_length)
    test = encode(tokenizer, test_texts, args.sequence_length)

    teacher = keras_hub.models.BertBackbone.from_preset(minilm_l6_snapshot())
    models = {}
    keras.utils.set_random_seed(0)
    models["random init"] = keras_mobilebert.MobileBertBackbone(**STUDENT)
    # The distilled students' starting point: the word table from the
    # teacher's principal components, blocks random.
    keras.utils.set_random_seed(0)
    models["random init + PCA embeddings"] = (
        keras_mobilebert.MobileBertBackbone(**STUDENT)
    )
    init_student_embeddings_from_teacher(
        models["random init + PCA embeddings"], teacher
    )
    for path in args.students:
        models[path] = keras_hub.models.Backbone.from_preset(path)
    if not args.skip_teacher:
        models["MiniLM-L6 teacher"] = teacher
    print(f"{'model':<50}{'probe accuracy':>16}")
    for name, backbone in models.items():
        accuracy = probe(
            features(backbone, train), train_y, features(backbone, test), test_y
        )
        print(f"{name:<50}{accuracy:>16.4f}", flush=True)


if __name__ == "__main__":
    main()
