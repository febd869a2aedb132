"""LiteRT export with verification, metadata and benchmarks.

Needs the `litert` extra (`pip install keras-mobilebert[litert]`) to verify
and inspect files. The export modes are the records of `MODES`
(`QUANTIZATIONS` is their names).
"""

from keras_mobilebert.export.attention_mask import with_attention_mask_mode
from keras_mobilebert.export.conversion import convert
from keras_mobilebert.export.errors import Float16RangeError
from keras_mobilebert.export.errors import LiteRTExportError
from keras_mobilebert.export.errors import UnsupportedOpsError
from keras_mobilebert.export.errors import VerificationError
from keras_mobilebert.export.heldout import export_and_verify
from keras_mobilebert.export.heldout import tflite_accuracy
from keras_mobilebert.export.heldout_question_answerer import (
    export_and_verify_question_answerer,
)
from keras_mobilebert.export.heldout_question_answerer import (
    run_tflite_on_windows,
)
from keras_mobilebert.export.litert import to_litert
from keras_mobilebert.export.modes import MODES
from keras_mobilebert.export.modes import QUANTIZATIONS
from keras_mobilebert.export.modes import ExportMode
from keras_mobilebert.export.modes import export_mode
from keras_mobilebert.export.op_inspection import batch_matmul_rhs_zero_points
from keras_mobilebert.export.op_inspection import check_builtin_ops
from keras_mobilebert.export.op_inspection import float_ops_on_main_path
from keras_mobilebert.export.op_inspection import list_ops
from keras_mobilebert.export.samples import random_inputs
from keras_mobilebert.export.samples import texts_to_inputs
from keras_mobilebert.export.signatures import INPUT_NAMES
from keras_mobilebert.export.tfmot_int8 import export_tfmot_int8
from keras_mobilebert.export.verification import ExportResult
from keras_mobilebert.export.verification import run_tflite
