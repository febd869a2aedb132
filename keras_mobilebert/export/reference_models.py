"""What a user would run instead of our files: HF PyTorch and ONNX Runtime.

Hugging Face `MobileBertModel` (the `google/mobilebert-uncased`
configuration, 24 layers) and `BertModel` (BERT-base, 12 x 768) with
random weights, in PyTorch, and exported to ONNX at batch 1 and a fixed
sequence length with ONNX Runtime's dynamic int8 quantization of each
(`quantize_dynamic`: int8 weights, activations quantized at run time).
The benchmark (`keras_mobilebert.export.benchmark`) times them beside our
LiteRT files; `tools/onnx_reference.py` writes the ONNX files alone.

None of this is a dependency of the package: it needs the `benchmark`
extra (`pip install "keras-mobilebert[benchmark]"`: torch, transformers,
onnx, onnxscript, onnxruntime).
"""

import importlib.util

BENCHMARK_EXTRA = 'pip install "keras-mobilebert[benchmark]"'
TORCH_PACKAGES = ("torch", "transformers")
ONNX_PACKAGES = TORCH_PACKAGES + ("onnx", "onnxscript", "onnxruntime")
MODELS = ("mobilebert", "bert_base")


def missing_packages(packages):
    """The names among `packages` that cannot be imported.

    Example:
    ```python
    missing_packages(ONNX_PACKAGES)  # [] when the extra is installed
    ```
    """
    return [p for p in packages if importlib.util.find_spec(p) is None]


def missing_message(packages, rows):
    """One line: which rows are skipped, what is missing, how to install.

    Example:
    ```python
    missing_message(["onnxruntime"], "ONNX Runtime rows")
    ```
    """
    return (
        f"{rows} skipped: {', '.join(packages)} not installed "
        f"({BENCHMARK_EXTRA})"
    )


def randomize_no_norms(model, seed=0):
    """Draw an HF MobileBERT's NoNorm scales and offsets at random.

    HF initializes them to ones and zeros, which exporters drop; a trained
    model's are neither, and cost element-wise ops (gamma in +-[0.5, 1.5],
    beta ~ N(0, 0.5), as `benchmark_models.trained_like_norms` draws for
    Keras).

    Example:
    ```python
    randomize_no_norms(build_torch_model("mobilebert"))
    ```
    """
    import torch

    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if type(module).__name__ != "NoNorm":
                continue
            size = module.weight.shape
            magnitude = torch.rand(size, generator=generator) + 0.5
            sign = torch.randint(0, 2, size, generator=generator) * 2 - 1
            module.weight.copy_(magnitude * sign)
            module.bias.copy_(torch.randn(size, generator=generator) * 0.5)
    return model


def build_torch_model(name, trained_norms=True, task=None, seed=0):
    """A randomly initialized HF model in eval mode.

    Args:
        name: string. `"mobilebert"` or `"bert_base"`.
        trained_norms: bool. Draw MobileBERT's NoNorm weights at random
            (`randomize_no_norms`).
        task: None for the encoder without pooler, or `"classification"`
            for a two-class sequence classifier (the fine-tuning row).
        seed: int.

    Example:
    ```python
    model = build_torch_model("mobilebert")
    ```
    """
    import torch
    import transformers

    if name not in MODELS:
        raise ValueError(f"Unknown model {name!r}; expected one of {MODELS}.")
    torch.manual_seed(seed)
    if name == "mobilebert":
        config = transformers.MobileBertConfig(num_labels=2)
        base = transformers.MobileBertModel
        classifier = transformers.MobileBertForSequenceClassification
    else:
        config = transformers.BertConfig(num_labels=2)
        base = transformers.BertModel
        classifier = transformers.BertForSequenceClassification
    if task == "classification":
        model = classifier(config)
    elif task is None:
        model = base(config, add_pooling_layer=False)
    else:
        raise ValueError(f"Unknown task {task!r}; expected classification.")
    model.eval()
    if trained_norms and name == "mobilebert":
        randomize_no_norms(model, seed)
    return model


def torch_inputs(sequence_length, seed=0, batch_size=1):
    """int64 inputs: random ids, full mask, segment zeros.

    Example:
    ```python
    inputs = torch_inputs(128)
    ```
    """
    import torch

    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(
        1000, 30000, (batch_size, sequence_length), generator=generator
    )
    return {
        "input_ids": ids,
        "attention_mask": torch.ones_like(ids),
        "token_type_ids": torch.zeros_like(ids),
    }


def export_onnx(model, path, sequence_length):
    """Export `model` to ONNX with fixed `[1, sequence_length]` inputs.

    Example:
    ```python
    export_onnx(build_torch_model("mobilebert"), "mobilebert.onnx", 128)
    ```
    """
    import torch

    inputs = torch_inputs(sequence_length)
    with torch.no_grad():
        torch.onnx.export(
            model,
            (),
            str(path),
            kwargs=inputs,
            input_names=list(inputs),
            output_names=["last_hidden_state"],
            opset_version=18,
            dynamo=True,
            external_data=False,
        )


def quantize_onnx(source, target):
    """ONNX Runtime's dynamic int8 quantization (int8 weights).

    Example:
    ```python
    quantize_onnx("mobilebert.onnx", "mobilebert_int8.onnx")
    ```
    """
    from onnxruntime.quantization import QuantType
    from onnxruntime.quantization import quantize_dynamic

    quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8)


def max_output_difference(model, onnx_path, sequence_length):
    """`(max |ONNX Runtime - PyTorch|, max |PyTorch|)` of the last hidden
    state, on random ids.

    Example:
    ```python
    error, scale = max_output_difference(model, "mobilebert.onnx", 128)
    ```
    """
    import numpy as np
    import onnxruntime
    import torch

    inputs = torch_inputs(sequence_length, seed=1)
    with torch.no_grad():
        expected = model(**inputs).last_hidden_state.numpy()
    session = onnxruntime.InferenceSession(
        str(onnx_path), providers=["CPUExecutionProvider"]
    )
    feed = {
        i.name: inputs[i.name].numpy()
        for i in session.get_inputs()
        if i.name in inputs
    }
    got = session.run(None, feed)[0]
    return (
        float(np.max(np.abs(got - expected))),
        float(np.max(np.abs(expected))),
    )


def write_onnx_files(model, directory, stem, sequence_length):
    """The fp32 ONNX file of `model` and its dynamic int8 quantization.

    Args:
        model: an HF encoder (see `build_torch_model`).
        directory: `pathlib.Path` to write to.
        stem: string. File names are `<stem>_fp32.onnx` and
            `<stem>_dynamic_int8.onnx`.
        sequence_length: int.

    Returns:
        A dict of `"fp32"` and `"dynamic_int8"` to a dict with `path`,
        `max_abs_error` (against PyTorch) and `scale` (max |PyTorch|).

    Example:
    ```python
    files = write_onnx_files(model, pathlib.Path("runs"), "mb_128", 128)
    ```
    """
    fp32 = directory / f"{stem}_fp32.onnx"
    int8 = directory / f"{stem}_dynamic_int8.onnx"
    export_onnx(model, fp32, sequence_length)
    quantize_onnx(fp32, int8)
    files = {}
    for kind, path in (("fp32", fp32), ("dynamic_int8", int8)):
        error, scale = max_output_difference(model, path, sequence_length)
        files[kind] = {"path": path, "max_abs_error": error, "scale": scale}
    return files
