"""Offline text augmentation for task distillation.

TinyBERT (Jiao et al. 2020) grows a task's training set about twentyfold
by replacing words: single word pieces with a BERT MLM's guesses, other
words with GloVe neighbours. The offline MiniLM teacher has no MLM head
and no GloVe is at hand, so words are replaced by their nearest
neighbours (cosine) in a word-embedding table: the teacher's, a
pretrained one. Two cheap edits are mixed in (Wei and Zou 2019's random
deletion and swap of neighbouring words). Each augmented text is a new
unlabelled example: the teacher labels it (neighbours in an embedding
table are often antonyms, "good" and "bad", so the original label would
be wrong; the teacher's soft label is what the student learns from).

Words are whitespace-separated; only words that are a single whole-word
token of the vocabulary (alphabetic, not `##` pieces, not `[special]`)
are replaced, by such words. Every output keeps at least one word and
differs from its source. Give user text that is in-domain and unlabelled
as extra training text the same way. Never augment held-out text:
`check_disjoint` refuses training text that appears in a held-out set.
"""

import numpy as np

from keras_mobilebert.utils.errors import InputFormatError


def _is_whole_word(token):
    return token.isalpha() and not token.startswith("##")


class WordNeighbours:
    """Nearest whole-word neighbours in a word-embedding table.

    Args:
        vocabulary: list of strings, the table's tokens in id order.
        embeddings: `(len(vocabulary), dim)` array.
        num_neighbours: int. Candidates kept per word (TinyBERT's K: 15).
        words: iterable of strings or None. The words to find neighbours
            of (e.g. every word of the training text); None means all
            whole-word tokens (slower).
        chunk: int. Query rows per matrix product (bounds memory).

    Example:
    ```python
    neighbours = WordNeighbours.from_model(teacher, words=train_words)
    neighbours["great"]  # ['good', 'wonderful', ...]
    ```
    """

    def __init__(
        self, vocabulary, embeddings, num_neighbours=15, words=None, chunk=512
    ):
        embeddings = np.asarray(embeddings, dtype="float32")
        if len(vocabulary) != len(embeddings):
            raise ValueError(
                f"{len(vocabulary)} vocabulary tokens for "
                f"{len(embeddings)} embedding rows."
            )
        candidates = [i for i, t in enumerate(vocabulary) if _is_whole_word(t)]
        if len(candidates) < 2:
            raise ValueError("The vocabulary has fewer than 2 whole words.")
        table = embeddings[candidates]
        table = table / np.maximum(
            np.linalg.norm(table, axis=1, keepdims=True), 1e-12
        )
        position = {vocabulary[i]: k for k, i in enumerate(candidates)}
        if words is None:
            queries = sorted(position)
        else:
            queries = sorted({w for w in words if w in position})
        k = min(num_neighbours, len(candidates) - 1)
        self._neighbours = {}
        for start in range(0, len(queries), chunk):
            block = queries[start : start + chunk]
            rows = np.array([position[w] for w in block])
            similarity = table[rows] @ table.T
            similarity[np.arange(len(block)), rows] = -np.inf  # not itself
            top = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
            for word, row, sims in zip(block, top, similarity):
                ranked = row[np.argsort(-sims[row], kind="stable")]
                self._neighbours[word] = [
                    vocabulary[candidates[j]] for j in ranked
                ]

    @classmethod
    def from_model(cls, model, vocabulary=None, **kwargs):
        """Neighbours in a model's word table (a classifier or backbone).

        Args:
            model: a KerasHub task or backbone with `token_embedding`.
            vocabulary: list of strings, or None to take the model's
                preprocessor tokenizer's.
            **kwargs: `num_neighbours`, `words`, `chunk`.
        """
        backbone = getattr(model, "backbone", model)
        if vocabulary is None:
            vocabulary = model.preprocessor.tokenizer.get_vocabulary()
        table = backbone.token_embedding.embeddings
        return cls(list(vocabulary), np.asarray(table), **kwargs)

    def __contains__(self, word):
        return word in self._neighbours

    def __getitem__(self, word):
        return self._neighbours[word]

    def __len__(self):
        return len(self._neighbours)


def _replacement(word, neighbours, rng):
    key = word.lower()
    if key not in neighbours:
        return word
    choice = neighbours[key][rng.randint(len(neighbours[key]))]
    return choice.capitalize() if word[:1].isupper() else choice


def augment_text(
    text,
    neighbours,
    rng,
    replace_probability=0.4,
    delete_probability=0.1,
    swap_probability=0.1,
):
    """One augmented version of `text` (may equal it; see `augment_texts`).

    Each word with neighbours is replaced by a random one of them with
    `replace_probability`; each word not replaced is deleted with
    `delete_probability`; then each adjacent pair is swapped with
    `swap_probability`. At least one word always remains.

    Args:
        text: string.
        neighbours: a `WordNeighbours`.
        rng: a `numpy.random.RandomState`.
        replace_probability: float.
        delete_probability: float.
        swap_probability: float.
    """
    words = text.split()
    out = []
    for word in words:
        replaceable = word.lower() in neighbours
        if replaceable and rng.rand() < replace_probability:
            out.append(_replacement(word, neighbours, rng))
        elif rng.rand() >= delete_probability:
            out.append(word)
    if not out:
        out = [words[rng.randint(len(words))]]
    for i in range(len(out) - 1):
        if rng.rand() < swap_probability:
            out[i], out[i + 1] = out[i + 1], out[i]
    return " ".join(out)


def augment_texts(
    texts,
    neighbours,
    copies=4,
    seed=0,
    max_tries=5,
    **probabilities,
):
    """Augmented copies of every text, reproducible from `seed`.

    Args:
        texts: list of strings (for sentence pairs, the segment to vary;
            TinyBERT varies the first).
        neighbours: a `WordNeighbours`.
        copies: int. Augmented texts wanted per source text (TinyBERT used
            20).
        seed: int.
        max_tries: int. Draws per copy before giving up on a text whose
            edits keep giving back the source or a copy already made (a
            one-word text without neighbours has none to give).
        **probabilities: `replace_probability`, `delete_probability`,
            `swap_probability` (see `augment_text`).

    Returns:
        `(augmented, sources)`: a list of new, non-empty strings, each
        different from its source and from the other copies of it, and an
        int array of the source index of each.

    Example:
    ```python
    neighbours = WordNeighbours.from_model(teacher, words=words)
    extra, sources = augment_texts(train.segments[0], neighbours, copies=8)
    ```
    """
    rng = np.random.RandomState(seed)
    augmented, sources = [], []
    for index, text in enumerate(texts):
        if not text.split():
            raise ValueError(f"Text {index} is empty; nothing to augment.")
        made = {" ".join(text.split())}
        for _ in range(copies):
            for _ in range(max_tries):
                candidate = augment_text(text, neighbours, rng, **probabilities)
                if candidate not in made:
                    made.add(candidate)
                    augmented.append(candidate)
                    sources.append(index)
                    break
    return augmented, np.asarray(sources, dtype="int64")


def check_disjoint(train_texts, heldout_texts, heldout_name="held-out set"):
    """Raise `InputFormatError` if a training text is also held out.

    Training on evaluation text (SST-2's dev sentences, or the Rotten
    Tomatoes sentences SST was built from) inflates every number after it.
    Texts are compared after lowercasing and collapsing whitespace.

    Args:
        train_texts: list of strings.
        heldout_texts: list of strings.
        heldout_name: string. Named in the error.

    Example:
    ```python
    check_disjoint(train.segments[0] + extra, dev.segments[0], "SST-2 dev")
    ```
    """

    def key(text):
        return " ".join(text.lower().split())

    heldout = {key(t): i for i, t in enumerate(heldout_texts)}
    for index, text in enumerate(train_texts):
        if key(text) in heldout:
            raise InputFormatError(
                f"Training text {index} ({text!r}) is also example "
                f"{heldout[key(text)]} of the {heldout_name}; keep "
                "evaluation text out of training."
            )
