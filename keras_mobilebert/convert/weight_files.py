"""Readers and writers of checkpoint weight files as numpy arrays.

safetensors (single and sharded), TensorFlow `tf_model.h5` and PyTorch
`.bin`. Pickles are never unpickled: `.bin` goes through
`torch.load(weights_only=True)` when torch is installed and is refused with
instructions otherwise.
"""

import json
import pathlib
import re

import numpy as np

from keras_mobilebert.convert.weights import ConversionError


def read_safetensors(path):
    """Read every tensor of a `.safetensors` file as numpy arrays.

    Uses the `safetensors` package when it is installed, else (and for
    bfloat16 tensors, which numpy lacks) a small reader of the format here.
    Raises a `ConversionError` naming the file when it is truncated or not a
    safetensors file.

    Example:
    ```python
    tensors = read_safetensors("snapshot/model.safetensors")
    ```
    """
    try:
        from safetensors import SafetensorError
        from safetensors.numpy import load_file
    except ImportError:
        return _read_safetensors_numpy(path)
    try:
        return dict(load_file(str(path)))
    except TypeError:
        # numpy has no bfloat16; the file is valid, read it ourselves.
        return _read_safetensors_numpy(path)
    except (SafetensorError, OSError, ValueError) as e:
        raise ConversionError(
            f"{path} is not a readable safetensors file (truncated or "
            f"corrupt?): {e}"
        ) from e


_SAFETENSORS_DTYPES = {
    "F64": np.float64,
    "F32": np.float32,
    "F16": np.float16,
    "I64": np.int64,
    "I32": np.int32,
    "I16": np.int16,
    "I8": np.int8,
    "U8": np.uint8,
    "BOOL": np.bool_,
}
_SAFETENSORS_NAMES = {np.dtype(v): k for k, v in _SAFETENSORS_DTYPES.items()}


def _read_safetensors_numpy(path):
    """The safetensors format read with numpy alone.

    bfloat16 tensors are widened to float32, exactly (bfloat16 is the top
    half of a float32).
    """
    try:
        data = pathlib.Path(path).read_bytes()
    except OSError as e:
        raise ConversionError(f"Cannot read {path}: {e}") from e

    def corrupt(reason):
        return ConversionError(
            f"{path} is not a readable safetensors file (truncated or "
            f"corrupt?): {reason}"
        )

    if len(data) < 8:
        raise corrupt(f"only {len(data)} bytes")
    size = int.from_bytes(data[:8], "little")
    if size > len(data) - 8:
        raise corrupt(f"header of {size} bytes in a {len(data)}-byte file")
    try:
        header = json.loads(data[8 : 8 + size])
    except (ValueError, UnicodeDecodeError) as e:
        raise corrupt(f"unreadable header: {e}") from e
    if not isinstance(header, dict):
        raise corrupt("the header is not a JSON object")
    body = data[8 + size :]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype = info["dtype"]
            shape = tuple(int(d) for d in info["shape"])
            start, end = (int(o) for o in info["data_offsets"])
        except (KeyError, TypeError, ValueError) as e:
            raise corrupt(f"bad header entry for {name}: {e}") from e
        if not 0 <= start <= end <= len(body):
            raise ConversionError(
                f"{path} is truncated: {name} spans bytes {start}..{end} of "
                f"a {len(body)}-byte body."
            )
        raw = body[start:end]
        if dtype == "BF16":
            item = 2
        elif dtype in _SAFETENSORS_DTYPES:
            item = np.dtype(_SAFETENSORS_DTYPES[dtype]).itemsize
        else:
            raise ConversionError(
                f"{path}: tensor {name} has unsupported dtype {dtype}."
            )
        if len(raw) != item * int(np.prod(shape, dtype=np.int64)):
            raise corrupt(
                f"{name} has {len(raw)} bytes for shape {shape} of {dtype}"
            )
        if dtype == "BF16":
            bits = np.frombuffer(raw, "<u2").astype(np.uint32) << 16
            value = bits.view(np.float32)
        else:
            value = np.frombuffer(raw, _SAFETENSORS_DTYPES[dtype])
        tensors[name] = value.reshape(shape).copy()
    return tensors


def write_safetensors(tensors, path, metadata=None):
    """Write numpy arrays as a `.safetensors` file (no package needed).

    Example:
    ```python
    write_safetensors({"w": np.ones((2, 2), "float32")}, "model.safetensors")
    ```
    """
    header = {}
    offset = 0
    names = sorted(tensors)
    arrays = []
    for name in names:
        value = np.ascontiguousarray(tensors[name])
        if value.dtype not in _SAFETENSORS_NAMES:
            raise ConversionError(
                f"Cannot write {name}: dtype {value.dtype} has no "
                "safetensors name."
            )
        value = value.astype(value.dtype.newbyteorder("<"), copy=False)
        header[name] = {
            "dtype": _SAFETENSORS_NAMES[value.dtype.newbyteorder("=")],
            "shape": list(value.shape),
            "data_offsets": [offset, offset + value.nbytes],
        }
        offset += value.nbytes
        arrays.append(value)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    with open(path, "wb") as f:
        f.write(len(encoded).to_bytes(8, "little"))
        f.write(encoded)
        for value in arrays:
            f.write(value.tobytes())


def _read_sharded_safetensors(index_path):
    try:
        index = json.loads(pathlib.Path(index_path).read_text())
        shards = sorted(set(index["weight_map"].values()))
    except (ValueError, KeyError, TypeError) as e:
        raise ConversionError(
            f"{index_path} is not a valid safetensors index: {e}"
        ) from e
    tensors = {}
    for shard in shards:
        shard_path = pathlib.Path(index_path).parent / shard
        if not shard_path.is_file():
            raise ConversionError(
                f"{index_path} lists the shard {shard}, which is missing."
            )
        tensors.update(read_safetensors(shard_path))
    return tensors


def _tf_name_to_hf(name):
    """HF's TF 2 -> PyTorch weight name rule, for `tf_model.h5` files."""
    name = name.replace(":0", "")
    name = re.sub(r"/[^/]*___([^/]*)/", r"/\1/", name)
    name = name.replace("_._", "/")
    name = re.sub(r"//+", "/", name)
    parts = name.split("/")
    if len(parts) > 1:
        parts = parts[1:]
    transpose = parts[-1] == "kernel"
    if parts[-1] in ("kernel", "embeddings", "gamma"):
        parts[-1] = "weight"
    elif parts[-1] == "beta":
        parts[-1] = "bias"
    return ".".join(parts), transpose


def read_tf_h5(path):
    """Read a Hugging Face TensorFlow `tf_model.h5` into PyTorch names.

    Kernels are transposed to PyTorch's `[out, in]` layout so the rest of
    the converter sees one naming scheme.

    Example:
    ```python
    tensors = read_tf_h5("snapshot/tf_model.h5")
    ```
    """
    import h5py

    tensors = {}
    try:
        with h5py.File(path, "r") as f:
            pairs = []
            layer_names = f.attrs.get("layer_names")
            if layer_names is not None:
                # Keras h5 weights: each layer group lists its weights'
                # full names ("<model>/<scope>/.../kernel:0").
                for layer in layer_names:
                    layer = (
                        layer.decode() if isinstance(layer, bytes) else layer
                    )
                    group = f[layer]
                    for weight in group.attrs.get("weight_names", []):
                        if isinstance(weight, bytes):
                            weight = weight.decode()
                        pairs.append((weight, group[weight]))
            else:

                def visit(name, obj):
                    if isinstance(obj, h5py.Dataset):
                        parts = name.split("/")
                        weight = "/".join(parts[1:]) if len(parts) > 2 else name
                        pairs.append((weight, obj))

                f.visititems(visit)
            for weight, dataset in pairs:
                name, transpose = _tf_name_to_hf(weight)
                value = np.asarray(dataset)
                tensors[name] = value.T if transpose else value
    except (OSError, KeyError) as e:
        raise ConversionError(
            f"{path} is not a readable HDF5 file (truncated or corrupt?): {e}"
        ) from e
    # The TF model keeps a separate copy of the tied decoder matrix
    # (`cls.predictions.decoder.weight`); it is checked against the word
    # embeddings like the PyTorch one.
    return tensors


def read_pytorch_bin(path):
    """Read a PyTorch `.bin` state dict without unpickling arbitrary code.

    Uses `torch.load(weights_only=True)`, PyTorch's restricted loader, and
    only when torch is installed; otherwise raises a `ConversionError` that
    says how to get safetensors instead.

    Example:
    ```python
    tensors = read_pytorch_bin("snapshot/pytorch_model.bin")
    ```
    """
    try:
        import torch
    except ImportError:
        raise ConversionError(
            f"{path} is a PyTorch pickle, which keras_mobilebert never "
            "unpickles. Get the safetensors weights instead: download the "
            "repository's model.safetensors (on the Hub, the 'refs/pr/N' "
            "revision of the safetensors conversion bot often has one), or "
            "convert once where torch is installed with `transformers."
            "AutoModel.from_pretrained(src).save_pretrained(dst)`, or "
            "install torch so the file can be read with "
            "torch.load(weights_only=True)."
        ) from None
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many kinds here.
        raise ConversionError(
            f"{path} could not be read with torch.load(weights_only=True) "
            f"(truncated, corrupt, or not a plain state dict): {e}"
        ) from e
    if not isinstance(state, dict):
        raise ConversionError(f"{path} does not hold a state dict.")
    return {k: v.detach().float().numpy() for k, v in state.items()}


def read_weights(path):
    """Read a weights file of any supported kind, by its name.

    Example:
    ```python
    tensors = read_weights("snapshot/model.safetensors")
    ```
    """
    path = pathlib.Path(path)
    if path.name.endswith(".safetensors.index.json"):
        return _read_sharded_safetensors(path)
    if path.suffix == ".safetensors":
        return read_safetensors(path)
    if path.suffix == ".h5":
        return read_tf_h5(path)
    if path.suffix in (".bin", ".pt", ".pth"):
        return read_pytorch_bin(path)
    raise ConversionError(f"Unknown weights file type: {path}.")
