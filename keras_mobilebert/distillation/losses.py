"""MobileBERT's knowledge-transfer losses (Sun et al. 2020, section 3).

Every loss here is a plain function of tensors: the `Distiller` calls them
in its `train_step`, and they can be used on their own. Conventions:

- Teacher tensors come first and are put under `stop_gradient`: no
  gradient ever reaches the teacher.
- `padding_mask` is `(batch, sequence)`, 1 for real tokens and 0 for
  padding. Padded positions contribute nothing: to a feature-map loss as
  positions, to the attention loss as queries and as keys.
- Each loss is a mean over the positions that count. Under a
  `tf.distribute` strategy with several replicas the denominator is summed
  across replicas, so each replica returns its share of the global-batch
  mean and the shares add up to exactly the single-device value on the
  same global batch (this is what makes a mirrored step equal to a
  single-device step, see `tests/distillation/test_distributed.py`).

Default weights are the paper's: feature map 100, mean 5000, variance 5,
attention 1, pre-training distillation alpha 0.5 at temperature 1.
"""

import math

import tensorflow as tf
from keras import ops

FEATURE_MAP_WEIGHT = 100.0
MEAN_WEIGHT = 5000.0
VARIANCE_WEIGHT = 5.0
ATTENTION_WEIGHT = 1.0
PRETRAINING_ALPHA = 0.5
TEMPERATURE = 1.0
LAYER_NORM_EPSILON = 1e-12
# What a padded key's logit is set to before the softmax; e^-1e9 is 0.
_MASKED_LOGIT = -1e9
# `attention_transfer_loss(head_mode=...)` (and `--attention-heads`).
HEAD_MODES = ("auto", "match", "average")


def _replica_sum(x):
    """Sum `x` over replicas inside a multi-replica step, else return it."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return x
    return context.all_reduce(tf.distribute.ReduceOp.SUM, x)


def weighted_mean(values, weights):
    """`sum(values * weights) / sum(weights)`, the denominator global.

    Inside a multi-replica step, `sum(weights)` is summed over all replicas
    (see the module docstring). An all-zero weight returns 0.

    Args:
        values: float tensor.
        weights: tensor broadcastable to `values`.

    Example:
    ```python
    weighted_mean(np.array([1.0, 3.0]), np.array([1.0, 0.0]))  # 1.0
    ```
    """
    values = ops.cast(values, "float32")
    weights = ops.cast(ops.broadcast_to(weights, ops.shape(values)), "float32")
    total = ops.sum(values * weights)
    count = _replica_sum(ops.sum(weights))
    return total / ops.maximum(count, 1e-12)


def _position_weights(hidden, padding_mask):
    if padding_mask is None:
        return ops.ones(ops.shape(hidden)[:2], "float32")
    return ops.cast(padding_mask, "float32")


def parameter_free_layer_norm(x, epsilon=LAYER_NORM_EPSILON):
    """LayerNorm over the last axis without scale or offset.

    Args:
        x: float tensor.
        epsilon: float. Added to the variance (1e-12, as GR; TF Model
            Garden's 1e-3 is a pitfall that changes the loss).

    Example:
    ```python
    parameter_free_layer_norm(np.array([[1.0, 3.0]]))  # [[-1.0, 1.0]]
    ```
    """
    x = ops.cast(x, "float32")
    mean = ops.mean(x, axis=-1, keepdims=True)
    variance = ops.mean(ops.square(x - mean), axis=-1, keepdims=True)
    return (x - mean) / ops.sqrt(variance + epsilon)


def feature_map_transfer_loss(
    teacher_hidden,
    student_hidden,
    padding_mask=None,
    epsilon=LAYER_NORM_EPSILON,
):
    """Feature-map transfer: MSE between parameter-free LayerNorms.

    `mean over real tokens and channels of (LN(H_t) - LN(H_s))^2`.

    Args:
        teacher_hidden: `(batch, sequence, width)` teacher feature map.
        student_hidden: the student's, same shape (project it first if the
            widths differ).
        padding_mask: `(batch, sequence)` or None (every position counts).
        epsilon: float. LayerNorm epsilon.

    Example:
    ```python
    loss = feature_map_transfer_loss(h_teacher, h_student, padding_mask)
    ```
    """
    teacher_hidden = ops.stop_gradient(teacher_hidden)
    error = ops.square(
        parameter_free_layer_norm(teacher_hidden, epsilon)
        - parameter_free_layer_norm(student_hidden, epsilon)
    )
    weights = _position_weights(student_hidden, padding_mask)
    return weighted_mean(ops.mean(error, axis=-1), weights)


def _channel_statistic_loss(
    teacher_hidden, student_hidden, padding_mask, statistic, distance
):
    """Mean over real tokens of `distance(stat_t - stat_s)`, where `stat` is
    a per-token statistic over the channel axis (teacher side frozen)."""
    teacher_stat = statistic(
        ops.cast(ops.stop_gradient(teacher_hidden), "float32"), axis=-1
    )
    student_stat = statistic(ops.cast(student_hidden, "float32"), axis=-1)
    weights = _position_weights(student_hidden, padding_mask)
    return weighted_mean(distance(teacher_stat - student_stat), weights)


def mean_transfer_loss(teacher_hidden, student_hidden, padding_mask=None):
    """Mean transfer: `mean over real tokens of (mu_t - mu_s)^2`.

    `mu` is each token's mean over the channel axis of the raw feature map.

    Args:
        teacher_hidden: `(batch, sequence, width)`.
        student_hidden: `(batch, sequence, width)`.
        padding_mask: `(batch, sequence)` or None.

    Example:
    ```python
    loss = mean_transfer_loss(h_teacher, h_student, padding_mask)
    ```
    """
    return _channel_statistic_loss(
        teacher_hidden, student_hidden, padding_mask, ops.mean, ops.square
    )


def variance_transfer_loss(teacher_hidden, student_hidden, padding_mask=None):
    """Variance transfer: `mean over real tokens of |var_t - var_s|`.

    `var` is each token's (population) variance over the channel axis.

    Args:
        teacher_hidden: `(batch, sequence, width)`.
        student_hidden: `(batch, sequence, width)`.
        padding_mask: `(batch, sequence)` or None.

    Example:
    ```python
    loss = variance_transfer_loss(h_teacher, h_student, padding_mask)
    ```
    """
    return _channel_statistic_loss(
        teacher_hidden, student_hidden, padding_mask, ops.var, ops.abs
    )


def _masked_log_softmax(scores, key_mask):
    """Log-softmax over keys with padded keys removed; they come out -1e9."""
    scores = ops.cast(scores, "float32")
    scores = ops.where(key_mask > 0, scores, _MASKED_LOGIT)
    return ops.log_softmax(scores, axis=-1)


def _head_averaged_log_probs(log_probs):
    """log(mean over heads of softmax), stable: logsumexp - log(heads)."""
    heads = ops.shape(log_probs)[1]
    return ops.logsumexp(log_probs, axis=1, keepdims=True) - ops.log(
        ops.cast(heads, "float32")
    )


def attention_transfer_loss(
    teacher_scores, student_scores, padding_mask=None, head_mode="auto"
):
    """Attention transfer: KL(teacher || student) over the key axis.

    Takes masked pre-softmax scores `(batch, heads, query, key)` (whatever
    value the model put at padded keys: the mask is applied again here, so
    padded keys get probability 0 on both sides and contribute nothing).
    The KL of each (example, head, real query) is averaged over batch,
    heads and real queries.

    When the head counts differ (MiniLM's 12 heads against the student's
    4), there is no head-to-head pairing: heads have no order, and any
    grouping of teacher heads would be arbitrary. `head_mode="average"`
    compares the head-averaged attention distributions `mean_h softmax`,
    which are distributions over keys themselves (so the loss stays a KL,
    the paper's loss in the equal-head case up to Jensen), need no extra
    parameters and no access to Q/K/V, and are invariant to how either
    model orders its heads. MiniLMv2's relation transfer would need the
    student's queries, keys and values, which the backbone does not expose.

    Args:
        teacher_scores: `(batch, teacher_heads, sequence, sequence)`.
        student_scores: `(batch, student_heads, sequence, sequence)`.
        padding_mask: `(batch, sequence)` or None.
        head_mode: string. `"match"` (per-head KL, head counts must be
            equal), `"average"` (head-averaged maps) or `"auto"` (match when
            the counts are equal, else average).

    Example:
    ```python
    loss = attention_transfer_loss(teacher_scores, student_scores, mask)
    ```
    """
    teacher_heads = teacher_scores.shape[1]
    student_heads = student_scores.shape[1]
    if head_mode == "auto":
        head_mode = "match" if teacher_heads == student_heads else "average"
    if head_mode not in HEAD_MODES:
        raise ValueError(
            f"head_mode must be 'auto', 'match' or 'average'; received "
            f"{head_mode!r}."
        )
    if head_mode == "match" and teacher_heads != student_heads:
        raise ValueError(
            f"head_mode='match' needs equal head counts; the teacher has "
            f"{teacher_heads} and the student {student_heads}. Use "
            "head_mode='average'."
        )
    teacher_scores = ops.stop_gradient(teacher_scores)
    if padding_mask is None:
        padding_mask = ops.ones(
            (ops.shape(student_scores)[0], ops.shape(student_scores)[-1]),
            "int32",
        )
    mask = ops.cast(padding_mask, "float32")
    key_mask = mask[:, None, None, :]
    teacher_log_probs = _masked_log_softmax(teacher_scores, key_mask)
    student_log_probs = _masked_log_softmax(student_scores, key_mask)
    if head_mode == "average":
        teacher_log_probs = _head_averaged_log_probs(teacher_log_probs)
        student_log_probs = _head_averaged_log_probs(student_log_probs)
    teacher_probs = ops.exp(teacher_log_probs)
    pointwise = teacher_probs * (teacher_log_probs - student_log_probs)
    # Padded keys have p_t = 0; zero them explicitly so that no 0 * inf or
    # rounding residue can leak in.
    pointwise = ops.where(key_mask > 0, pointwise, 0.0)
    kl = ops.sum(pointwise, axis=-1)  # (batch, heads, query)
    query_weights = ops.broadcast_to(mask[:, None, :], ops.shape(kl))
    return weighted_mean(kl, query_weights)


def soft_cross_entropy(targets, logits):
    """`-sum targets * log_softmax(logits)` over the last axis."""
    return -ops.sum(
        targets * ops.log_softmax(ops.cast(logits, "float32"), axis=-1),
        axis=-1,
    )


def pretraining_distillation_loss(
    student_mlm_logits,
    mask_ids,
    mask_weights,
    student_nsp_logits=None,
    next_sentence_labels=None,
    teacher_mlm_logits=None,
    alpha=PRETRAINING_ALPHA,
    temperature=TEMPERATURE,
):
    """Pre-training distillation: soft MLM targets plus NSP on true labels.

    MLM: cross-entropy of the student's logits against
    `alpha * onehot(mask_ids) + (1 - alpha) * softmax(teacher / T)`,
    averaged over real mask positions (`mask_weights`). NSP: cross-entropy
    against the true labels, averaged over the batch. With no teacher MLM
    logits (a teacher without an MLM head), the MLM target is the one-hot
    label alone, i.e. plain MLM.

    Args:
        student_mlm_logits: `(batch, masks, vocabulary)`.
        mask_ids: `(batch, masks)` int, the original tokens.
        mask_weights: `(batch, masks)`, 1 for real masks, 0 for padding.
        student_nsp_logits: `(batch, 2)` or None (no NSP term).
        next_sentence_labels: `(batch,)` int or None.
        teacher_mlm_logits: `(batch, masks, vocabulary)` or None.
        alpha: float. Weight of the one-hot label in the MLM target.
        temperature: float. Temperature of the teacher's softmax.

    Returns:
        `(mlm_loss, nsp_loss)`; `nsp_loss` is 0 without NSP inputs.

    Example:
    ```python
    mlm, nsp = pretraining_distillation_loss(
        s["mlm_logits"], ids, weights, s["nsp_logits"], labels,
        teacher_mlm_logits=t["mlm_logits"],
    )
    ```
    """
    vocabulary = student_mlm_logits.shape[-1]
    targets = ops.one_hot(ops.cast(mask_ids, "int32"), vocabulary)
    if teacher_mlm_logits is not None:
        teacher = ops.cast(ops.stop_gradient(teacher_mlm_logits), "float32")
        soft = ops.softmax(teacher / temperature, axis=-1)
        targets = alpha * targets + (1.0 - alpha) * soft
    mlm = weighted_mean(
        soft_cross_entropy(targets, student_mlm_logits), mask_weights
    )
    if student_nsp_logits is None or next_sentence_labels is None:
        return mlm, ops.zeros((), "float32")
    nsp_targets = ops.one_hot(ops.cast(next_sentence_labels, "int32"), 2)
    nsp_losses = soft_cross_entropy(nsp_targets, student_nsp_logits)
    nsp = weighted_mean(nsp_losses, ops.ones_like(nsp_losses))
    return mlm, nsp


def task_distillation_loss(
    student_logits,
    teacher_logits,
    labels=None,
    temperature=TEMPERATURE,
    hard_label_weight=0.0,
    label_weights=None,
):
    """Task distillation for fine-tuning: soft-label KL, optionally mixed.

    `(1 - w) * mean(T^2 * KL(softmax(t / T) || softmax(s / T))) + w *
    mean(CE(labels, s))`, the soft term averaged over the batch and the
    hard term over the labelled examples (all, unless `label_weights`
    says otherwise); the `T^2` factor keeps the soft term's gradient scale
    independent of `T` (Hinton et al. 2015).

    Args:
        student_logits: `(batch, classes)`.
        teacher_logits: `(batch, classes)`.
        labels: `(batch,)` int or None; required when
            `hard_label_weight > 0`.
        temperature: float.
        hard_label_weight: float in [0, 1]. Weight `w` of the hard loss.
        label_weights: `(batch,)` or None. 1 for examples whose label
            counts, 0 for those without one (augmented text the teacher
            alone labels); None means every label counts.

    Example:
    ```python
    loss = task_distillation_loss(s_logits, t_logits, labels, 2.0, 0.5)
    ```
    """
    if hard_label_weight > 0 and labels is None:
        raise ValueError("hard_label_weight > 0 needs `labels`.")
    teacher = ops.cast(ops.stop_gradient(teacher_logits), "float32")
    student = ops.cast(student_logits, "float32")
    teacher_log_probs = ops.log_softmax(teacher / temperature, axis=-1)
    student_log_probs = ops.log_softmax(student / temperature, axis=-1)
    kl = ops.sum(
        ops.exp(teacher_log_probs) * (teacher_log_probs - student_log_probs),
        axis=-1,
    )
    soft = weighted_mean(temperature**2 * kl, ops.ones_like(kl))
    loss = (1.0 - hard_label_weight) * soft
    if hard_label_weight > 0:
        onehot = ops.one_hot(ops.cast(labels, "int32"), student.shape[-1])
        hard = soft_cross_entropy(onehot, student)
        if label_weights is None:
            label_weights = ops.ones_like(hard)
        loss = loss + hard_label_weight * weighted_mean(hard, label_weights)
    return loss


def task_regression_loss(
    student_scores,
    teacher_scores=None,
    labels=None,
    hard_label_weight=0.0,
    label_weights=None,
):
    """Task distillation for a regression head (one output, e.g. STS-B).

    `(1 - w) * mean((s - t)^2) + w * mean((s - y)^2)`: a score has no
    softmax to soften, so the student matches the teacher's score in
    squared error (TinyBERT's choice for STS-B), optionally mixed with the
    gold scores `y`, averaged over the labelled examples. Without teacher
    scores the loss is the gold-score term alone (plain fine-tuning).

    Args:
        student_scores: `(batch, 1)` or `(batch,)`.
        teacher_scores: like `student_scores`, or None.
        labels: `(batch,)` float or None; required when
            `hard_label_weight > 0` or without teacher scores.
        hard_label_weight: float in [0, 1]. Weight `w` of the gold term.
        label_weights: `(batch,)` or None. 1 where a gold score counts.

    Example:
    ```python
    loss = task_regression_loss(s_scores, t_scores, labels, 0.5)
    ```
    """
    student = ops.reshape(ops.cast(student_scores, "float32"), (-1,))
    loss = 0.0
    if teacher_scores is not None:
        teacher = ops.reshape(
            ops.cast(ops.stop_gradient(teacher_scores), "float32"), (-1,)
        )
        soft = ops.square(student - teacher)
        loss = (1.0 - hard_label_weight) * weighted_mean(
            soft, ops.ones_like(soft)
        )
    elif labels is None:
        raise ValueError("Give teacher scores, gold labels or both.")
    else:
        hard_label_weight = 1.0
    if hard_label_weight > 0:
        if labels is None:
            raise ValueError("hard_label_weight > 0 needs `labels`.")
        hard = ops.square(student - ops.cast(labels, "float32"))
        if label_weights is None:
            label_weights = ops.ones_like(hard)
        loss = loss + hard_label_weight * weighted_mean(hard, label_weights)
    return loss


def uniform_layer_map(num_student_layers, num_teacher_layers):
    """Pair each student layer with a teacher layer, spread evenly.

    Student layer `k` (1-based) takes teacher layer
    `ceil(k * teacher / student)`, so the last layers always pair and equal
    depths pair one to one.

    Args:
        num_student_layers: int.
        num_teacher_layers: int.

    Example:
    ```python
    uniform_layer_map(4, 6)  # {1: 2, 2: 3, 3: 5, 4: 6}
    ```
    """
    return {
        k: int(math.ceil(k * num_teacher_layers / num_student_layers - 1e-9))
        for k in range(1, num_student_layers + 1)
    }
