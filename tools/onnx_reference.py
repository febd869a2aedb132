"""ONNX Runtime reference files for the latency comparison.

Exports Hugging Face `MobileBertModel` (the `google/mobilebert-uncased`
configuration, 24 layers) and `BertModel` (BERT-base, 12 x 768) with random
weights to ONNX at batch 1 and a fixed sequence length, then writes ONNX
Runtime's dynamic int8 quantization of each (`quantize_dynamic`, int8
weights, activations quantized at run time). These are what a user would run
instead of our LiteRT files; `tools/interleaved_latency.py` times them side
by side with LiteRT in one process.

Needs `torch`, `transformers`, `onnx`, `onnxscript` and `onnxruntime`, which
the package does not depend on; install them in a virtualenv of your own:

    python3 -m venv .venv-perf
    .venv-perf/bin/pip install torch==2.13.0 transformers onnx onnxscript \
        onnxruntime
    .venv-perf/bin/python tools/onnx_reference.py --output runs/onnx

With `--trained-norms`, MobileBERT's NoNorm scales and offsets are drawn at
random instead of HF's initial ones and zeros: converters drop `x * 1 + 0`,
so a freshly initialized model hides the cost those element-wise ops have in
a trained one.
"""

import argparse
import pathlib
import sys
import time

MODELS = ("mobilebert", "bert_base")


def build_torch_model(name, trained_norms=False, seed=0):
    """A randomly initialized HF model in eval mode.

    Args:
        name: string. `"mobilebert"` or `"bert_base"`.
        trained_norms: bool. Draw MobileBERT's NoNorm weights at random
            (gamma in +-[0.5, 1.5], beta ~ N(0, 0.5)).
        seed: int.

    Example:
    ```python
    model = build_torch_model("mobilebert")
    ```
    """
    import torch
    import transformers

    torch.manual_seed(seed)
    if name == "mobilebert":
        model = transformers.MobileBertModel(
            transformers.MobileBertConfig(), add_pooling_layer=False
        )
    elif name == "bert_base":
        model = transformers.BertModel(
            transformers.BertConfig(), add_pooling_layer=False
        )
    else:
        raise ValueError(f"Unknown model {name!r}; expected one of {MODELS}.")
    model.eval()
    if trained_norms and name == "mobilebert":
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


def torch_inputs(sequence_length, seed=0):
    """Batch-1 int64 inputs: random ids, full mask, segment zeros."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(1000, 30000, (1, sequence_length), generator=generator)
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
    names = list(inputs)
    with torch.no_grad():
        torch.onnx.export(
            model,
            (),
            str(path),
            kwargs=inputs,
            input_names=names,
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
    """Largest |ONNX Runtime - PyTorch| on the last hidden state."""
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
    return float(np.max(np.abs(got - expected))), float(
        np.max(np.abs(expected))
    )


def main(argv=None):
    parser = argparse.ArgumentParser(prog="onnx_reference")
    parser.add_argument("--output", default="runs/onnx")
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--sequence-length", type=int, default=128)
    parser.add_argument("--trained-norms", action="store_true")
    args = parser.parse_args(argv)
    output = pathlib.Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    suffix = "_trained_norms" if args.trained_norms else ""
    for name in args.models:
        model = build_torch_model(name, trained_norms=args.trained_norms)
        fp32 = output / f"{name}{suffix}_fp32.onnx"
        int8 = output / f"{name}{suffix}_dynamic_int8.onnx"
        start = time.perf_counter()
        export_onnx(model, fp32, args.sequence_length)
        quantize_onnx(fp32, int8)
        for path in (fp32, int8):
            error, scale = max_output_difference(
                model, path, args.sequence_length
            )
            print(
                f"{path}: max |ORT - torch| {error:.3g} (outputs up to "
                f"{scale:.3g}); {path.stat().st_size / 2**20:.1f} MiB",
                flush=True,
            )
        print(f"{name}: {time.perf_counter() - start:.0f} s", flush=True)


if __name__ == "__main__":
    sys.exit(main())
