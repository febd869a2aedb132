"""`keras-mobilebert convert`: a checkpoint into a KerasHub preset, once.

SRC may be a local Hugging Face snapshot directory, an `hf://owner/name`
handle, a built-in preset name with a Hugging Face source
(`mobilebert_en_uncased`), an original TF1 checkpoint (its prefix, its
`.index` file or its directory), or a TF Model Garden file: a TF2 checkpoint
of `MobileBERTEncoder`, its TF Hub / Kaggle SavedModel (folder or
`.tar.gz`) or a MediaPipe Model Maker text-classifier checkpoint. The preset
is written atomically: a failed conversion leaves nothing at DST_PRESET_DIR.
`--to-huggingface` goes the other way, from a keras_mobilebert preset to an
HF snapshot.

Example:
```
keras-mobilebert convert hf://google/mobilebert-uncased ./mobilebert_preset
keras-mobilebert convert uncased_L-24_H-128_B-512_A-4_F-4_OPT/ ./preset
keras-mobilebert convert mobilebert_tfhub_savedmodel.tar.gz ./preset
keras-mobilebert convert --to-huggingface ./mobilebert_preset ./hf_snapshot
```
"""

import pathlib
import time

from keras_mobilebert_cli.preset_models import load_preset_model

# Source formats (`auto` detects one); literals here, the parser must not
# import TensorFlow.
FORMATS = ("auto", "huggingface", "tf1", "tfm")
# keras_mobilebert.layers.layer_math.MASK_MODES, GR's "fill" (the TF1
# default) first.
ATTENTION_MASK_MODES = ("fill", "additive")


def register(subparsers):
    """Add the `convert` subcommand to an argparse `subparsers` object.

    Example:
    ```python
    parser = argparse.ArgumentParser(prog="keras-mobilebert")
    register(parser.add_subparsers(dest="command"))
    ```
    """
    parser = subparsers.add_parser(
        "convert",
        help="Convert HF / TF1 / Model Garden MobileBERT weights into a "
        "KerasHub preset.",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument(
        "src",
        help="HF snapshot dir, hf://owner/name, built-in preset name, TF1 "
        "checkpoint (prefix, .index file or directory), or Model Garden "
        "TF2 checkpoint, SavedModel (folder or .tar.gz) or Model Maker "
        "classifier checkpoint.",
    )
    parser.add_argument("dst", help="Output preset directory.")
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="auto",
        help="Source format (default: detected).",
    )
    parser.add_argument(
        "--config",
        help="TF1: GR bert_config.json (default: next to it); tfm: JSON of "
        "MobileBERTEncoder arguments (default: the released configuration, "
        "or a config.json next to it).",
    )
    parser.add_argument(
        "--vocabulary",
        help="TF1 / tfm: vocab.txt (default: next to it, or the "
        "SavedModel's assets/vocab.txt).",
    )
    parser.add_argument(
        "--cased",
        action="store_true",
        help="TF1 / tfm: the vocabulary is cased (no lowercasing).",
    )
    parser.add_argument(
        "--attention-mask-mode",
        choices=ATTENTION_MASK_MODES,
        default="fill",
        help="TF1 only: GR's -6 fill (default) or HF's additive mask.",
    )
    parser.add_argument(
        "--to-huggingface",
        action="store_true",
        help="Export a keras_mobilebert preset SRC to an HF snapshot DST.",
    )
    parser.set_defaults(func=run)
    return parser


def _detect(src):
    from keras_mobilebert.convert import hf_snapshot
    from keras_mobilebert.convert import tfm_checkpoint
    from keras_mobilebert.models.mobilebert.mobilebert_presets import (
        backbone_presets,
    )

    if src in backbone_presets:
        return "builtin"
    if src.startswith("hf://"):
        return "huggingface"
    path = pathlib.Path(src)
    if path.is_dir() and (path / "config.json").is_file():
        if hf_snapshot.is_hf_snapshot(path):
            return "huggingface"
    if tfm_checkpoint.is_tfm_source(src):
        return "tfm"
    if (
        path.suffix == ".index"
        or pathlib.Path(src + ".index").is_file()
        or (path.is_dir() and list(path.glob("*.index")))
    ):
        return "tf1"
    from keras_mobilebert.convert.weights import ConversionError

    raise ConversionError(
        f"cannot tell what {src} is: not an HF MobileBERT snapshot "
        "(config.json with model_type 'mobilebert'), an hf:// handle, a "
        "built-in preset name, a TF1 or TF2 checkpoint or a SavedModel. "
        "Pass --format."
    )


def run(args):
    """Run `keras-mobilebert convert` with parsed `args`; returns 0.

    Example:
    ```python
    run(parser.parse_args(["convert", "snapshot", "preset"]))
    ```
    """
    from keras_mobilebert.convert.converted_preset import apply_preset_config
    from keras_mobilebert.convert.converted_preset import save_preset
    from keras_mobilebert.convert.hf_checkpoint import convert_snapshot
    from keras_mobilebert.convert.tf1_checkpoint import convert_tf1_checkpoint
    from keras_mobilebert.convert.tfm_checkpoint import convert_tfm
    from keras_mobilebert.convert.weights import ConversionError

    start = time.time()

    def say(message):
        print(f"[{time.time() - start:6.1f}s] {message}", flush=True)

    if args.to_huggingface:
        return _export(args, say)
    kind = args.format if args.format != "auto" else _detect(args.src)
    if kind == "builtin":
        from keras_mobilebert.models.mobilebert.mobilebert_presets import (
            backbone_presets,
        )

        preset = backbone_presets[args.src]
        source = preset["source"]
        if not (isinstance(source, str) and source.startswith("hf://")):
            raise ConversionError(
                f"Preset {args.src!r} has no Hugging Face source to "
                f"convert ({source})."
            )
        say(f"{args.src} comes from {source}")
        converted = convert_snapshot(source, progress=say)
        apply_preset_config(converted, preset["config"])
    elif kind == "huggingface":
        converted = convert_snapshot(args.src, progress=say)
    elif kind == "tfm":
        converted = convert_tfm(
            args.src,
            config=args.config,
            vocabulary=args.vocabulary,
            lowercase=False if args.cased else None,
            progress=say,
        )
    else:
        converted = convert_tf1_checkpoint(
            args.src,
            config=args.config,
            vocabulary=args.vocabulary,
            lowercase=not args.cased,
            attention_mask_mode=args.attention_mask_mode,
            progress=say,
        )
    say(
        f"Converted {converted.backbone.count_params():,} backbone "
        f"parameters; heads: {sorted(converted.heads) or 'none'}"
    )
    save_preset(converted, args.dst, progress=say)
    say(f"Wrote {args.dst}")
    return 0


def _export(args, say):
    from keras_mobilebert.convert import hf_export
    from keras_mobilebert.convert.weights import ConversionError

    src = pathlib.Path(args.src)
    say(f"Loading {src}")
    try:
        model = load_preset_model(src)
    except ValueError as e:
        raise ConversionError(f"{e} It has no Hugging Face export.") from None
    nsp = src / "nsp_head.weights.npz"
    if nsp.is_file() and hasattr(model, "masked_lm_head"):
        # A converted pre-training checkpoint: put the NSP head back so the
        # export is a full MobileBertForPreTraining again.
        import numpy as np

        from keras_mobilebert.models.mobilebert.mobilebert_pretraining_model import (  # noqa: E501
            MobileBertPreTrainingModel,
        )

        pretraining = MobileBertPreTrainingModel(model.backbone)
        pretraining.masked_lm_head.set_weights(
            model.masked_lm_head.get_weights()
        )
        with np.load(nsp) as weights:
            pretraining.next_sentence_head.set_weights(
                [weights[f"arr_{i}"] for i in range(len(weights.files))]
            )
        pretraining.preprocessor = model.preprocessor
        model = pretraining
        say("Restored the next-sentence head from nsp_head.weights.npz")
    labels = src / "labels.json"
    if labels.is_file():
        import json

        model.id2label = {
            int(k): v for k, v in json.loads(labels.read_text()).items()
        }
    vocabulary = None
    candidate = src / "assets" / "tokenizer" / "vocabulary.txt"
    if candidate.is_file() and getattr(model, "preprocessor", None) is None:
        vocabulary = candidate
    hf_export.export_to_huggingface(model, args.dst, vocabulary=vocabulary)
    say(f"Wrote the Hugging Face snapshot {args.dst}")
    return 0
