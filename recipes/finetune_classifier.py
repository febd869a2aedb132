"""Fine-tune a MobileBERT classifier, step by step.

The main job (`keras-mobilebert finetune`) as a script to copy: it uses the
same building blocks (`keras_mobilebert.finetune`) on the embedded default
configuration, and shows where your own data goes.

    python recipes/finetune_classifier.py --epochs 4 --output runs/recipe

Steps:
1. Load labelled sentences (here: the Rotten Tomatoes sentences; replace
   `load_data` with your own lists of texts and integer labels).
2. Build a classifier of a preset's architecture, its word table started
   from the pretrained MiniLM-L6 teacher's (the config's `init`,
   `teacher_word_table`). With converted weights in the cache,
   `MobileBertClassifier.from_preset("mobilebert_en_uncased",
   num_classes=2)` starts from the released model instead.
3. Fine-tune on a shuffled `tf.data` pipeline of raw strings; the
   classifier's preprocessor tokenizes inside the pipeline.
4. Evaluate on the held-out split and classify new sentences.
5. Save a KerasHub preset and load it back.
6. Export it to a verified int8 LiteRT file and score the file on the
   held-out split.
"""

import argparse

import keras
import numpy as np

from keras_mobilebert import MobileBertClassifier
from keras_mobilebert.finetune import build_classifier
from keras_mobilebert.finetune import compile_for_finetuning
from keras_mobilebert.finetune import export_classifier
from keras_mobilebert.finetune import load_config
from keras_mobilebert.finetune import load_data
from keras_mobilebert.finetune import save_preset
from keras_mobilebert.finetune import text_dataset


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--output", default="runs/recipe_finetune")
    args = parser.parse_args()

    # 1. Data and configuration.
    config = load_config(epochs=args.epochs)
    (train_x, train_y), (test_x, test_y), label_names = load_data(config)

    # 2. Model: the preset's architecture; the word table starts from the
    # MiniLM-L6 teacher's (config "init"), the blocks from random weights.
    classifier = build_classifier(config, num_classes=len(label_names))
    classifier.summary()

    # 3. Fine-tune on raw strings.
    train = text_dataset(train_x, train_y, config["batch_size"], shuffle_seed=0)
    steps = config["epochs"] * int(train.cardinality())
    compile_for_finetuning(classifier, config, steps)
    classifier.fit(train, epochs=config["epochs"], shuffle=False)

    # 4. Evaluate and predict.
    test = text_dataset(test_x, test_y, config["batch_size"])
    loss, accuracy = classifier.evaluate(test, verbose=0)
    print(f"held-out accuracy {accuracy:.4f} (loss {loss:.4f})")
    sentences = ["An utterly charming film.", "Tedious and badly written."]
    probabilities = keras.ops.softmax(classifier.predict(sentences)).numpy()
    for sentence, p in zip(sentences, probabilities):
        print(f"{label_names[int(np.argmax(p))]:>8} {p.max():.2f}  {sentence}")

    # 5. Save and reload.
    preset = save_preset(classifier, f"{args.output}/preset")
    restored = MobileBertClassifier.from_preset(str(preset), compile=False)
    print("reloaded:", restored.predict(sentences).argmax(-1))

    # 6. A verified int8 LiteRT file, scored on the held-out split (needs
    # the litert extra; config["export"] says how, None skips it).
    if config["export"]:
        export_classifier(
            restored,
            config["export"],
            train_x,
            test_x,
            test_y,
            label_names,
            args.output,
        )


if __name__ == "__main__":
    main()
