"""Small configurations shared by the model tests."""

import numpy as np

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
VOCAB += ["the", "quick", "brown", "fox", "jumped", "a", "great", "dull"]
VOCAB += ["film", "movie", "was", ".", "!", "##s", "play", "##ed"]

SMALL_BACKBONE = {
    "vocabulary_size": len(VOCAB),
    "num_layers": 2,
    "num_heads": 2,
    "hidden_dim": 16,
    "intermediate_dim": 8,
    "embedding_dim": 8,
    "bottleneck_dim": 8,
    "num_feedforward_networks": 2,
    "max_sequence_length": 20,
}
SMALL_TINY = {
    **SMALL_BACKBONE,
    "key_query_shared_bottleneck": False,
    "use_bottleneck_attention": True,
}
SMALL_TEACHER = {
    **SMALL_BACKBONE,
    "bottleneck_dim": 32,
    "intermediate_dim": 64,
    "key_query_shared_bottleneck": False,
    "num_feedforward_networks": 1,
    "normalization": "layer_norm",
    "activation": "gelu_approximate",
    "dropout": 0.1,
    "embedding_dropout": 0.1,
    "use_pooler": True,
}


def backbone_inputs(batch=2, length=6, padded=True, seed=0):
    rng = np.random.RandomState(seed)
    token_ids = rng.randint(5, len(VOCAB), size=(batch, length)).astype("int32")
    padding_mask = np.ones((batch, length), "int32")
    if padded:
        padding_mask[0, -2:] = 0
        token_ids[0, -2:] = 0
    segment_ids = np.zeros((batch, length), "int32")
    segment_ids[:, length // 2 :] = 1
    return {
        "token_ids": token_ids,
        "segment_ids": segment_ids,
        "padding_mask": padding_mask,
    }
