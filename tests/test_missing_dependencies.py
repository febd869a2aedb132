"""A missing dependency is one line naming what to install, not a traceback.

Issue 15: the README's `distill --teacher minilm_l6` failed at once in the
README's own install with `ModuleNotFoundError: No module named
'safetensors'`: KerasHub's Hugging Face loader imports it and only the
`dev` and `convert` extras installed it.
"""

import ast
import os
import pathlib
import subprocess
import sys

import pytest

from keras_mobilebert_cli import missing_dependencies
from keras_mobilebert_cli.errors import run_reporting_errors
from keras_mobilebert_cli.missing_dependencies import declared_by
from keras_mobilebert_cli.missing_dependencies import missing_dependency_message

ROOT = pathlib.Path(__file__).resolve().parents[1]


def setup_requirements():
    """setup.py's requirements as the installed metadata lists them."""
    tree = ast.parse((ROOT / "setup.py").read_text(encoding="utf-8"))
    (call,) = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", "") == "setup"
    ]
    keywords = {k.arg: k.value for k in call.keywords}
    requirements = list(ast.literal_eval(keywords["install_requires"]))
    extras = ast.literal_eval(keywords["extras_require"])
    for extra, names in extras.items():
        requirements += [f'{name}; extra == "{extra}"' for name in names]
    return requirements


@pytest.mark.parametrize(
    "module,expected",
    [
        # What the README's commands import at run time.
        ("safetensors", ("safetensors", [])),
        ("tensorflow", ("tensorflow", [])),
        ("ai_edge_litert", ("ai-edge-litert", [])),
        ("matplotlib.pyplot", ("matplotlib", [])),
        ("sklearn", ("scikit-learn", [])),
        # Optional features: each names its extra (dev last).
        ("huggingface_hub", ("huggingface_hub", ["convert", "dev"])),
        ("mediapipe", ("mediapipe", ["metadata", "dev"])),
        (
            "tensorflow_model_optimization",
            ("tensorflow-model-optimization", ["tfmot"]),
        ),
        ("tf_keras", ("tf-keras", ["tfmot"])),
        ("torch", ("torch", ["parity", "benchmark"])),
        ("not_a_dependency", None),
    ],
)
def test_setup_declares_each_runtime_dependency(module, expected):
    assert declared_by(module, setup_requirements()) == expected


def test_messages_name_the_extra_or_the_repair():
    requirements = setup_requirements()

    def message(name):
        error = ModuleNotFoundError(f"No module named {name!r}", name=name)
        return missing_dependency_message(error, requirements)

    assert message("huggingface_hub") == (
        "huggingface_hub is not installed; this needs the 'convert' extra: "
        'pip install "keras-mobilebert[convert]"'
    )
    assert 'pip install "keras-mobilebert[parity]"' in message("torch")
    assert message("safetensors") == (
        "safetensors is missing although keras-mobilebert requires "
        "safetensors; repair the install: pip install safetensors"
    )
    # Not ours: re-raised as it is (a bug, not a missing install).
    assert message("keras_mobilebert.no_such_module") is None
    # The library's own message, when it says what to install.
    library = ImportError(
        "Writing TFLite metadata needs MediaPipe's metadata schema: pip "
        'install "keras-mobilebert[metadata]"\nmore detail'
    )
    assert (
        missing_dependency_message(library, requirements)
        == (str(library).splitlines()[0])
    )


def test_a_subcommand_prints_one_line_and_returns_2(monkeypatch, capsys):
    monkeypatch.setattr(
        missing_dependencies, "_requirements", setup_requirements
    )

    def distill():
        # What KerasHub's Hugging Face loader raised without safetensors.
        raise ModuleNotFoundError(
            "No module named 'safetensors'", name="safetensors"
        )

    status = run_reporting_errors("keras-mobilebert distill", distill)
    assert status == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("keras-mobilebert distill: error: safetensors is ")

    def bug():
        raise ImportError("cannot import name 'x'", name="keras_mobilebert")

    with pytest.raises(ImportError, match="cannot import name"):
        run_reporting_errors("keras-mobilebert x", bug)


@pytest.mark.large
def test_export_without_mediapipe_names_the_metadata_extra(tmp_path):
    # A real command in a fresh process, MediaPipe shadowed by a package
    # that cannot be imported: one line, before any conversion.
    from keras_mobilebert import MobileBertBackbone
    from keras_mobilebert import MobileBertClassifier
    from keras_mobilebert import MobileBertTextClassifierPreprocessor
    from keras_mobilebert import MobileBertTokenizer
    from tests.models.helpers import SMALL_BACKBONE
    from tests.models.helpers import VOCAB

    classifier = MobileBertClassifier(
        backbone=MobileBertBackbone(**SMALL_BACKBONE),
        num_classes=2,
        preprocessor=MobileBertTextClassifierPreprocessor(
            MobileBertTokenizer(vocabulary=VOCAB), sequence_length=8
        ),
    )
    classifier.save_to_preset(str(tmp_path / "preset"))
    blocker = tmp_path / "blocked" / "mediapipe"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'mediapipe'\", "
        "name='mediapipe')\n"
    )
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    env["PYTHONPATH"] = os.pathsep.join([str(blocker.parent), str(ROOT)])
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "keras_mobilebert_cli",
            "export",
            str(tmp_path / "preset"),
            str(tmp_path / "model.tflite"),
            "--labels",
            "negative",
            "positive",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr, run.stderr
    last = run.stderr.strip().splitlines()[-1]
    assert last == (
        "keras-mobilebert export: error: Writing TFLite metadata needs "
        "MediaPipe's metadata schema: pip install "
        '"keras-mobilebert[metadata]"'
    )
    assert not (tmp_path / "model.tflite").exists()
