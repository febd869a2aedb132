"""ONNX Runtime reference files for the latency comparison.

Writes HF `MobileBertModel` (24 layers, NoNorms drawn trained-like unless
`--initial-norms`) and `BertModel` (BERT-base) with random weights as ONNX
at batch 1 and a fixed length, plus ONNX Runtime's dynamic int8
quantization of each, and prints each file's error against PyTorch. The
code is `keras_mobilebert.export.reference_models`, which
`keras-mobilebert benchmark` also runs. Needs the `benchmark` extra:

    pip install "keras-mobilebert[benchmark]"
    python tools/onnx_reference.py --output runs/onnx
"""

import argparse
import os
import pathlib
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="onnx_reference")
    parser.add_argument("--output", default="runs/onnx")
    parser.add_argument(
        "--models", nargs="+", default=["mobilebert", "bert_base"]
    )
    parser.add_argument("--sequence-length", type=int, default=128)
    parser.add_argument("--initial-norms", action="store_true")
    args = parser.parse_args(argv)
    from keras_mobilebert.export import reference_models

    missing = reference_models.missing_packages(reference_models.ONNX_PACKAGES)
    if missing:
        raise SystemExit(
            reference_models.missing_message(missing, "ONNX reference files")
        )
    output = pathlib.Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    for name in args.models:
        start = time.perf_counter()
        model = reference_models.build_torch_model(
            name, trained_norms=not args.initial_norms
        )
        stem = f"{name}_{args.sequence_length}"
        files = reference_models.write_onnx_files(
            model, output, stem, args.sequence_length
        )
        for info in files.values():
            path = info["path"]
            print(
                f"{path}: max |ORT - torch| {info['max_abs_error']:.3g} "
                f"(outputs up to {info['scale']:.3g}); "
                f"{path.stat().st_size / 2**20:.1f} MiB",
                flush=True,
            )
        print(f"{name}: {time.perf_counter() - start:.0f} s", flush=True)


if __name__ == "__main__":
    sys.exit(main())
