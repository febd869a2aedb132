"""Hugging Face snapshot directories: finding, downloading and reading them.

A snapshot is a directory with `config.json`, one weights file (see
`WEIGHT_FILES`, in order of preference) and the vocabulary (`vocab.txt` or
`tokenizer.json`); `hf://owner/name[@revision]` is downloaded through
`huggingface_hub` first.
"""

import json
import pathlib

from keras_mobilebert.convert.weights import ConversionError

WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "tf_model.h5",
    "pytorch_model.bin",
)
_SNAPSHOT_FILES = (
    "config.json",
    "vocab.txt",
    "tokenizer.json",
    "tokenizer_config.json",
)


def is_hf_snapshot(path):
    """Whether `path` is a local directory holding an HF MobileBERT model.

    KerasHub presets also have a `config.json`; theirs names a Keras class,
    an HF one has `model_type`.
    """
    config = pathlib.Path(path) / "config.json"
    if not config.is_file():
        return False
    try:
        data = json.loads(config.read_text())
    except ValueError:
        return False
    return isinstance(data, dict) and data.get("model_type") == "mobilebert"


def is_hf_mobilebert(preset):
    """Whether `preset` is an HF MobileBERT snapshot dir or `hf://` handle.

    A local directory is checked offline. For `hf://`, the repository's
    `config.json` is fetched (KerasHub-format presets on the Hub have a
    `config.json` naming a Keras class, not `"model_type": "mobilebert"`).
    """
    preset = str(preset)
    if preset.startswith("hf://"):
        try:
            import huggingface_hub
        except ImportError:
            return False
        repo = preset[len("hf://") :]
        revision = None
        if "@" in repo:
            repo, revision = repo.split("@", 1)
        try:
            path = huggingface_hub.hf_hub_download(
                repo, "config.json", revision=revision
            )
        except Exception as e:
            raise ConversionError(
                f"Could not fetch config.json of {preset}: {e}"
            ) from e
        return is_hf_snapshot(pathlib.Path(path).parent)
    return pathlib.Path(preset).is_dir() and is_hf_snapshot(preset)


def download_snapshot(handle, cache_dir=None):
    """Download the files of `hf://owner/name[@revision]` that we need.

    Only `config.json`, the tokenizer files and one weights file are
    fetched, preferring safetensors, then `tf_model.h5`, then
    `pytorch_model.bin`.

    Returns:
        The local snapshot directory.

    Example:
    ```python
    path = download_snapshot("hf://google/mobilebert-uncased")
    ```
    """
    try:
        import huggingface_hub
    except ImportError:
        raise ConversionError(
            f"Loading {handle} needs huggingface_hub: pip install "
            "huggingface_hub (or keras-mobilebert[convert]), or pass a local "
            "snapshot directory."
        ) from None
    repo = handle[len("hf://") :] if handle.startswith("hf://") else handle
    revision = None
    if "@" in repo:
        repo, revision = repo.split("@", 1)
    files = set(huggingface_hub.list_repo_files(repo, revision=revision))
    weights = [name for name in WEIGHT_FILES if name in files]
    if not weights:
        raise ConversionError(
            f"{handle} has none of the weight files {list(WEIGHT_FILES)}."
        )
    chosen = weights[0]
    patterns = [name for name in _SNAPSHOT_FILES if name in files] + [chosen]
    if chosen.endswith(".index.json"):
        patterns.append("model-*.safetensors")
    return huggingface_hub.snapshot_download(
        repo,
        revision=revision,
        allow_patterns=patterns,
        cache_dir=cache_dir,
    )


def resolve_snapshot(src):
    """A local snapshot directory for a path or an `hf://` handle."""
    src = str(src)
    if src.startswith("hf://"):
        return pathlib.Path(download_snapshot(src))
    path = pathlib.Path(src)
    if not path.is_dir():
        raise ConversionError(f"{src} is not a directory or an hf:// handle.")
    if not (path / "config.json").is_file():
        raise ConversionError(f"{src} has no config.json.")
    return path


def find_weights_file(snapshot):
    for name in WEIGHT_FILES:
        if (snapshot / name).is_file():
            return snapshot / name
    raise ConversionError(
        f"{snapshot} has no weights file; looked for {list(WEIGHT_FILES)}."
    )


def _read_json_object(path):
    """A snapshot's JSON file as a dict; a `ConversionError` names the file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise ConversionError(f"{path} is not valid JSON: {e}") from e
    if not isinstance(data, dict):
        raise ConversionError(f"{path} does not hold a JSON object.")
    return data


def read_hf_config(snapshot):
    return _read_json_object(snapshot / "config.json")


def _normalizer_settings(normalizer):
    """`(lowercase, strip_accents)` of a `tokenizer.json` normalizer.

    A `BertNormalizer` states both (`strip_accents` null: follows
    `lowercase`); a `Sequence` lowercases if it holds a `Lowercase` step
    and strips accents if it holds a `StripAccents` step. Unknown: None.
    """
    if not isinstance(normalizer, dict):
        return None, None
    kind = normalizer.get("type")
    if kind == "BertNormalizer":
        return normalizer.get("lowercase"), normalizer.get("strip_accents")
    if kind == "Sequence":
        steps = [
            step.get("type")
            for step in normalizer.get("normalizers") or []
            if isinstance(step, dict)
        ]
        return "Lowercase" in steps, "StripAccents" in steps
    return None, None


def read_vocabulary(snapshot):
    """The vocabulary and the tokenizer settings of an HF snapshot.

    Reads `vocab.txt`, else the WordPiece vocabulary of `tokenizer.json`.
    The settings follow Hugging Face's `BertTokenizer`: `do_lower_case`
    and `strip_accents` of `tokenizer_config.json`, else the
    `tokenizer.json` normalizer's (transformers lets the config's values
    override the normalizer's), else lowercasing; `strip_accents` unset
    or null follows the lowercasing (BERT's uncased tokenizer strips
    accents).

    Returns:
        `(vocabulary, settings)`: `vocabulary` is None when the snapshot
        has no vocabulary file; `settings` is a dict of
        `MobileBertTokenizer` arguments, `lowercase` and `strip_accents`.

    Example:
    ```python
    vocabulary, settings = read_vocabulary(snapshot)
    tokenizer = MobileBertTokenizer(vocabulary=vocabulary, **settings)
    ```
    """
    snapshot = pathlib.Path(snapshot)
    vocabulary = None
    tokenizer_json = None
    if (snapshot / "tokenizer.json").is_file():
        tokenizer_json = _read_json_object(snapshot / "tokenizer.json")
    if (snapshot / "vocab.txt").is_file():
        text = (snapshot / "vocab.txt").read_text(encoding="utf-8")
        vocabulary = text.splitlines()
        while vocabulary and vocabulary[-1] == "":
            vocabulary.pop()
    elif tokenizer_json is not None:
        vocab = (tokenizer_json.get("model") or {}).get("vocab")
        if not isinstance(vocab, dict):
            raise ConversionError(
                f"{snapshot / 'tokenizer.json'} has no WordPiece vocabulary."
            )
        vocabulary = [None] * len(vocab)
        for token, index in vocab.items():
            if not 0 <= index < len(vocab) or vocabulary[index] is not None:
                raise ConversionError(
                    f"{snapshot / 'tokenizer.json'}: vocabulary ids are not "
                    f"0..{len(vocab) - 1} (bad id {index} for {token!r})."
                )
            vocabulary[index] = token
    lowercase = strip_accents = None
    if tokenizer_json is not None:
        lowercase, strip_accents = _normalizer_settings(
            tokenizer_json.get("normalizer")
        )
    if (snapshot / "tokenizer_config.json").is_file():
        tokenizer_config = _read_json_object(snapshot / "tokenizer_config.json")
        if "do_lower_case" in tokenizer_config:
            lowercase = tokenizer_config["do_lower_case"]
        if tokenizer_config.get("strip_accents") is not None:
            strip_accents = tokenizer_config["strip_accents"]
    lowercase = True if lowercase is None else bool(lowercase)
    strip_accents = lowercase if strip_accents is None else bool(strip_accents)
    return vocabulary, {"lowercase": lowercase, "strip_accents": strip_accents}
