"""Shared helpers of the conversion tests: fixtures and comparisons."""

import pathlib

import numpy as np

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "convert"
HF_VARIANTS = ("mobilebert", "tiny", "teacher")


def load_io(variant):
    with np.load(FIXTURES / variant / "io.npz") as data:
        return dict(data)


def inputs(io, padded=False):
    prefix = "padded_" if padded else ""
    return {
        "token_ids": io[f"{prefix}token_ids"].astype("int32"),
        "segment_ids": io[f"{prefix}segment_ids"].astype("int32"),
        "padding_mask": io[f"{prefix}padding_mask"].astype("int32"),
    }


def relative_error(actual, expected):
    """Max abs difference relative to the reference tensor's scale."""
    actual = np.asarray(actual, np.float64)
    expected = np.asarray(expected, np.float64)
    return float(np.abs(actual - expected).max() / np.abs(expected).max())


def run_keras(pretraining_model, x):
    """Every hidden state, attention probabilities, MLM and NSP logits."""
    import keras

    backbone = pretraining_model.backbone
    out = backbone.intermediates_model()(x)
    length = x["token_ids"].shape[1]
    positions = np.tile(np.arange(length), (x["token_ids"].shape[0], 1))
    heads = pretraining_model(
        {**x, "mask_positions": positions.astype("int32")}
    )
    result = {
        "mlm_logits": np.asarray(heads["mlm_logits"]),
        "nsp_logits": np.asarray(heads["nsp_logits"]),
    }
    for i, h in enumerate(out["hidden_states"]):
        result[f"hidden_{i}"] = np.asarray(h)
    for i, s in enumerate(out["attention_scores"]):
        result[f"attention_{i}"] = np.asarray(keras.ops.softmax(s, axis=-1))
    return result


def compare(actual, io, prefix=""):
    """Figures of `actual` against the fixture's outputs under `prefix`."""
    figures = {"hidden": [], "attention": []}
    i = 0
    while f"{prefix}hidden_{i}" in io:
        figures["hidden"].append(
            relative_error(actual[f"hidden_{i}"], io[f"{prefix}hidden_{i}"])
        )
        i += 1
    i = 0
    while f"{prefix}attention_{i}" in io:
        figures["attention"].append(
            float(
                np.abs(
                    actual[f"attention_{i}"] - io[f"{prefix}attention_{i}"]
                ).max()
            )
        )
        i += 1
    figures["mlm_abs"] = float(
        np.abs(actual["mlm_logits"] - io[f"{prefix}mlm_logits"]).max()
    )
    figures["nsp_abs"] = float(
        np.abs(actual["nsp_logits"] - io[f"{prefix}nsp_logits"]).max()
    )
    return figures


def assert_parity(figures, rtol=1e-5, mlm_atol=1e-4, attention_atol=1e-5):
    assert figures["hidden"], "no hidden states compared"
    for i, err in enumerate(figures["hidden"]):
        assert err < rtol, f"hidden state {i}: relative error {err:.3g}"
    for i, err in enumerate(figures["attention"]):
        assert err < attention_atol, f"attention {i}: abs error {err:.3g}"
    assert figures["mlm_abs"] < mlm_atol, figures
    assert figures["nsp_abs"] < mlm_atol, figures
