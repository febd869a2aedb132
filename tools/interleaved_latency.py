"""Latency of LiteRT, ONNX Runtime and PyTorch models, interleaved.

Times files and models you name in one process, in rounds with a new
random order each round and spinning threads off, and prints medians and
per-round ratios. The timing is `keras_mobilebert.export.latency`, the same
code `keras-mobilebert benchmark` runs; this tool takes arbitrary files
(e.g. before/after a change):

    python tools/interleaved_latency.py --threads 2 --rounds 15 \
        --litert mb_f32=runs/bench/files/mobilebert_128_float32.tflite \
        --litert bert_f32=runs/bench/files/bert_base_128_float32.tflite \
        --onnx mb_ort_int8=runs/bench/files/mobilebert_128_dynamic_int8.onnx \
        --torch mb_torch=mobilebert \
        --ratio bert_f32/mb_f32 --ratio mb_ort_int8/mb_f32 \
        --json runs/bench/latency.json

`--onnx` needs `onnxruntime`, `--torch` needs `torch` and `transformers`
(the `benchmark` extra).
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _named(values, flag):
    pairs = []
    for value in values or ():
        name, sep, target = value.partition("=")
        if not sep or not name or not target:
            raise SystemExit(f"{flag} takes NAME=VALUE; received {value!r}.")
        pairs.append((name, target))
    return pairs


def main(argv=None):
    parser = argparse.ArgumentParser(prog="interleaved_latency")
    parser.add_argument("--litert", action="append", metavar="NAME=PATH")
    parser.add_argument("--onnx", action="append", metavar="NAME=PATH")
    parser.add_argument("--torch", action="append", metavar="NAME=MODEL")
    parser.add_argument(
        "--torch-initial-norms",
        action="store_true",
        help="Keep HF MobileBERT's initial NoNorms (x * 1 + 0).",
    )
    parser.add_argument(
        "--onnx-spinning",
        action="store_true",
        help=(
            "Keep ONNX Runtime's default spinning threads: faster for ONNX "
            "Runtime, slower for whatever runs next."
        ),
    )
    parser.add_argument("--ratio", action="append", metavar="A/B")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sequence-length", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--per-round", type=int, default=3)
    parser.add_argument("--json", help="Write the result here.")
    args = parser.parse_args(argv)
    from keras_mobilebert.export import latency

    latency.quiet_threads()
    ids = latency.token_ids(args.sequence_length)
    runners = {}
    for name, path in _named(args.litert, "--litert"):
        runners[name] = latency.litert_runner(path, ids, args.threads)
    for name, path in _named(args.onnx, "--onnx"):
        runners[name] = latency.onnx_runner(
            path, ids, args.threads, spinning=args.onnx_spinning
        )
    for name, model in _named(args.torch, "--torch"):
        from keras_mobilebert.export import reference_models

        hf = reference_models.build_torch_model(
            model, trained_norms=not args.torch_initial_norms
        )
        runners[name] = latency.torch_runner(hf, ids, args.threads)
    if not runners:
        raise SystemExit("Nothing to time: give --litert, --onnx or --torch.")
    times = latency.interleave(
        runners,
        args.rounds,
        args.per_round,
        log=lambda m: print(m, file=sys.stderr, flush=True),
    )
    try:
        result = latency.summarize(times, args.per_round, args.ratio or ())
    except ValueError as error:
        raise SystemExit(str(error)) from None
    result["settings"] = {
        "threads": args.threads,
        "sequence_length": args.sequence_length,
        "rounds": args.rounds,
        "per_round": args.per_round,
        "onnx_spinning": args.onnx_spinning,
        "load_average": list(os.getloadavg()),
    }
    print(latency.format_summary(result))
    if args.json:
        from profile_litert import write_json

        write_json(result, args.json)


if __name__ == "__main__":
    main()
