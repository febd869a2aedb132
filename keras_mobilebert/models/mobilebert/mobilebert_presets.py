"""MobileBERT preset configurations, every field explicit.

Sources: GR `mobilebert/config/*.json`, HF `google/mobilebert-uncased`'s
`config.json`, TF Model Garden's MobileBERT README (multilingual release).
`attention_mask_mode` is "additive" wherever the weights are taken from HF,
so that padded inputs give HF's numbers; the QAT variant uses GR's "fill"
(-6) because it keeps the attention logits in an int8-friendly range.

`lowercase` and `strip_accents` are the tokenizer's: the uncased presets
normalize text as bert-base-uncased does (lowercase, accents dropped).
Before accent stripping was set here, `Zürich` and `Café` became `[UNK]`;
presets saved then record `strip_accents: false` and keep that behaviour.
"""

_STUDENT = {
    "vocabulary_size": 30522,
    "num_layers": 24,
    "num_heads": 4,
    "hidden_dim": 512,
    "intermediate_dim": 512,
    "embedding_dim": 128,
    "bottleneck_dim": 128,
    "use_bottleneck": True,
    "key_query_shared_bottleneck": True,
    "use_bottleneck_attention": False,
    "num_feedforward_networks": 4,
    "trigram_input": True,
    "normalization": "no_norm",
    "layer_norm_epsilon": 1e-12,
    "embedding_layer_norm_epsilon": None,
    "last_ffn_layer_norm_epsilon": None,
    "activation": "relu",
    "dropout": 0.0,
    "attention_dropout": 0.1,
    "embedding_dropout": 0.0,
    "max_sequence_length": 512,
    "num_segments": 2,
    "use_pooler": False,
    "attention_mask_mode": "additive",
    "initializer_range": 0.02,
}

backbone_presets = {
    "mobilebert_en_uncased": {
        "metadata": {
            "description": (
                "MobileBERT, 24 layers, 512 wide with a 128-wide bottleneck, "
                "4 heads, 4 stacked FFNs, NoNorm and ReLU. Uncased English "
                "(Wikipedia + BooksCorpus), distilled from IB-BERT."
            ),
            "params": 24581888,
            "path": "mobilebert",
        },
        "config": dict(_STUDENT),
        "lowercase": True,
        "strip_accents": True,
        "vocabulary": "bert_base_uncased",
        "source": "hf://google/mobilebert-uncased",
    },
    "mobilebert_tiny_en_uncased": {
        "metadata": {
            "description": (
                "MobileBERT-TINY, 24 layers, bottleneck attention (Q = K = V "
                "from the 128-wide bottleneck), 2 stacked FFNs. Architecture "
                "of the paper; no public weights."
            ),
            "params": 15485696,
            "path": "mobilebert",
        },
        "config": {
            **_STUDENT,
            "key_query_shared_bottleneck": False,
            "use_bottleneck_attention": True,
            "num_feedforward_networks": 2,
        },
        "lowercase": True,
        "strip_accents": True,
        "vocabulary": "bert_base_uncased",
        "source": None,
    },
    "mobilebert_multi_cased": {
        "metadata": {
            "description": (
                "Multilingual cased MobileBERT (TF Model Garden "
                "multi_cased_L-24_H-128_B-512_A-4_F-4_OPT), 119,547-token "
                "cased WordPiece vocabulary, otherwise MobileBERT."
            ),
            "params": 35977088,
            "path": "mobilebert",
        },
        "config": {**_STUDENT, "vocabulary_size": 119547},
        "lowercase": False,
        "strip_accents": False,
        "vocabulary": None,
        "source": (
            "the TF Model Garden checkpoint "
            "multi_cased_L-24_H-128_B-512_A-4_F-4_OPT"
        ),
    },
    "ib_bert_en_uncased": {
        "metadata": {
            "description": (
                "IB-BERT, the MobileBERT teacher: 24 layers, 512 between "
                "blocks, 1024-wide inner width, 4 heads of 256, FFN 4096, "
                "LayerNorm, GELU, tanh pooler. Architecture only: the teacher "
                "weights were never released."
            ),
            "params": 294467840,
            "path": "mobilebert",
        },
        "config": {
            **_STUDENT,
            "intermediate_dim": 4096,
            "bottleneck_dim": 1024,
            "key_query_shared_bottleneck": False,
            "use_bottleneck_attention": False,
            "num_feedforward_networks": 1,
            "normalization": "layer_norm",
            "activation": "gelu_approximate",
            "dropout": 0.1,
            "embedding_dropout": 0.1,
            "use_pooler": True,
        },
        "lowercase": True,
        "strip_accents": True,
        "vocabulary": "bert_base_uncased",
        "source": None,
    },
    "mobilebert_qat_en_uncased": {
        "metadata": {
            "description": (
                "MobileBERT for quantization-aware training (GR _OPT_QAT): "
                "the MobileBERT architecture with ReLU6 and the -6 attention "
                "mask fill. Loads MobileBERT's weights for QAT fine-tuning."
            ),
            "params": 24581888,
            "path": "mobilebert",
        },
        "config": {
            **_STUDENT,
            "activation": "relu6",
            "attention_mask_mode": "fill",
        },
        "lowercase": True,
        "strip_accents": True,
        "vocabulary": "bert_base_uncased",
        "source": "hf://google/mobilebert-uncased",
    },
}
