"""Build the checkpoint-conversion parity fixtures (dev only: torch + HF).

For small configurations of the three MobileBERT variants this script builds
a Hugging Face `MobileBertForPreTraining` with seeded random weights, runs
it on fixed inputs (unpadded and padded) and saves, under
`tests/fixtures/convert/<variant>/`:

- `hf/`: `config.json`, `model.safetensors`, `vocab.txt`,
  `tokenizer_config.json`: an HF snapshot;
- `tf1/`: the same weights as an original TF1 (google-research) checkpoint
  with GR's names, GR's `bert_config.json` and `vocab.txt`;
- `io.npz`: the inputs and HF's outputs: every hidden state, every
  attention probability map, the MLM logits (all positions) and NSP logits.

The GR names are produced by string rules written from GR's `modeling.py`
(REFERENCE.md section 3), independently of `keras_mobilebert.convert`, so a
wrong name map there cannot cancel out (`tools/parity_reference.py`).

HF cannot run the true IB-BERT teacher shape (intra_bottleneck_size !=
hidden_size without key-query sharing, REFERENCE.md section 3). The
`ib_bert` fixture is therefore a TF1 checkpoint only, with outputs computed
by a float64 numpy transcription of GR's `transformer_model`
(`tools/parity_reference.py`).

Usage:
    python tools/make_parity_fixtures.py            # writes the fixtures
    python tools/make_parity_fixtures.py --out DIR  # writes them into DIR
    python tools/make_parity_fixtures.py --full-size  # full google/
        # mobilebert-uncased shape, random weights, compared end to end in a
        # temporary directory; prints the figures and the conversion time.
"""

import argparse
import json
import pathlib
import shutil
import sys
import tempfile
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools.parity_reference import gr_config  # noqa: E402
from tools.parity_reference import gr_forward  # noqa: E402
from tools.parity_reference import hf_to_gr  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "convert"

SMALL = {
    "vocab_size": 40,
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 24,
    "embedding_size": 8,
    "max_position_embeddings": 16,
    "type_vocab_size": 2,
    "hidden_dropout_prob": 0.0,
    "attention_probs_dropout_prob": 0.0,
    "initializer_range": 0.02,
    "layer_norm_eps": 1e-12,
    "pad_token_id": 0,
    "trigram_input": True,
    "use_bottleneck": True,
}

VARIANTS = {
    # MobileBERT: shared query/key bottleneck, NoNorm, ReLU, 3 stacked FFNs
    # (so both the `ffn.j` and the top-level last-FFN names are exercised).
    "mobilebert": {
        **SMALL,
        "intra_bottleneck_size": 16,
        "key_query_shared_bottleneck": True,
        "use_bottleneck_attention": False,
        "num_feedforward_networks": 3,
        "normalization_type": "no_norm",
        "hidden_act": "relu",
        "classifier_activation": False,
    },
    # MobileBERT-TINY: Q = K = V from the bottleneck.
    "tiny": {
        **SMALL,
        "intra_bottleneck_size": 16,
        "key_query_shared_bottleneck": False,
        "use_bottleneck_attention": True,
        "num_feedforward_networks": 2,
        "normalization_type": "no_norm",
        "hidden_act": "relu",
        "classifier_activation": False,
    },
    # Teacher style: no key-query sharing, LayerNorm, GELU (tanh), pooler.
    # HF needs intra_bottleneck_size == hidden_size here.
    "teacher": {
        **SMALL,
        "intra_bottleneck_size": 32,
        "key_query_shared_bottleneck": False,
        "use_bottleneck_attention": False,
        "num_feedforward_networks": 1,
        "normalization_type": "layer_norm",
        "hidden_act": "gelu_new",
        "classifier_activation": True,
    },
}

# The real IB-BERT shape (inner width != hidden width), GR only.
IB_BERT = {
    **VARIANTS["teacher"],
    "intra_bottleneck_size": 48,
    "hidden_act": "gelu",  # GR's "gelu" is the tanh approximation.
}

FULL_SIZE = {
    "vocab_size": 30522,
    "hidden_size": 512,
    "num_hidden_layers": 24,
    "num_attention_heads": 4,
    "intermediate_size": 512,
    "embedding_size": 128,
    "max_position_embeddings": 512,
    "type_vocab_size": 2,
    "hidden_dropout_prob": 0.0,
    "attention_probs_dropout_prob": 0.1,
    "initializer_range": 0.02,
    "layer_norm_eps": 1e-12,
    "pad_token_id": 0,
    "trigram_input": True,
    "use_bottleneck": True,
    "intra_bottleneck_size": 128,
    "key_query_shared_bottleneck": True,
    "use_bottleneck_attention": False,
    "num_feedforward_networks": 4,
    "normalization_type": "no_norm",
    "hidden_act": "relu",
    "classifier_activation": False,
}


def vocabulary(size):
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    return special + [f"tok{i}" for i in range(size - len(special))]


def randomize(model, seed, gentle=False):
    """Give every parameter a seeded random value of a sensible scale.

    HF's initializer leaves NoNorm at the identity and biases at zero, which
    would hide a swapped gamma/beta or bias; random values everywhere do
    not. With `gentle` (the 24-layer full-size model, where 1/sqrt(fan_in)
    weights without normalization grow activations to 1e15 and attention
    logits to 1e28), HF's own std-0.02 matrices are kept and only the
    vectors are perturbed.
    """
    import torch

    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            shape = param.shape
            noise = torch.randn(shape, generator=generator)
            if gentle and param.dim() > 1:
                continue
            if gentle:
                if name.endswith("LayerNorm.weight"):
                    param.copy_(1.0 + 0.1 * noise)
                else:
                    param.copy_(0.02 * noise)
                continue
            if name.endswith("LayerNorm.weight"):
                param.copy_(1.0 + 0.2 * noise)
            elif param.dim() == 1:
                param.copy_(0.1 * noise)
            elif getattr(model.config, "normalization_type", "") == (
                "layer_norm"
            ):
                # HF's std 0.02 matrices keep the LayerNorm inputs' variance
                # small (~1e-3), where HF's 1e-5 epsilon sites differ from
                # 1e-12 by far more than the test tolerance: the fixture
                # then catches an epsilon mix-up.
                param.copy_(0.02 * noise)
            elif "embeddings" in name:
                param.copy_(0.5 * noise)
            else:
                fan_in = shape[1] if param.dim() == 2 else shape[0]
                param.copy_(noise / np.sqrt(fan_in))


def make_inputs(config, seed, batch=2, length=9, pad=3):
    rng = np.random.default_rng(seed)
    ids = rng.integers(5, config["vocab_size"], size=(batch, length))
    ids[:, 0] = 2  # [CLS]
    ids[:, -1] = 3  # [SEP]
    segments = np.zeros((batch, length), "int64")
    segments[:, length // 2 :] = 1
    mask = np.ones((batch, length), "int64")
    padded_ids = ids.copy()
    padded_mask = mask.copy()
    padded_segments = segments.copy()
    # Second row: the last `pad` positions are [PAD] (id 0) and masked.
    padded_ids[1, length - pad - 1] = 3
    padded_ids[1, length - pad :] = 0
    padded_mask[1, length - pad :] = 0
    padded_segments[1, length - pad :] = 0
    return {
        "token_ids": ids,
        "segment_ids": segments,
        "padding_mask": mask,
        "padded_token_ids": padded_ids,
        "padded_segment_ids": padded_segments,
        "padded_padding_mask": padded_mask,
    }


def run_hf(model, ids, segments, mask):
    import torch

    with torch.no_grad():
        out = model(
            input_ids=torch.tensor(ids),
            token_type_ids=torch.tensor(segments),
            attention_mask=torch.tensor(mask),
            output_hidden_states=True,
            output_attentions=True,
        )
    result = {
        "mlm_logits": out.prediction_logits.numpy(),
        "nsp_logits": out.seq_relationship_logits.numpy(),
    }
    for i, h in enumerate(out.hidden_states):
        result[f"hidden_{i}"] = h.numpy()
    for i, a in enumerate(out.attentions):
        result[f"attention_{i}"] = a.numpy()
    return result


def write_tf1_checkpoint(variables, prefix):
    import tensorflow as tf

    names = sorted(variables)
    tf.raw_ops.SaveV2(
        prefix=str(prefix),
        tensor_names=names,
        shape_and_slices=[""] * len(names),
        tensors=[tf.constant(variables[n]) for n in names],
    )


# === Writing ===


def build_hf_model(config, seed, gentle=False):
    import torch
    import transformers

    torch.manual_seed(seed)
    hf_config = transformers.MobileBertConfig(
        **config, attn_implementation="eager"
    )
    model = transformers.MobileBertForPreTraining(hf_config).eval()
    randomize(model, seed, gentle)
    model.tie_weights()
    return model


def write_snapshot(model, config, directory, vocab):
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(directory), safe_serialization=True)
    # Keep config.json small and readable: only MobileBERT's own fields
    # and what save_pretrained adds that HF needs.
    saved = json.loads((directory / "config.json").read_text())
    saved.pop("attn_implementation", None)
    saved.pop("_attn_implementation_autoset", None)
    (directory / "config.json").write_text(json.dumps(saved, indent=2) + "\n")
    (directory / "vocab.txt").write_text("\n".join(vocab) + "\n")
    (directory / "tokenizer_config.json").write_text(
        json.dumps(
            {"do_lower_case": True, "tokenizer_class": "MobileBertTokenizer"}
        )
        + "\n"
    )


def write_tf1(variables, config, directory, vocab):
    directory.mkdir(parents=True, exist_ok=True)
    write_tf1_checkpoint(variables, directory / "model.ckpt")
    (directory / "bert_config.json").write_text(
        json.dumps(config, indent=2) + "\n"
    )
    (directory / "vocab.txt").write_text("\n".join(vocab) + "\n")


def make_variant(name, config, seed, root=FIXTURES):
    model = build_hf_model(config, seed)
    vocab = vocabulary(config["vocab_size"])
    out = pathlib.Path(root) / name
    if out.exists():
        shutil.rmtree(out)
    write_snapshot(model, config, out / "hf", vocab)
    variables = hf_to_gr(model.state_dict(), config)
    write_tf1(variables, gr_config(config), out / "tf1", vocab)
    inputs = make_inputs(config, seed)
    arrays = dict(inputs)
    unpadded = run_hf(
        model,
        inputs["token_ids"],
        inputs["segment_ids"],
        inputs["padding_mask"],
    )
    padded = run_hf(
        model,
        inputs["padded_token_ids"],
        inputs["padded_segment_ids"],
        inputs["padded_padding_mask"],
    )
    arrays.update(unpadded)
    arrays.update({f"padded_{k}": v for k, v in padded.items()})
    np.savez_compressed(out / "io.npz", **arrays)
    print(f"{name}: wrote {out}")


def make_ib_bert(seed, root=FIXTURES):
    config = gr_config(dict(IB_BERT, hidden_act="gelu_new"))
    rng = np.random.default_rng(seed)
    # Build the variables from GR's shapes directly (HF cannot build them).
    h, inner = config["hidden_size"], config["intra_bottleneck_size"]
    e, inter, vsize = (
        config["embedding_size"],
        config["intermediate_size"],
        config["vocab_size"],
    )

    def w(*shape, scale=None):
        scale = scale if scale is not None else 1 / np.sqrt(shape[0])
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    def b(n):
        return (0.1 * rng.standard_normal(n)).astype(np.float32)

    def ln(prefix, n):
        return {
            f"{prefix}/LayerNorm/gamma": 1.0 + 2.0 * b(n),
            f"{prefix}/LayerNorm/beta": b(n),
        }

    v = {
        "bert/embeddings/word_embeddings": w(vsize, e, scale=0.5),
        "bert/embeddings/embedding_transformation/kernel": w(3 * e, h),
        "bert/embeddings/embedding_transformation/bias": b(h),
        "bert/embeddings/token_type_embeddings": w(2, h, scale=0.5),
        "bert/embeddings/position_embeddings": w(
            config["max_position_embeddings"], h, scale=0.5
        ),
        **ln("bert/embeddings", h),
    }
    for i in range(config["num_hidden_layers"]):
        s = f"bert/encoder/layer_{i}"
        v.update(
            {
                f"{s}/bottleneck/input/dense/kernel": w(h, inner),
                f"{s}/bottleneck/input/dense/bias": b(inner),
                **ln(f"{s}/bottleneck/input", inner),
                f"{s}/attention/output/dense/kernel": w(inner, inner),
                f"{s}/attention/output/dense/bias": b(inner),
                **ln(f"{s}/attention/output", inner),
                f"{s}/intermediate/dense/kernel": w(inner, inter),
                f"{s}/intermediate/dense/bias": b(inter),
                f"{s}/output/dense/kernel": w(inter, inner),
                f"{s}/output/dense/bias": b(inner),
                **ln(f"{s}/output", inner),
                f"{s}/output/bottleneck/dense/kernel": w(inner, h),
                f"{s}/output/bottleneck/dense/bias": b(h),
                **ln(f"{s}/output/bottleneck", h),
            }
        )
        for p in ("query", "key", "value"):
            v[f"{s}/attention/self/{p}/kernel"] = w(h, inner)
            v[f"{s}/attention/self/{p}/bias"] = b(inner)
        # Optimizer slots and the step counter, which the converter skips.
        v[f"{s}/intermediate/dense/kernel/adam_m"] = w(inner, inter)
        v[f"{s}/intermediate/dense/kernel/adam_v"] = w(inner, inter)
    v.update(
        {
            "bert/pooler/dense/kernel": w(h, h),
            "bert/pooler/dense/bias": b(h),
            "cls/predictions/transform/dense/kernel": w(h, h),
            "cls/predictions/transform/dense/bias": b(h),
            **ln("cls/predictions/transform", h),
            "cls/predictions/extra_output_weights": w(vsize, h - e, scale=0.5),
            "cls/predictions/output_bias": b(vsize),
            "cls/seq_relationship/output_weights": w(2, h),
            "cls/seq_relationship/output_bias": b(2),
            "global_step": np.array(1000, np.int64),
        }
    )
    vocab = vocabulary(vsize)
    out = pathlib.Path(root) / "ib_bert"
    if out.exists():
        shutil.rmtree(out)
    write_tf1(v, config, out / "tf1", vocab)
    inputs = make_inputs(config, seed)
    arrays = dict(inputs)
    weights = {
        k: x for k, x in v.items() if not k.endswith(("adam_m", "adam_v"))
    }
    arrays.update(
        gr_forward(
            weights,
            config,
            inputs["token_ids"],
            inputs["segment_ids"],
            inputs["padding_mask"],
        )
    )
    padded = gr_forward(
        weights,
        config,
        inputs["padded_token_ids"],
        inputs["padded_segment_ids"],
        inputs["padded_padding_mask"],
    )
    arrays.update({f"padded_{k}": x for k, x in padded.items()})
    np.savez_compressed(out / "io.npz", **arrays)
    print(f"ib_bert: wrote {out}")


def full_size(seed, length, stress=False):
    """Full-size MobileBERT, random weights, HF vs keras_mobilebert.

    `stress` uses the small fixtures' 1/sqrt(fan_in) weights, which make the
    24 NoNorm layers grow activations to ~1e15 and attention logits to
    ~1e28: a test of masking and float32 round-off at extreme scale.
    """
    from keras_mobilebert.convert.converted_preset import save_preset
    from keras_mobilebert.convert.hf_checkpoint import convert_snapshot

    config = dict(FULL_SIZE)
    t0 = time.time()
    model = build_hf_model(config, seed, gentle=not stress)
    print(f"built HF model in {time.time() - t0:.1f} s")
    inputs = make_inputs(config, seed, batch=2, length=length, pad=length // 4)
    hf = run_hf(
        model,
        inputs["token_ids"],
        inputs["segment_ids"],
        inputs["padding_mask"],
    )
    hf_padded = run_hf(
        model,
        inputs["padded_token_ids"],
        inputs["padded_segment_ids"],
        inputs["padded_padding_mask"],
    )
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        write_snapshot(
            model, config, tmp / "hf", vocabulary(config["vocab_size"])
        )
        t0 = time.time()
        converted = convert_snapshot(tmp / "hf")
        convert_s = time.time() - t0
        t0 = time.time()
        save_preset(converted, tmp / "preset")
        save_s = time.time() - t0
        print(
            f"conversion (read + build + check + assign): {convert_s:.1f} s;"
            f" saving the preset: {save_s:.1f} s"
        )
        figures = compare(converted.pretraining_model, inputs, hf, hf_padded)
    for key, value in figures.items():
        print(f"{key}: {value:.3g}")


def compare(pretraining_model, inputs, hf, hf_padded):
    """Max relative error per hidden state and MLM max abs, for the report."""
    backbone = pretraining_model.backbone
    inter = backbone.intermediates_model()
    figures = {}
    for tag, ref, prefix in (("", hf, ""), ("padded ", hf_padded, "padded_")):
        x = {
            "token_ids": inputs[f"{prefix}token_ids"].astype("int32"),
            "segment_ids": inputs[f"{prefix}segment_ids"].astype("int32"),
            "padding_mask": inputs[f"{prefix}padding_mask"].astype("int32"),
        }
        out = inter(x)
        worst = 0.0
        for i, h in enumerate(out["hidden_states"]):
            h = np.asarray(h)
            r = ref[f"hidden_{i}"]
            if prefix:
                m = x["padding_mask"].astype(bool)
                h, r = h[m], r[m]
            worst = max(worst, float(np.abs(h - r).max() / np.abs(r).max()))
        figures[f"{tag}max relative error over hidden states"] = worst
        positions = np.tile(
            np.arange(x["token_ids"].shape[1]), (x["token_ids"].shape[0], 1)
        ).astype("int32")
        logits = np.asarray(
            pretraining_model({**x, "mask_positions": positions})["mlm_logits"]
        )
        r = ref["mlm_logits"]
        if prefix:
            m = x["padding_mask"].astype(bool)
            logits, r = logits[m], r[m]
        figures[f"{tag}MLM logits max abs error"] = float(
            np.abs(logits - r).max()
        )
        figures[f"{tag}MLM logits max abs value"] = float(np.abs(r).max())
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full-size", action="store_true")
    parser.add_argument("--stress", action="store_true")
    parser.add_argument("--length", type=int, default=128)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument(
        "--out",
        type=pathlib.Path,
        default=FIXTURES,
        help="where to write the fixtures (default: %(default)s)",
    )
    args = parser.parse_args()
    if args.full_size:
        full_size(args.seed, args.length, args.stress)
        return
    for i, (name, config) in enumerate(VARIANTS.items()):
        make_variant(name, config, args.seed + i, args.out)
    make_ib_bert(args.seed + 10, args.out)


if __name__ == "__main__":
    main()
