"""Packaging of keras-mobilebert."""

import pathlib

from setuptools import find_packages
from setuptools import setup

HERE = pathlib.Path(__file__).parent
VERSION = {}
exec((HERE / "keras_mobilebert" / "version.py").read_text(), VERSION)  # noqa: S102 (our own file)

setup(
    name="keras-mobilebert",
    version=VERSION["__version__"],
    description=(
        "MobileBERT for Keras 3 and KerasHub: layers, presets, tasks, "
        "distillation, quantization and LiteRT export."
    ),
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10,<3.13",
    # keras_mobilebert_cli: the console script's TensorFlow-free entry
    # point (importing keras_mobilebert imports TensorFlow).
    packages=find_packages(
        include=[
            "keras_mobilebert",
            "keras_mobilebert.*",
            "keras_mobilebert_cli",
            "keras_mobilebert_cli.*",
        ]
    ),
    include_package_data=True,
    package_data={
        "keras_mobilebert": ["configs/*.json", "data/*.json"],
    },
    install_requires=[
        # The full tensorflow package: tensorflow-text and tf-keras need it,
        # and tensorflow-cpu beside it puts two copies in one folder.
        "tensorflow>=2.21,<2.22",
        "tensorflow-text>=2.21,<2.22",
        "keras>=3.15,<4",
        "keras-hub>=0.32,<0.33",
        "numpy>=1.26",
        # PNG plots of distillation losses and benchmarks.
        "matplotlib>=3.7",
        # Every exported .tflite file is run and checked in the LiteRT
        # interpreter before it is written (tf.lite.Interpreter gives
        # several times larger int8 errors, REFERENCE.md section 7).
        "ai-edge-litert>=2.3,<3",
        # KerasHub's Hugging Face loader imports it, and the distillation
        # teacher minilm_l6 (the README's distill command) loads through
        # it: without it `distill` failed at once in the README's install.
        "safetensors>=0.4",
        # The per-class report of every job on a user's labelled file
        # (precision, recall, F1, confusion matrix) and its TF-IDF
        # baseline row.
        "scikit-learn>=1.3",
    ],
    extras_require={
        "tfmot": [
            "tf-keras>=2.21,<2.22",
            "tensorflow-model-optimization>=0.8.1,<0.9",
        ],
        # The TF-MOT tests' own environment (`.ci/run` installs
        # ".[tfmot,litert,tfmot-test]"): it cannot hold the dev extra.
        "tfmot-test": ["pytest>=8,<10"],
        # Kept for old install commands: ai-edge-litert is a core dependency.
        "litert": ["ai-edge-litert>=2.3,<3"],
        # Writes the TFLite metadata (its flatbuffer schema) that packs labels
        # and vocabulary into a classifier file, and is the on-device client
        # the metadata tests classify strings with.
        "metadata": ["mediapipe>=1.2.3,<2"],
        # `keras-mobilebert prepare-corpus`: the Apache Beam pipeline that
        # tokenizes a text corpus into sharded TFRecords (the README names it
        # beside the command). Kept out of the core install: Beam is large.
        # CI tests it in .venv-corpus (`.ci/run`).
        "corpus": ["apache-beam[tfrecord]>=2.78,<3"],
        # Downloads hf:// handles (the README names it beside the command).
        "convert": ["huggingface_hub>=0.20"],
        # Reference tools only (tools/make_parity_fixtures.py and the tests
        # against live transformers models); never needed at run time. torch
        # is pinned to the CPU-only wheel these machines carry: an unpinned
        # torch pulls about 2.7 GB of CUDA wheels.
        "parity": ["torch==2.13.0", "transformers>=5,<6"],
        # `keras-mobilebert benchmark`'s reference rows only (HF PyTorch
        # inference and training steps, ONNX Runtime fp32 and dynamic int8
        # of the HF models); never needed at run time. torch pinned to the
        # CPU-only wheel, as in "parity".
        "benchmark": [
            "torch==2.13.0",
            "transformers>=5,<6",
            "onnx>=1.17",
            "onnxscript>=0.2",
            "onnxruntime>=1.20",
        ],
        "dev": [
            # keras_hub's test harness imports grain.
            "keras-hub[grain]>=0.32,<0.33",
            "huggingface_hub>=0.20",
            # So the MediaPipe tests run in CI. tfmot stays out: TF-MOT 0.8.1
            # pins absl-py~=1.2, mediapipe needs absl-py~=2.3.
            "mediapipe>=1.2.3,<2",
            "pytest>=8,<10",
            # .ci/run spreads the suite over two processes (-n 2).
            "pytest-xdist>=3.5,<4",
            "build>=1.2",
            "setuptools>=61",
            "wheel>=0.43",
        ],
    },
    entry_points={
        "console_scripts": ["keras-mobilebert=keras_mobilebert_cli.main:main"],
    },
    classifiers=[
        "Programming Language :: Python :: 3",
        "Framework :: Keras",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
