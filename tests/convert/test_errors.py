"""Broken inputs: every mismatch is a clear error naming the thing."""

import json
import shutil
import sys

import numpy as np
import pytest

from keras_mobilebert.convert import hf_config
from keras_mobilebert.convert import weight_files
from keras_mobilebert.convert.hf_checkpoint import convert_snapshot
from keras_mobilebert.convert.task_builders import build_masked_lm
from keras_mobilebert.convert.tf1_checkpoint import convert_tf1_checkpoint
from keras_mobilebert.convert.weight_files import read_safetensors as load_file
from keras_mobilebert.convert.weight_files import write_safetensors as save_file
from keras_mobilebert.convert.weights import ConversionError

from .parity import FIXTURES

SNAPSHOT = FIXTURES / "mobilebert" / "hf"
TF1 = FIXTURES / "mobilebert" / "tf1"


@pytest.fixture
def snapshot(tmp_path):
    out = tmp_path / "snapshot"
    shutil.copytree(SNAPSHOT, out)
    return out


def _edit_tensors(snapshot, edit):
    tensors = load_file(str(snapshot / "model.safetensors"))
    edit(tensors)
    save_file(tensors, str(snapshot / "model.safetensors"))


def _edit_config(snapshot, **changes):
    config = json.loads((snapshot / "config.json").read_text())
    config.update(changes)
    (snapshot / "config.json").write_text(json.dumps(config))


def test_missing_weight_is_named(snapshot):
    name = "mobilebert.encoder.layer.1.attention.self.key.weight"
    _edit_tensors(snapshot, lambda t: t.pop(name))
    with pytest.raises(ConversionError, match="missing weights: " + name):
        convert_snapshot(snapshot)


def test_unexpected_weight_is_listed(snapshot):
    def add(tensors):
        tensors["mobilebert.encoder.layer.7.extra.weight"] = np.ones(3, "f4")

    _edit_tensors(snapshot, add)
    with pytest.raises(ConversionError, match=r"unexpected weights.*layer\.7"):
        convert_snapshot(snapshot)


def test_more_layers_in_file_than_config_is_an_error(snapshot):
    _edit_config(snapshot, num_hidden_layers=1)
    with pytest.raises(ConversionError, match=r"encoder\.layer\.1\."):
        convert_snapshot(snapshot)


def test_shape_mismatch_names_weight_and_both_shapes(snapshot):
    name = "mobilebert.encoder.layer.0.bottleneck.input.dense.weight"

    def shrink(tensors):
        tensors[name] = tensors[name][:, :30]

    _edit_tensors(snapshot, shrink)
    with pytest.raises(ConversionError) as info:
        convert_snapshot(snapshot)
    message = str(info.value)
    assert name in message and "(16, 30)" in message and "(16, 32)" in message


def test_config_disagreeing_with_weights(snapshot):
    _edit_config(snapshot, intermediate_size=20)
    with pytest.raises(ConversionError, match="intermediate.dense.weight"):
        convert_snapshot(snapshot)


@pytest.mark.parametrize(
    "field, value, match",
    [
        ("normalization_type", "manual_layer_norm", "normalization_type"),
        ("hidden_act", "swish", "hidden_act"),
        ("model_type", "bert", "model_type"),
        ("num_hidden_layers", 0, "num_hidden_layers"),
        ("intra_bottleneck_size", 15, "not divisible"),
    ],
)
def test_unsupported_config_value(snapshot, field, value, match):
    _edit_config(snapshot, **{field: value})
    with pytest.raises(ConversionError, match=match):
        convert_snapshot(snapshot)


def test_hf_cannot_run_teacher_shape():
    config = {
        "use_bottleneck": True,
        "key_query_shared_bottleneck": False,
        "use_bottleneck_attention": False,
        "intra_bottleneck_size": 1024,
        "hidden_size": 512,
    }
    with pytest.raises(ConversionError, match="TF1 checkpoint"):
        hf_config.backbone_config_from_hf(config)


def test_invalid_json_config(snapshot):
    (snapshot / "config.json").write_text("{not json")
    with pytest.raises(ConversionError, match="config.json is not valid JSON"):
        convert_snapshot(snapshot)


@pytest.mark.parametrize("cut", [0.5, 0.999, 10])
def test_truncated_safetensors(snapshot, cut):
    path = snapshot / "model.safetensors"
    data = path.read_bytes()
    size = int(len(data) * cut) if cut < 1 else cut
    path.write_bytes(data[:size])
    with pytest.raises(ConversionError, match="model.safetensors"):
        convert_snapshot(snapshot)


def test_garbage_safetensors(snapshot):
    (snapshot / "model.safetensors").write_bytes(b"\x00" * 64 + b"garbage")
    with pytest.raises(ConversionError, match="not a readable safetensors"):
        convert_snapshot(snapshot)


def test_no_weights_file(snapshot):
    (snapshot / "model.safetensors").unlink()
    with pytest.raises(ConversionError, match="no weights file"):
        convert_snapshot(snapshot)


def test_vocabulary_size_mismatch(snapshot):
    (snapshot / "vocab.txt").write_text("[PAD]\n[UNK]\n")
    converted = convert_snapshot(snapshot)
    with pytest.raises(ConversionError, match="2 tokens.*vocab_size 40"):
        build_masked_lm(converted)


def test_untied_decoder_is_refused(snapshot):
    def untie(tensors):
        word = tensors["mobilebert.embeddings.word_embeddings.weight"]
        tensors["cls.predictions.decoder.weight"] = word + 1.0

    _edit_tensors(snapshot, untie)
    with pytest.raises(ConversionError, match="decoder.weight differs"):
        convert_snapshot(snapshot)


def test_tied_decoder_copy_is_accepted(snapshot):
    def tie(tensors):
        word = tensors["mobilebert.embeddings.word_embeddings.weight"]
        tensors["cls.predictions.decoder.weight"] = word.copy()

    _edit_tensors(snapshot, tie)
    convert_snapshot(snapshot)


def test_unused_pooler_is_skipped(snapshot):
    def add_pooler(tensors):
        tensors["mobilebert.pooler.dense.weight"] = np.ones((32, 32), "f4")
        tensors["mobilebert.pooler.dense.bias"] = np.ones(32, "f4")

    _edit_tensors(snapshot, add_pooler)
    converted = convert_snapshot(snapshot)
    assert not converted.backbone.use_pooler


def test_pytorch_bin_is_never_unpickled_without_torch(snapshot, monkeypatch):
    (snapshot / "model.safetensors").unlink()
    # A pickle that would run code if it were ever unpickled.
    (snapshot / "pytorch_model.bin").write_bytes(
        b"cos\nsystem\n(S'echo pwned > /tmp/pwned'\ntR."
    )
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ConversionError, match="safetensors"):
        convert_snapshot(snapshot)


def test_pytorch_bin_refused_by_weights_only_loader(snapshot):
    pytest.importorskip("torch")
    (snapshot / "model.safetensors").unlink()
    (snapshot / "pytorch_model.bin").write_bytes(
        b"cos\nsystem\n(S'echo pwned'\ntR."
    )
    with pytest.raises(ConversionError, match="weights_only=True"):
        convert_snapshot(snapshot)


def test_pytorch_bin_read_with_weights_only(snapshot):
    torch = pytest.importorskip("torch")
    tensors = load_file(str(snapshot / "model.safetensors"))
    torch.save(
        {k: torch.from_numpy(v) for k, v in tensors.items()},
        str(snapshot / "pytorch_model.bin"),
    )
    (snapshot / "model.safetensors").unlink()
    converted = convert_snapshot(snapshot)
    reference = convert_snapshot(SNAPSHOT)
    for a, b in zip(converted.backbone.weights, reference.backbone.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_missing_tf1_checkpoint(tmp_path):
    with pytest.raises(ConversionError, match="not a readable TF checkpoint"):
        convert_tf1_checkpoint(
            tmp_path / "model.ckpt",
            config=json.loads((TF1 / "bert_config.json").read_text()),
        )


def test_truncated_tf1_checkpoint(tmp_path):
    out = tmp_path / "tf1"
    shutil.copytree(TF1, out)
    data_file = next(out.glob("*.data-*"))
    data = data_file.read_bytes()
    data_file.write_bytes(data[: len(data) // 3])
    with pytest.raises(ConversionError, match="model.ckpt"):
        convert_tf1_checkpoint(out / "model.ckpt")


def test_tf1_unexpected_and_missing_names(tmp_path):
    import tensorflow as tf

    reader = tf.train.load_checkpoint(str(TF1 / "model.ckpt"))
    names = sorted(reader.get_variable_to_shape_map())
    variables = {n: reader.get_tensor(n) for n in names}
    variables.pop("bert/encoder/layer_0/attention/self/query/kernel")
    variables["teacher/bert/embeddings/word_embeddings"] = np.ones(2, "f4")
    variables["bert/embeddings/word_embeddings/adam_m"] = np.ones(2, "f4")
    variables["global_step"] = np.array(3, np.int64)
    out = tmp_path / "tf1"
    out.mkdir()
    shutil.copy(TF1 / "bert_config.json", out)
    tf.raw_ops.SaveV2(
        prefix=str(out / "model.ckpt"),
        tensor_names=sorted(variables),
        shape_and_slices=[""] * len(variables),
        tensors=[tf.constant(variables[n]) for n in sorted(variables)],
    )
    with pytest.raises(ConversionError) as info:
        convert_tf1_checkpoint(out / "model.ckpt")
    message = str(info.value)
    assert "layer_0/attention/self/query/kernel" in message
    assert "teacher/bert/embeddings/word_embeddings" in message
    assert "adam_m" not in message and "global_step" not in message


def test_tf_model_h5_reads_like_safetensors(snapshot):
    # An HF TensorFlow checkpoint: Keras h5 weights with TF names (kernels
    # [in, out], "layer_._i" lists, "mlm___cls" scopes, a stored decoder).
    import h5py

    tensors = load_file(str(snapshot / "model.safetensors"))
    word = tensors["mobilebert.embeddings.word_embeddings.weight"]
    tensors["cls.predictions.decoder.weight"] = word
    with h5py.File(snapshot / "tf_model.h5", "w") as f:
        for name, value in tensors.items():
            parts = name.split(".")
            top = {"mobilebert": "mobilebert"}.get(parts[0])
            if parts[0] == "cls":
                top = "mlm___cls" if parts[1] == "predictions" else "nsp___cls"
            rest = parts[1:] if parts[0] == "mobilebert" else parts[1:]
            path = []
            i = 0
            while i < len(rest):
                if rest[i] in ("layer", "ffn") and rest[i + 1].isdigit():
                    path.append(f"{rest[i]}_._{rest[i + 1]}")
                    i += 2
                else:
                    path.append(rest[i])
                    i += 1
            leaf = path[-1]
            is_norm = "LayerNorm" in path
            linear = (
                leaf == "weight"
                and not is_norm
                and value.ndim == 2
                and "embeddings" not in path[-2]
                and path[-2] not in ("dense", "decoder")
                or (
                    leaf == "weight"
                    and path[-2] == "dense"
                    and "predictions" in path[:1] + path
                    and value.ndim == 2
                    and path[-3] != "predictions"
                )
            )
            if linear:
                path[-1], value = "kernel", value.T
            elif path[-2] in ("position_embeddings", "token_type_embeddings"):
                path[-1] = "embeddings"
            elif is_norm and leaf == "weight":
                path[-1] = "gamma"
            elif is_norm and leaf == "bias":
                path[-1] = "beta"
            weight = "/".join(["tf_mobile_bert_for_pre_training", top] + path)
            if parts[0] == "cls":
                weight = "/".join(
                    ["tf_mobile_bert_for_pre_training", top]
                    + parts[1:2]
                    + path[1:]
                )
            f.create_dataset(f"{top}/{weight}:0", data=value)
    (snapshot / "model.safetensors").unlink()
    converted = convert_snapshot(snapshot)
    reference = convert_snapshot(SNAPSHOT)
    pairs = zip(
        converted.pretraining_model.weights, reference.pretraining_model.weights
    )
    for a, b in pairs:
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), a.path)


def test_truncated_tf_model_h5(snapshot):
    (snapshot / "model.safetensors").unlink()
    (snapshot / "tf_model.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 20)
    with pytest.raises(ConversionError, match="tf_model.h5"):
        convert_snapshot(snapshot)


@pytest.mark.parametrize(
    "field, value",
    [
        ("use_bottleneck", "false"),
        ("trigram_input", 1),
        ("hidden_size", "32"),
        ("num_hidden_layers", True),
        ("hidden_dropout_prob", 1.5),
        ("layer_norm_eps", -1.0),
    ],
)
def test_config_types_are_checked(snapshot, field, value):
    _edit_config(snapshot, **{field: value})
    with pytest.raises(ConversionError, match=field):
        convert_snapshot(snapshot)


def test_pooler_may_be_absent_only_where_hf_builds_none(snapshot):
    _edit_config(
        snapshot,
        classifier_activation=True,
        architectures=["MobileBertForPreTraining"],
    )
    with pytest.raises(ConversionError, match="missing weights: .*pooler"):
        convert_snapshot(snapshot)

    def drop_nsp(tensors):
        tensors.pop("cls.seq_relationship.weight")
        tensors.pop("cls.seq_relationship.bias")

    _edit_tensors(snapshot, drop_nsp)
    _edit_config(snapshot, architectures=["MobileBertForMaskedLM"])
    converted = convert_snapshot(snapshot)
    assert converted.backbone.use_pooler
    assert converted.heads == {"mlm"}


def test_bfloat16_safetensors_without_torch(tmp_path):
    values = np.array([[1.5, -2.25], [0.09375, 3.0e5]], np.float32)
    bits = (values.view(np.uint32) >> 16).astype("<u2").tobytes()
    header = json.dumps(
        {"w": {"dtype": "BF16", "shape": [2, 2], "data_offsets": [0, 8]}}
    ).encode()
    path = tmp_path / "model.safetensors"
    path.write_bytes(len(header).to_bytes(8, "little") + header + bits)
    tensors = weight_files.read_safetensors(path)
    expected = (values.view(np.uint32) & 0xFFFF0000).view(np.float32)
    np.testing.assert_array_equal(tensors["w"], expected)
    path.write_bytes(len(header).to_bytes(8, "little") + header + bits[:5])
    with pytest.raises(ConversionError, match="truncated"):
        weight_files.read_safetensors(path)


def test_keras_h5_with_layer_name_attributes(tmp_path):
    import h5py

    tensors = load_file(str(SNAPSHOT / "model.safetensors"))
    name = "mobilebert.encoder.layer.1.ffn.0.intermediate.dense.weight"
    weight = (
        "tf_mobile_bert_for_pre_training/mobilebert/encoder/layer_._1/"
        "ffn.0/intermediate/dense/kernel:0"
    )
    nsp = (
        "tf_mobile_bert_for_pre_training/seq_relationship___cls/"
        "seq_relationship/kernel:0"
    )
    with h5py.File(tmp_path / "tf_model.h5", "w") as f:
        f.attrs["layer_names"] = [b"mobilebert", b"seq_relationship___cls"]
        group = f.create_group("mobilebert")
        group.attrs["weight_names"] = [weight.encode()]
        group.create_dataset(weight, data=tensors[name].T)
        group = f.create_group("seq_relationship___cls")
        group.attrs["weight_names"] = [nsp.encode()]
        group.create_dataset(nsp, data=tensors["cls.seq_relationship.weight"].T)
    read = weight_files.read_tf_h5(tmp_path / "tf_model.h5")
    assert sorted(read) == sorted([name, "cls.seq_relationship.weight"])
    np.testing.assert_array_equal(read[name], tensors[name])
    np.testing.assert_array_equal(
        read["cls.seq_relationship.weight"],
        tensors["cls.seq_relationship.weight"],
    )


@pytest.fixture(params=["package", "numpy"])
def safetensors_reader(request, monkeypatch):
    """Run a test with the safetensors package and with the numpy reader."""
    if request.param == "package":
        pytest.importorskip("safetensors")
    else:
        monkeypatch.setitem(sys.modules, "safetensors", None)
        monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    return request.param


def test_safetensors_round_trip(tmp_path, safetensors_reader):
    tensors = {
        "a": np.arange(6, dtype=np.float32).reshape(2, 3),
        "b": np.array([1.5, -2.0], np.float16),
        "c": np.array([[7]], np.int64),
    }
    save_file(tensors, tmp_path / "x.safetensors", metadata={"format": "pt"})
    read = load_file(tmp_path / "x.safetensors")
    assert sorted(read) == ["a", "b", "c"]
    for name, value in tensors.items():
        assert read[name].dtype == value.dtype
        np.testing.assert_array_equal(read[name], value)


def test_numpy_writer_is_read_by_the_package(tmp_path):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    tensors = {"w": np.random.default_rng(0).standard_normal((3, 4))}
    tensors["w"] = tensors["w"].astype(np.float32)
    save_file(tensors, tmp_path / "x.safetensors")
    read = safetensors_numpy.load_file(str(tmp_path / "x.safetensors"))
    np.testing.assert_array_equal(read["w"], tensors["w"])


@pytest.mark.parametrize("cut", [0.5, 0.999, 10, 4])
def test_truncated_safetensors_both_readers(snapshot, cut, safetensors_reader):
    path = snapshot / "model.safetensors"
    data = path.read_bytes()
    size = int(len(data) * cut) if cut < 1 else cut
    path.write_bytes(data[:size])
    with pytest.raises(ConversionError, match="model.safetensors"):
        convert_snapshot(snapshot)


def test_conversion_without_safetensors_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "safetensors", None)
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    with_numpy = convert_snapshot(SNAPSHOT)
    monkeypatch.undo()
    reference = convert_snapshot(SNAPSHOT)
    pairs = zip(with_numpy.backbone.weights, reference.backbone.weights)
    for a, b in pairs:
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
