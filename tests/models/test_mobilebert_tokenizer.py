import numpy as np
import pytest
import tensorflow as tf
from keras_hub.src.tests.test_case import TestCase

from keras_mobilebert import MobileBertTokenizer
from keras_mobilebert.data.squad import read_squad
from keras_mobilebert.data.vocabularies import vocabulary_path
from keras_mobilebert.models.mobilebert.wordpiece_offsets import (
    WordPieceOffsets,
)
from tests.models.helpers import VOCAB
from tests.shared_data import shared_data_file


class MobileBertTokenizerTest(TestCase):
    def setUp(self):
        self.init_kwargs = {"vocabulary": VOCAB, "lowercase": True}
        self.input_data = ["The quick brown fox.", "the FOX jumped!"]

    def test_tokenizer_basics(self):
        self.run_preprocessing_layer_test(
            cls=MobileBertTokenizer,
            init_kwargs=self.init_kwargs,
            input_data=self.input_data,
            expected_output=[[5, 6, 7, 8, 16], [5, 8, 9, 17]],
            # Lowercased, punctuation split off.
            expected_detokenize_output=[
                "the quick brown fox .",
                "the fox jumped !",
            ],
        )

    def test_lowercase_is_a_setting(self):
        cased = MobileBertTokenizer(vocabulary=VOCAB, lowercase=False)
        self.assertAllEqual(cased("The fox"), [1, 8])  # "The" is unknown.

    def test_special_tokens(self):
        tokenizer = MobileBertTokenizer(**self.init_kwargs)
        self.assertEqual(tokenizer.cls_token_id, 2)
        self.assertEqual(tokenizer.sep_token_id, 3)
        self.assertEqual(tokenizer.pad_token_id, 0)
        self.assertEqual(tokenizer.mask_token_id, 4)

    def test_missing_special_token(self):
        with self.assertRaisesRegex(ValueError, "\\[MASK\\]"):
            MobileBertTokenizer(vocabulary=[t for t in VOCAB if t != "[MASK]"])

    def test_non_utf8_input_names_the_problem(self):
        tokenizer = MobileBertTokenizer(**self.init_kwargs)
        with self.assertRaisesRegex(ValueError, "input 1 is not valid UTF-8"):
            tokenizer(["fine", b"caf\xe9"])
        with self.assertRaisesRegex(
            tf.errors.InvalidArgumentError, "not valid UTF-8"
        ):
            tokenizer(tf.constant([b"ok", b"\xff\xfe"]))
        ds = tf.data.Dataset.from_tensor_slices([b"\xff"]).map(tokenizer)
        with self.assertRaisesRegex(
            tf.errors.InvalidArgumentError, "not valid UTF-8"
        ):
            list(ds)
        # Valid non-ASCII text passes.
        tokenizer(["café", "naïve"])

    def test_builtin_preset_uses_the_real_uncased_vocabulary(self):
        tokenizer = MobileBertTokenizer.from_preset("mobilebert_en_uncased")
        self.assertEqual(tokenizer.vocabulary_size(), 30522)
        # bert-base-uncased ids, as in HF's integration test input.
        ids = tokenizer("The quick brown fox")
        self.assertAllEqual(ids, [1996, 4248, 2829, 4419])
        self.assertEqual(tokenizer.id_to_token(101), "[CLS]")
        self.assertEqual(tokenizer.id_to_token(102), "[SEP]")
        self.assertEqual(np.asarray(tokenizer("HELLO")).tolist(), [7592])


UNCASED_VOCAB = VOCAB + ["cafe", "café", "straße", "##ß", "ας", "ασ", "fu"]


def _ids(tokenizer, texts):
    return [np.asarray(ids).tolist() for ids in tokenizer(texts)]


def test_uncased_presets_strip_accents_like_bert():
    tokenizer = MobileBertTokenizer.from_preset("mobilebert_en_uncased")
    assert tokenizer.lowercase and tokenizer.strip_accents
    assert tokenizer.get_config()["strip_accents"] is True
    # bert-base-uncased ids of "cafe zurich" (no [UNK] = 100).
    assert _ids(tokenizer, ["Café Zürich"]) == [[7668, 10204]]


def test_bert_uncased_normalization_by_hand():
    tokenizer = MobileBertTokenizer(
        vocabulary=UNCASED_VOCAB, lowercase=True, strip_accents=True
    )
    token = UNCASED_VOCAB.index
    assert _ids(
        tokenizer,
        [
            "CAFÉ",  # accent dropped after lowercasing
            "Straße",  # ß kept: KerasHub's NFKC folding would give "ss"
            "ΑΣ",  # a final sigma lowercases to ς (case folding gives σ)
            "Ca\u00adfe",  # the soft hyphen (a format character) is deleted
            "Fuß",
        ],
    ) == [
        [token("cafe")],
        [token("straße")],
        [token("ας")],
        [token("cafe")],
        [token("fu"), token("##ß")],
    ]
    # Lowercasing alone stays KerasHub's case folding (saved presets).
    folding = MobileBertTokenizer(vocabulary=UNCASED_VOCAB, lowercase=True)
    assert _ids(folding, ["ΑΣ", "Straße"]) == [[token("ασ")], [1]]


def test_graph_and_python_paths_agree():
    tokenizer = MobileBertTokenizer(
        vocabulary=UNCASED_VOCAB, lowercase=True, strip_accents=True
    )
    texts = ["CAFÉ Straße", "ΟΔΟΣ and Fuß", "Ca\u00adfe\tthe\nfox", "é"]
    graph = tf.function(lambda x: tokenizer(x))(tf.constant(texts))
    assert [ids.tolist() for ids in graph.numpy()] == [
        np.asarray(ids).tolist() for ids in tokenizer(texts)
    ]
    dataset = tf.data.Dataset.from_tensor_slices(texts).map(tokenizer)
    assert [d.numpy().tolist() for d in dataset] == _ids(tokenizer, texts)


def test_old_presets_keep_their_accents():
    # A preset's tokenizer.json records both settings; those saved before
    # the uncased presets stripped accents say strip_accents=False, and
    # accented words stay whole for them (`[UNK]` with the real vocabulary).
    old = MobileBertTokenizer(
        vocabulary=UNCASED_VOCAB, lowercase=True, strip_accents=False
    )
    config = old.get_config()
    assert (config["lowercase"], config["strip_accents"]) == (True, False)
    restored = MobileBertTokenizer.from_config(config)
    restored.set_vocabulary(UNCASED_VOCAB)
    assert not restored.strip_accents
    assert _ids(restored, ["CAFÉ"]) == [[UNCASED_VOCAB.index("café")]]


@pytest.mark.large
def test_squad_dev_ids_equal_hugging_face_bert_uncased():
    """All 12,637 SQuAD v1.1 dev questions and contexts, 0 mismatches.

    bert-base-uncased's own tokenizer (HF `BertTokenizer`,
    `do_lower_case=True`) against the preset tokenizer in graph mode (as
    in `tf.data`), on Python strings (KerasHub's Python path), and against
    the QA preprocessor's offsets tokenizer. Before the presets stripped
    accents, 322 texts differed; stripping them with KerasHub's NFKC case
    folding still left 18 (ß, ″).
    """
    transformers = pytest.importorskip("transformers")
    examples = read_squad(shared_data_file("squad/dev-v1.1.json"))
    texts = sorted({e.context for e in examples})
    texts += [e.question for e in examples]
    assert len(texts) == 12637
    tokenizer = MobileBertTokenizer.from_preset("mobilebert_en_uncased")
    hf = transformers.BertTokenizer(
        vocab=str(vocabulary_path("bert_base_uncased")), do_lower_case=True
    )
    expected = [hf(t, add_special_tokens=False)["input_ids"] for t in texts]
    graph = tf.function(lambda x: tokenizer(x))
    in_graph = []
    for start in range(0, len(texts), 512):
        in_graph += graph(tf.constant(texts[start : start + 512])).to_list()
    offsets = WordPieceOffsets(tokenizer)
    for name, ids in (
        ("graph", in_graph),
        ("python", [np.asarray(tokenizer(t)).tolist() for t in texts]),
        ("offsets", [offsets.tokenize(t)[0] for t in texts]),
    ):
        mismatches = [t for t, a, b in zip(texts, ids, expected) if a != b]
        assert not mismatches, (name, len(mismatches), mismatches[:2])
