"""Linear probe of frozen features: what did distillation put in a student?

Fine-tuning accuracy mixes two things: what the student learned from the
teacher and how well a short fine-tuning run exploits it. This probe
isolates the first: the backbone is frozen, its sequence output is
mean-pooled over real tokens, standardized, and a logistic regression is
trained on the Rotten Tomatoes training sentences and scored on the test
sentences (`keras_mobilebert.distillation.evaluation`). It is run on
students saved by `DistillationRun` (their `student/` preset directories),
on the same architecture at random initialization (with a random word
table, and with the table from the teacher's principal components), and on
the MiniLM-L6 teacher itself.

Usage:
    python tools/distillation_probe.py runs/distillation_check/a_*/student
"""

import argparse
import pathlib
import sys

import keras

ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import keras_hub  # noqa: E402

import keras_mobilebert  # noqa: E402
from keras_mobilebert.distillation.embedding_init import (  # noqa: E402
    init_student_embeddings_from_teacher,
)
from keras_mobilebert.distillation.evaluation import encode_texts  # noqa: E402
from keras_mobilebert.distillation.evaluation import linear_probe_accuracy  # noqa: E402
from keras_mobilebert.distillation.evaluation import mean_pooled_features  # noqa: E402
from keras_mobilebert.distillation.teacher_student import load_teacher  # noqa: E402
from tools.distillation_check import STUDENT  # noqa: E402


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
    train = encode_texts(tokenizer, train_texts, args.sequence_length)
    test = encode_texts(tokenizer, test_texts, args.sequence_length)

    teacher = load_teacher("minilm_l6")
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
        accuracy = linear_probe_accuracy(
            mean_pooled_features(backbone, train),
            train_y,
            mean_pooled_features(backbone, test),
            test_y,
        )
        print(f"{name:<50}{accuracy:>16.4f}", flush=True)


if __name__ == "__main__":
    main()
