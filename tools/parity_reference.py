"""Reference implementations the parity fixtures are computed with.

Written from google-research's `modeling.py` (REFERENCE.md section 3),
independently of `keras_mobilebert.convert`, so a wrong name map or layer
there cannot cancel out in the fixtures:

- `gr_config`, `hf_to_gr`: GR's config fields and variable names for an HF
  MobileBERT, by string rules;
- `gr_forward`: GR's `transformer_model` and pre-training heads in float64
  numpy, for the IB-BERT shape HF cannot build.

`tools/make_parity_fixtures.py` writes the fixtures with them.
"""

import numpy as np

# === GR names, written from GR's modeling.py, independent of the package ===


def gr_config(hf_config):
    """GR's `bert_config.json` fields for an HF `MobileBertConfig` dict.

    Example:
    ```python
    gr_config(VARIANTS["teacher"])["hidden_act"]  # 'gelu'
    ```
    """
    keys = (
        "vocab_size hidden_size num_hidden_layers num_attention_heads "
        "intermediate_size hidden_dropout_prob attention_probs_dropout_prob "
        "max_position_embeddings type_vocab_size initializer_range "
        "embedding_size trigram_input use_bottleneck intra_bottleneck_size "
        "use_bottleneck_attention key_query_shared_bottleneck "
        "num_feedforward_networks normalization_type classifier_activation"
    ).split()
    config = {k: hf_config[k] for k in keys}
    # HF "gelu_new" is GR's "gelu" (tanh approximation).
    act = hf_config["hidden_act"]
    config["hidden_act"] = {"gelu_new": "gelu"}.get(act, act)
    return config


def hf_to_gr(state, config):
    """HF PyTorch state dict -> GR TF1 variables (REFERENCE.md section 3)."""
    norm = (
        "FakeLayerNorm"
        if config["normalization_type"] == "no_norm"
        else ("LayerNorm")
    )
    last = config["num_feedforward_networks"] - 1
    out = {}
    for name, value in state.items():
        value = value.detach().numpy().astype(np.float32)
        if name in (
            "cls.predictions.decoder.weight",
            "cls.predictions.decoder.bias",
        ):
            continue  # tied copies
        if name == "cls.predictions.dense.weight":
            out["cls/predictions/extra_output_weights"] = value.T
            continue
        if name == "cls.predictions.bias":
            out["cls/predictions/output_bias"] = value
            continue
        if name == "cls.seq_relationship.weight":
            out["cls/seq_relationship/output_weights"] = value  # [2, hidden]
            continue
        if name == "cls.seq_relationship.bias":
            out["cls/seq_relationship/output_bias"] = value
            continue
        parts = name.split(".")
        if parts[0] == "mobilebert":
            parts[0] = "bert"
        is_norm = "LayerNorm" in parts
        gr = []
        i = 0
        while i < len(parts):
            p = parts[i]
            if p == "layer" and i + 1 < len(parts) and parts[i + 1].isdigit():
                gr.append(f"layer_{parts[i + 1]}")
                i += 2
                continue
            if p == "ffn" and parts[i + 1].isdigit():
                gr.append(f"ffn_layer_{parts[i + 1]}")
                i += 2
                continue
            if p == "LayerNorm":
                gr.append("LayerNorm" if parts[0] == "cls" else norm)
                i += 1
                continue
            gr.append(p)
            i += 1
        leaf = gr[-1]
        if leaf == "weight":
            if is_norm:
                gr[-1] = "gamma"
            elif gr[-2].endswith("embeddings"):
                gr = gr[:-1]
            else:
                gr[-1] = "kernel"
                value = value.T
        elif leaf == "bias" and is_norm:
            gr[-1] = "beta"
        out["/".join(gr)] = np.ascontiguousarray(value)
    assert last >= 0
    return out


# === GR's transformer_model in float64 numpy (for the IB-BERT shape) ===


def _gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))


def gr_forward(v, config, ids, segments, mask):
    """GR modeling.py's BertModel + pre-training heads, eval mode, float64."""
    v = {k: np.asarray(x, np.float64) for k, x in v.items()}
    act = {"relu": lambda x: np.maximum(x, 0), "gelu": _gelu_tanh}[
        config["hidden_act"]
    ]
    no_norm = config["normalization_type"] == "no_norm"
    scope_norm = "FakeLayerNorm" if no_norm else "LayerNorm"

    def norm(x, scope):
        g, b = v[f"{scope}/{scope_norm}/gamma"], v[f"{scope}/{scope_norm}/beta"]
        if no_norm:
            return x * g + b
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + 1e-12) * g + b

    def dense(x, scope):
        return x @ v[f"{scope}/kernel"] + v[f"{scope}/bias"]

    e = v["bert/embeddings/word_embeddings"][ids]
    if config["trigram_input"]:
        nxt = np.pad(e[:, 1:], ((0, 0), (0, 1), (0, 0)))
        prv = np.pad(e[:, :-1], ((0, 0), (1, 0), (0, 0)))
        e = np.concatenate([nxt, e, prv], -1)
    x = dense(e, "bert/embeddings/embedding_transformation")
    x = x + v["bert/embeddings/token_type_embeddings"][segments]
    x = x + v["bert/embeddings/position_embeddings"][: ids.shape[1]][None]
    x = norm(x, "bert/embeddings")
    hidden = [x]
    probs_all = []
    heads = config["num_attention_heads"]
    inner = config["intra_bottleneck_size"]
    head = inner // heads
    m = mask.astype(np.float64)[:, None, None, :]
    for i in range(config["num_hidden_layers"]):
        s = f"bert/encoder/layer_{i}"
        prev = x
        layer_input = norm(
            dense(prev, f"{s}/bottleneck/input/dense"), f"{s}/bottleneck/input"
        )
        q_in = k_in = v_in = prev  # teacher: neither sharing nor bn attention
        b, t, _ = prev.shape

        def proj(z, name, scope=s, shape=(b, t, heads, head)):
            return dense(z, f"{scope}/attention/self/{name}").reshape(shape)

        q, k, val = proj(q_in, "query"), proj(k_in, "key"), proj(v_in, "value")
        scores = np.einsum("bfnh,btnh->bnft", q, k) / np.sqrt(head)
        scores = scores * m + (1 - m) * -6.0
        scores = scores - scores.max(-1, keepdims=True)
        probs = np.exp(scores)
        probs = probs / probs.sum(-1, keepdims=True)
        probs_all.append(probs)
        ctx = np.einsum("bnft,btnh->bfnh", probs, val).reshape(b, t, inner)
        a = norm(
            dense(ctx, f"{s}/attention/output/dense") + layer_input,
            f"{s}/attention/output",
        )
        h = a
        for j in range(config["num_feedforward_networks"] - 1):
            f = f"{s}/ffn_layer_{j}"
            y = dense(
                act(dense(h, f"{f}/intermediate/dense")), f"{f}/output/dense"
            )
            h = norm(y + h, f"{f}/output")
        y = dense(act(dense(h, f"{s}/intermediate/dense")), f"{s}/output/dense")
        h = norm(y + h, f"{s}/output")
        x = norm(
            dense(h, f"{s}/output/bottleneck/dense") + prev,
            f"{s}/output/bottleneck",
        )
        hidden.append(x)
    pooled = x[:, 0]
    if config["classifier_activation"]:
        pooled = np.tanh(dense(pooled, "bert/pooler/dense"))
    t = act(dense(x, "cls/predictions/transform/dense"))
    mean = t.mean(-1, keepdims=True)
    var = ((t - mean) ** 2).mean(-1, keepdims=True)
    t = (t - mean) / np.sqrt(var + 1e-12)
    t = (
        t * v["cls/predictions/transform/LayerNorm/gamma"]
        + v["cls/predictions/transform/LayerNorm/beta"]
    )
    table = np.concatenate(
        [
            v["bert/embeddings/word_embeddings"],
            v["cls/predictions/extra_output_weights"],
        ],
        1,
    )
    mlm = t @ table.T + v["cls/predictions/output_bias"]
    nsp = (
        pooled @ v["cls/seq_relationship/output_weights"].T
        + v["cls/seq_relationship/output_bias"]
    )
    result = {"mlm_logits": mlm, "nsp_logits": nsp}
    for i, h in enumerate(hidden):
        result[f"hidden_{i}"] = h
    for i, p in enumerate(probs_all):
        result[f"attention_{i}"] = p
    return {k: r.astype(np.float32) for k, r in result.items()}
