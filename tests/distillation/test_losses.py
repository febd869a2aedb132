"""Every distillation loss against an independent numpy implementation."""

import numpy as np
import pytest
import tensorflow as tf

from keras_mobilebert.distillation import losses as L

RNG = np.random.RandomState(0)
B, S, W, H = 3, 6, 8, 2
# Example 0 has 6 real tokens, example 1 has 4, example 2 has 2.
MASK = np.array([[1] * 6, [1] * 4 + [0] * 2, [1] * 2 + [0] * 4], "int32")


def np_layer_norm(x, eps=1e-12):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps)


def np_log_softmax(x, axis=-1):
    x = x - x.max(axis, keepdims=True)
    return x - np.log(np.exp(x).sum(axis, keepdims=True))


def hidden_pair():
    t = RNG.normal(size=(B, S, W)).astype("float32") * 3 + 1
    s = RNG.normal(size=(B, S, W)).astype("float32")
    # Huge values at padded positions: if they counted, the loss would show.
    t[MASK == 0] = 1e4
    s[MASK == 0] = -1e4
    return t, s


def test_feature_map_transfer_matches_numpy():
    t, s = hidden_pair()
    per_token = ((np_layer_norm(t) - np_layer_norm(s)) ** 2).mean(-1)
    expected = per_token[MASK == 1].mean()
    got = L.feature_map_transfer_loss(t, s, MASK)
    np.testing.assert_allclose(float(got), expected, rtol=1e-5)
    # The epsilon is 1e-12, not TF Model Garden's 1e-3: on a low-variance
    # feature map the two differ.
    small = s * 1e-2
    got_small = L.feature_map_transfer_loss(t, small, MASK)
    expected_small = (
        ((np_layer_norm(t) - np_layer_norm(small)) ** 2).mean(-1)[MASK == 1]
    ).mean()
    np.testing.assert_allclose(float(got_small), expected_small, rtol=1e-4)
    wrong_eps = (
        ((np_layer_norm(t) - np_layer_norm(small, 1e-3)) ** 2).mean(-1)
    )[MASK == 1].mean()
    assert abs(float(got_small) - wrong_eps) > 1e-2


def test_mean_and_variance_transfer_match_numpy():
    t, s = hidden_pair()
    mean_expected = ((t.mean(-1) - s.mean(-1)) ** 2)[MASK == 1].mean()
    var_expected = np.abs(t.var(-1) - s.var(-1))[MASK == 1].mean()
    np.testing.assert_allclose(
        float(L.mean_transfer_loss(t, s, MASK)), mean_expected, rtol=1e-5
    )
    np.testing.assert_allclose(
        float(L.variance_transfer_loss(t, s, MASK)), var_expected, rtol=1e-5
    )
    # Without a mask every position counts.
    np.testing.assert_allclose(
        float(L.mean_transfer_loss(t, s)),
        ((t.mean(-1) - s.mean(-1)) ** 2).mean(),
        rtol=1e-5,
    )


def np_attention_kl(t_scores, s_scores, mask, average_heads):
    """KL(teacher || student) per (example, head, real query), by loops."""
    values = []
    for b in range(t_scores.shape[0]):
        real = np.flatnonzero(mask[b])
        t = np_log_softmax(t_scores[b][:, :, real])  # (heads, q, real keys)
        s = np_log_softmax(s_scores[b][:, :, real])
        if average_heads:
            t = np.log(np.exp(t).mean(0, keepdims=True))
            s = np.log(np.exp(s).mean(0, keepdims=True))
        for h in range(t.shape[0]):
            for q in real:
                p = np.exp(t[h, q])
                values.append((p * (t[h, q] - s[h, q])).sum())
    return np.mean(values)


def masked_scores(heads, fill):
    scores = RNG.normal(size=(B, heads, S, S)).astype("float32") * 2
    keys = MASK[:, None, None, :]
    return np.where(keys == 1, scores, fill).astype("float32")


@pytest.mark.parametrize("fill", [-1e9, -6.0])
def test_attention_transfer_matches_numpy_with_masking(fill):
    t = masked_scores(H, fill)
    s = masked_scores(H, fill)
    expected = np_attention_kl(t, s, MASK, average_heads=False)
    got = L.attention_transfer_loss(t, s, MASK)
    np.testing.assert_allclose(float(got), expected, rtol=1e-5)
    # Garbage at padded queries changes nothing.
    s2 = s.copy()
    s2[1, :, 4:, :] = 50.0
    np.testing.assert_allclose(
        float(L.attention_transfer_loss(t, s2, MASK)), expected, rtol=1e-5
    )


def test_attention_transfer_head_average_for_different_head_counts():
    t = masked_scores(6, -1e9)
    s = masked_scores(2, -1e9)
    expected = np_attention_kl(t, s, MASK, average_heads=True)
    got = L.attention_transfer_loss(t, s, MASK)  # auto -> average
    np.testing.assert_allclose(float(got), expected, rtol=1e-5)
    # Invariant to the order of either model's heads.
    got_permuted = L.attention_transfer_loss(
        t[:, ::-1], s[:, ::-1], MASK, head_mode="average"
    )
    np.testing.assert_allclose(float(got_permuted), expected, rtol=1e-5)
    with pytest.raises(ValueError, match="equal head counts"):
        L.attention_transfer_loss(t, s, MASK, head_mode="match")
    # Zero when the student reproduces the teacher's averaged map.
    same = L.attention_transfer_loss(t, t, MASK, head_mode="average")
    assert abs(float(same)) < 1e-6


def test_pretraining_distillation_matches_numpy():
    vocab, masks = 11, 4
    s_logits = RNG.normal(size=(B, masks, vocab)).astype("float32")
    t_logits = RNG.normal(size=(B, masks, vocab)).astype("float32") * 3
    ids = RNG.randint(0, vocab, (B, masks))
    weights = np.array([[1, 1, 1, 0], [1, 0, 0, 0], [1, 1, 1, 1]], "float32")
    nsp = RNG.normal(size=(B, 2)).astype("float32")
    labels = np.array([0, 1, 1])
    alpha, temperature = 0.3, 2.0
    t_probs = np.exp(np_log_softmax(t_logits / temperature))
    target = alpha * np.eye(vocab)[ids] + (1 - alpha) * t_probs
    ce = -(target * np_log_softmax(s_logits)).sum(-1)
    mlm_expected = (ce * weights).sum() / weights.sum()
    nsp_expected = -np_log_softmax(nsp)[np.arange(B), labels].mean()
    mlm, nsp_loss = L.pretraining_distillation_loss(
        s_logits,
        ids,
        weights,
        nsp,
        labels,
        teacher_mlm_logits=t_logits,
        alpha=alpha,
        temperature=temperature,
    )
    np.testing.assert_allclose(float(mlm), mlm_expected, rtol=1e-5)
    np.testing.assert_allclose(float(nsp_loss), nsp_expected, rtol=1e-5)
    # No teacher logits: the hard MLM loss.
    hard, _ = L.pretraining_distillation_loss(s_logits, ids, weights)
    hard_expected = (
        -(
            np_log_softmax(s_logits)[
                np.arange(B)[:, None], np.arange(masks)[None], ids
            ]
            * weights
        ).sum()
        / weights.sum()
    )
    np.testing.assert_allclose(float(hard), hard_expected, rtol=1e-5)


def test_task_distillation_matches_numpy():
    s = RNG.normal(size=(5, 3)).astype("float32")
    t = RNG.normal(size=(5, 3)).astype("float32")
    labels = RNG.randint(0, 3, 5)
    temperature, w = 2.0, 0.25
    tl = np_log_softmax(t / temperature)
    sl = np_log_softmax(s / temperature)
    kl = (np.exp(tl) * (tl - sl)).sum(-1)
    hard = -np_log_softmax(s)[np.arange(5), labels]
    expected = ((1 - w) * temperature**2 * kl + w * hard).mean()
    got = L.task_distillation_loss(s, t, labels, temperature, w)
    np.testing.assert_allclose(float(got), expected, rtol=1e-5)
    soft_only = L.task_distillation_loss(s, t, temperature=1.0)
    tl1, sl1 = np_log_softmax(t), np_log_softmax(s)
    np.testing.assert_allclose(
        float(soft_only),
        (np.exp(tl1) * (tl1 - sl1)).sum(-1).mean(),
        rtol=1e-5,
    )
    with pytest.raises(ValueError, match="labels"):
        L.task_distillation_loss(s, t, hard_label_weight=0.5)


def test_teacher_side_gets_no_gradient():
    t_hidden, s_hidden = (tf.constant(x) for x in hidden_pair())
    t_scores = tf.constant(masked_scores(H, -1e9))
    s_scores = tf.constant(masked_scores(H, -1e9))
    t_logits = tf.constant(RNG.normal(size=(B, 2, 7)).astype("float32"))
    s_logits = tf.constant(RNG.normal(size=(B, 2, 7)).astype("float32"))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([t_hidden, s_hidden, t_scores, s_scores, t_logits, s_logits])
        total = (
            L.feature_map_transfer_loss(t_hidden, s_hidden, MASK)
            + L.mean_transfer_loss(t_hidden, s_hidden, MASK)
            + L.variance_transfer_loss(t_hidden, s_hidden, MASK)
            + L.attention_transfer_loss(t_scores, s_scores, MASK)
            + L.pretraining_distillation_loss(
                s_logits,
                np.zeros((B, 2)),
                np.ones((B, 2)),
                teacher_mlm_logits=t_logits,
            )[0]
            + L.task_distillation_loss(s_logits[:, 0], t_logits[:, 0])
        )
    for teacher_tensor in (t_hidden, t_scores, t_logits):
        assert tape.gradient(total, teacher_tensor) is None
    for student_tensor in (s_hidden, s_scores, s_logits):
        grad = tape.gradient(total, student_tensor)
        assert grad is not None and float(tf.reduce_sum(tf.abs(grad))) > 0


def test_uniform_layer_map():
    assert L.uniform_layer_map(4, 6) == {1: 2, 2: 3, 3: 5, 4: 6}
    assert L.uniform_layer_map(3, 3) == {1: 1, 2: 2, 3: 3}
    assert L.uniform_layer_map(24, 24)[24] == 24
    assert L.uniform_layer_map(2, 12) == {1: 6, 2: 12}
