"""TF Model Garden files: TF2 checkpoint, TF Hub SavedModel, Model Maker.

The fixtures under tests/fixtures/convert/tfm/ and their reference outputs
were made by the real Model Garden code (tf-models-official 2.20.0, in its
own environment) with tools/make_tfm_fixtures.py: a tiny configuration, two
blocks, padded inputs. The large test makes the released configuration the
same way in `.venv-tfm` (`.ci/run` builds it) and compares end to end.
"""

import json
import os
import pathlib
import subprocess
import sys
import tarfile

import keras
import numpy as np
import pytest

from keras_mobilebert.convert import ConversionError
from keras_mobilebert.convert.task_builders import build_classifier
from keras_mobilebert.convert.tfm_checkpoint import convert_tfm
from keras_mobilebert.convert.tfm_checkpoint import is_tfm_source
from keras_mobilebert_cli import main as cli
from tests.convert.parity import FIXTURES
from tests.convert.parity import relative_error

TFM = FIXTURES / "tfm"
ROOT = pathlib.Path(__file__).resolve().parents[2]
TFM_PYTHON = pathlib.Path(
    os.environ.get("KERAS_MOBILEBERT_TFM_PYTHON", ROOT / ".venv-tfm/bin/python")
)


def _config():
    return json.loads((TFM / "config.json").read_text())


def _io(directory=TFM):
    with np.load(directory / "io.npz") as data:
        return dict(data)


def _inputs(io):
    return {
        "token_ids": io["input_word_ids"],
        "padding_mask": io["input_mask"],
        "segment_ids": io["input_type_ids"],
    }


def _savedmodel_folder(tmp_path, archive=TFM / "savedmodel.tar.gz"):
    folder = tmp_path / "savedmodel"
    folder.mkdir()
    with tarfile.open(archive) as tar:
        tar.extractall(folder, filter="data")
    return folder


def _assert_encoder_parity(converted, io):
    out = converted.backbone(_inputs(io))
    for name in ("sequence_output", "pooled_output"):
        assert relative_error(out[name], io[name]) < 1e-5, name


def _probabilities(classifier, io):
    return np.asarray(keras.ops.softmax(classifier(_inputs(io)), axis=-1))


@pytest.mark.parametrize(
    "source", ["folder", "prefix", "index", "savedmodel", "tar.gz"]
)
def test_encoder_files_compute_model_gardens_outputs(source, tmp_path):
    src = {
        "folder": TFM / "tfm_checkpoint",
        "prefix": TFM / "tfm_checkpoint" / "ckpt-1",
        "index": TFM / "tfm_checkpoint" / "ckpt-1.index",
        "tar.gz": TFM / "savedmodel.tar.gz",
    }.get(source)
    if source == "savedmodel":
        src = _savedmodel_folder(tmp_path)
    assert is_tfm_source(src)
    converted = convert_tfm(src, config=_config())
    assert converted.heads == set()
    assert converted.backbone.attention_mask_mode == "additive"
    _assert_encoder_parity(converted, _io())
    # The vocabulary travels: next to the checkpoint, or the SavedModel's
    # asset, and the SavedModel's do_lower_case variable is read.
    assert converted.vocabulary[:3] == ["[PAD]", "[UNK]", "[CLS]"]
    assert converted.lowercase is True


def test_model_maker_classifier_computes_its_probabilities():
    converted = convert_tfm(
        TFM / "model_maker" / "checkpoint", config=_config()
    )
    assert converted.heads == {"classifier"}
    classifier = build_classifier(converted, preprocessor=False)
    assert classifier.num_classes == 3
    io = _io()
    assert (
        relative_error(_probabilities(classifier, io), io["probabilities"])
        < 1e-5
    )


def test_cli_detects_each_file_and_writes_a_classifier_preset(tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps(_config()))
    dst = tmp_path / "preset"
    status = cli.main(
        [
            "convert",
            str(TFM / "model_maker" / "checkpoint"),
            str(dst),
            "--config",
            str(config),
            "--vocabulary",
            str(TFM / "tfm_checkpoint" / "vocab.txt"),
        ]
    )
    assert status == 0
    from keras_mobilebert import MobileBertTextClassifier

    classifier = MobileBertTextClassifier.from_preset(str(dst))
    assert classifier.num_classes == 3
    io = _io()
    assert (
        relative_error(_probabilities(classifier, io), io["probabilities"])
        < 1e-5
    )
    # The encoder files are detected as Model Garden too, never as TF1.
    status = cli.main(
        [
            "convert",
            str(TFM / "savedmodel.tar.gz"),
            str(tmp_path / "backbone"),
            "--config",
            str(config),
        ]
    )
    assert status == 0
    assert (tmp_path / "backbone" / "config.json").is_file()


@pytest.mark.parametrize(
    "change, names",
    [
        # A third block the checkpoint lacks.
        ({"num_blocks": 3}, ["missing weights", "layer_with_weights-3/"]),
        # A width: the first shape named with both shapes.
        (
            {"hidden_size": 32},
            [
                "word_embedding_proj/kernel: checkpoint shape (24, 24)",
                "(24, 32)",
            ],
        ),
        # Heads: [in, 2, 4] stored, [in, 4, 2] expected.
        (
            {"num_attention_heads": 4},
            ["_query_dense/kernel: checkpoint shape (8, 2, 4)", "(8, 4, 2)"],
        ),
    ],
)
def test_a_different_configuration_is_refused_and_nothing_written(
    change, names, tmp_path, capsys
):
    config = dict(_config(), **change)
    with pytest.raises(ConversionError) as error:
        convert_tfm(TFM / "tfm_checkpoint", config=config)
    for name in names:
        assert name in str(error.value)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    dst = tmp_path / "preset"
    status = cli.main(
        [
            "convert",
            str(TFM / "tfm_checkpoint"),
            str(dst),
            "--config",
            str(path),
        ]
    )
    # One line naming the variable, argparse's status for bad input.
    assert status == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("keras-mobilebert convert: error: ")
    for name in names:
        assert name in lines[0]
    assert not dst.exists()


def test_unknown_config_fields_and_foreign_archives_are_refused(tmp_path):
    with pytest.raises(ConversionError, match="Unknown MobileBERTEncoder"):
        convert_tfm(TFM / "tfm_checkpoint", config={"num_layers": 2})
    archive = tmp_path / "empty.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(TFM / "config.json", arcname="config.json")
    with pytest.raises(ConversionError, match="no saved_model.pb"):
        convert_tfm(archive)


def test_a_tf1_checkpoint_is_not_taken_for_model_garden():
    assert not is_tfm_source(FIXTURES / "tiny" / "tf1")


@pytest.mark.large
def test_name_map_covers_the_released_encoder_one_to_one():
    from keras_mobilebert import MobileBertBackbone
    from keras_mobilebert.convert.tfm_checkpoint import backbone_config_from_tfm
    from keras_mobilebert.convert.tfm_names import add_tfm_names
    from keras_mobilebert.convert.weights import backbone_entries

    backbone = MobileBertBackbone(**backbone_config_from_tfm())
    entries = add_tfm_names(backbone_entries(backbone), 24, 4, 4)
    names = [e.tfm_name for e in entries]
    assert len(names) == len(set(names)) == 1111
    # Per block: the query, key and value kernels and biases and the
    # attention output kernel are stored 3-D / 2-D by Keras
    # MultiHeadAttention.
    reshaped = [e for e in entries if e.tfm_shape != tuple(e.variable.shape)]
    assert len(reshaped) == 7 * 24


@pytest.mark.large
@pytest.mark.skipif(
    not TFM_PYTHON.is_file(),
    reason="needs the Model Garden environment: python -m venv .venv-tfm && "
    ".venv-tfm/bin/pip install -r tools/tfm_requirements.txt (.ci/run "
    "builds it)",
)
def test_released_configuration_matches_model_garden_end_to_end(tmp_path):
    out = tmp_path / "released"
    subprocess.run(
        [
            str(TFM_PYTHON),
            str(ROOT / "tools" / "make_tfm_fixtures.py"),
            "--released",
            "--no-savedmodel-folder",
            "--out",
            str(out),
        ],
        check=True,
        timeout=1500,
        stdout=sys.stderr,
    )
    io = _io(out)
    # The released configuration is the default: no config passed.
    (out / "config.json").unlink()
    _assert_encoder_parity(convert_tfm(out / "tfm_checkpoint"), io)
    _assert_encoder_parity(convert_tfm(out / "savedmodel.tar.gz"), io)
    converted = convert_tfm(out / "model_maker" / "checkpoint")
    classifier = build_classifier(converted, preprocessor=False)
    assert (
        relative_error(_probabilities(classifier, io), io["probabilities"])
        < 1e-5
    )
