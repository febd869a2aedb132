import keras


def as_tensors(data):
    """Convert a dict of arrays to tensors.

    KerasHub's `run_layer_test` calls `compute_output_spec` with its input
    data; Keras only derives shapes from tensors, not numpy arrays.
    """
    return {k: keras.ops.convert_to_tensor(v) for k, v in data.items()}
