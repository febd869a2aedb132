"""Copies of a backbone or task with a changed config and the same weights.

Every path that needs "this model, but built differently" goes through
`rebuild_with_config`: another attention mask mode for export, a
quantization-aware class for QAT, a preset's exact config for a converted
checkpoint. The task's whole config travels with the copy, so an option a
task gains later is never silently dropped from it.
"""


def copy_weights(source, target, allow_new_weights=False):
    """Assign each weight of `source` to the weight of `target` at its path.

    Args:
        source: a built Keras model or layer.
        target: a built Keras model or layer of the same architecture.
        allow_new_weights: bool. Whether `target` may have weights that
            `source` lacks (a quantization-aware copy's ranges); they keep
            their initial values. Every weight of `source` must always find
            its place.

    Returns:
        The number of weights copied.

    Raises:
        ValueError: a weight has another shape in `target`, a weight of
            `source` has no place in `target`, or (unless allowed) `target`
            has weights `source` lacks.

    Example:
    ```python
    copy_weights(float_classifier, qat_classifier, allow_new_weights=True)
    ```
    """
    # Keras 3 paths name the layers inside the model, not the model itself
    # ("transformer_layer_0/attention/query/kernel"), so two builds of one
    # architecture agree on them whatever the models are called.
    by_key = {v.path: v for v in source.weights}
    if len(by_key) != len(source.weights):
        raise ValueError(
            f"{source.name} has several weights at one path; they cannot be "
            "matched by path."
        )
    matched = set()
    new = []
    for variable in target.weights:
        key = variable.path
        match = by_key.get(key)
        if match is None:
            new.append(variable.path)
            continue
        if tuple(match.shape) != tuple(variable.shape):
            raise ValueError(
                f"Weight {key} has shape {tuple(variable.shape)} in the copy "
                f"but {tuple(match.shape)} in the source."
            )
        variable.assign(match)
        matched.add(key)
    missing = sorted(set(by_key) - matched)
    if missing:
        raise ValueError(
            f"{len(missing)} weights of the source have no place in the "
            f"copy, e.g. {missing[:3]}."
        )
    if new and not allow_new_weights:
        raise ValueError(
            f"The copy has {len(new)} weights the source lacks, e.g. "
            f"{sorted(new)[:3]}."
        )
    return len(matched)


def rebuild_with_config(
    model,
    backbone_changes=None,
    backbone_cls=None,
    task_cls=None,
    allow_new_weights=False,
):
    """A copy of a backbone or task, built from a changed config.

    The backbone is rebuilt from its own `get_config()` updated with
    `backbone_changes`; a task is rebuilt from its whole `get_config()`
    around the new backbone, with the same preprocessor object. Then every
    weight is copied by path. Nothing is shared with `model` but the
    preprocessor.

    Args:
        model: a backbone, or a task with `backbone` and `get_config()`
            (KerasHub tasks and `BackboneModel`s).
        backbone_changes: dict or None. Backbone config fields to set.
        backbone_cls: class or None. Class of the new backbone; None keeps
            `type(backbone)`.
        task_cls: class or None. Class of the new task; None keeps
            `type(model)`.
        allow_new_weights: bool. See `copy_weights`.

    Returns:
        The new model, uncompiled.

    Example:
    ```python
    fill = rebuild_with_config(
        classifier, backbone_changes={"attention_mask_mode": "fill"}
    )
    ```
    """
    backbone = getattr(model, "backbone", model)
    config = backbone.get_config()
    config.update(backbone_changes or {})
    new_backbone = (backbone_cls or type(backbone)).from_config(config)
    if model is backbone:
        copy_weights(backbone, new_backbone, allow_new_weights)
        return new_backbone
    task_config = model.get_config()
    task_config["backbone"] = new_backbone
    if "preprocessor" in task_config:
        task_config["preprocessor"] = model.preprocessor
    copy = (task_cls or type(model)).from_config(task_config)
    copy_weights(model, copy, allow_new_weights)
    return copy
