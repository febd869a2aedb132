"""The tokenizer settings of HF snapshots: lowercasing and accents."""

import json

import pytest

import keras_mobilebert
from keras_mobilebert.convert.hf_snapshot import read_vocabulary

from .parity import FIXTURES

SNAPSHOT = FIXTURES / "mobilebert" / "hf"
VOCAB = (SNAPSHOT / "vocab.txt").read_text().splitlines()


def _snapshot(tmp_path, tokenizer_config=None, normalizer=None, vocab=VOCAB):
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "vocab.txt").write_text("\n".join(vocab) + "\n")
    (tmp_path / "config.json").write_text(
        (SNAPSHOT / "config.json").read_text()
    )
    if tokenizer_config is not None:
        (tmp_path / "tokenizer_config.json").write_text(
            json.dumps(tokenizer_config)
        )
    if normalizer is not None:
        (tmp_path / "tokenizer.json").write_text(
            json.dumps({"normalizer": normalizer, "model": {}})
        )
    return tmp_path


BERT_NORMALIZER = {
    "type": "BertNormalizer",
    "clean_text": True,
    "handle_chinese_chars": True,
    "strip_accents": None,
    "lowercase": True,
}


@pytest.mark.parametrize(
    "tokenizer_config, normalizer, expected",
    [
        # google/mobilebert-uncased: do_lower_case, no strip_accents.
        ({"do_lower_case": True}, None, (True, True)),
        ({"do_lower_case": True, "strip_accents": None}, None, (True, True)),
        ({"do_lower_case": True, "strip_accents": False}, None, (True, False)),
        ({"do_lower_case": False}, None, (False, False)),
        ({"do_lower_case": False, "strip_accents": True}, None, (False, True)),
        (None, BERT_NORMALIZER, (True, True)),
        (None, {**BERT_NORMALIZER, "strip_accents": False}, (True, False)),
        (None, {**BERT_NORMALIZER, "lowercase": False}, (False, False)),
        (
            None,
            {
                "type": "Sequence",
                "normalizers": [
                    {"type": "NFD"},
                    {"type": "Lowercase"},
                    {"type": "StripAccents"},
                ],
            },
            (True, True),
        ),
        # The config's values win over the normalizer's, as in transformers.
        ({"do_lower_case": False}, BERT_NORMALIZER, (False, False)),
        # Nothing said: BertTokenizer's defaults.
        (None, None, (True, True)),
    ],
)
def test_snapshot_settings(tmp_path, tokenizer_config, normalizer, expected):
    path = _snapshot(tmp_path, tokenizer_config, normalizer)
    vocabulary, settings = read_vocabulary(path)
    assert vocabulary == VOCAB
    assert (settings["lowercase"], settings["strip_accents"]) == expected
    tokenizer = keras_mobilebert.MobileBertTokenizer.from_preset(str(path))
    assert (tokenizer.lowercase, tokenizer.strip_accents) == expected


ACCENTED = VOCAB[:5] + ["cafe", "café", "Café", "e", "é", "straße", "ss"]


@pytest.mark.parametrize(
    "config, text, ids",
    [
        # "cafe", "e", "straße": accents dropped, ß kept (no NFKC folding).
        ({"do_lower_case": True}, "Café É Straße", [5, 8, 10]),
        # Lowercasing alone is KerasHub's NFKC case folding, which folds ß
        # to ss where HF keeps it; the ids agree on text without such
        # characters.
        ({"do_lower_case": True, "strip_accents": False}, "Café É", [6, 9]),
        ({"do_lower_case": False}, "Café É Straße", [7, 1, 1]),
    ],
)
def test_settings_agree_with_transformers(tmp_path, config, text, ids):
    transformers = pytest.importorskip("transformers")
    path = _snapshot(tmp_path, config, vocab=ACCENTED)
    hf = transformers.BertTokenizer.from_pretrained(str(path))
    ours = keras_mobilebert.MobileBertTokenizer.from_preset(str(path))
    assert hf(text, add_special_tokens=False)["input_ids"] == ids
    assert list(map(int, ours(text))) == ids


def test_converted_preset_records_the_settings(tmp_path):
    path = _snapshot(tmp_path / "snapshot", {"do_lower_case": True})
    (path / "model.safetensors").write_bytes(
        (SNAPSHOT / "model.safetensors").read_bytes()
    )
    converted = keras_mobilebert.convert.convert_snapshot(path)
    assert (converted.lowercase, converted.strip_accents) == (True, True)
    keras_mobilebert.convert.save_preset(converted, tmp_path / "preset")
    config = json.loads((tmp_path / "preset" / "tokenizer.json").read_text())
    assert config["config"]["strip_accents"] is True
    tokenizer = keras_mobilebert.MobileBertTokenizer.from_preset(
        str(tmp_path / "preset")
    )
    assert tokenizer.strip_accents
