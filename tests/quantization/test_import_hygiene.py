from tests.quantization.fresh_python import run_python

SCRIPT = """
import os, sys
import keras_mobilebert
import keras_mobilebert.quantization
import keras_mobilebert.export
import keras
print(os.environ.get("TF_USE_LEGACY_KERAS"))
print("tensorflow_model_optimization" in sys.modules)
print("tf_keras" in sys.modules)
print(keras.__version__.split(".")[0])
"""


def test_importing_the_package_leaves_keras_3_alone():
    # TF-MOT sets TF_USE_LEGACY_KERAS=1 when imported; the package and its
    # quantization/export modules must import neither it nor tf_keras.
    out = run_python(SCRIPT).split()
    assert out[-4:] == ["None", "False", "False", "3"]


MISSING_TFMOT = """
import sys
sys.modules["tensorflow_model_optimization"] = None  # As if not installed.
try:
    import keras_mobilebert.quantization.tfmot
except ImportError as error:
    print(error)
"""


def test_the_tfmot_bridge_names_the_extra_when_tfmot_is_missing():
    out = run_python(MISSING_TFMOT)
    assert "pip install keras-mobilebert[tfmot]" in out
