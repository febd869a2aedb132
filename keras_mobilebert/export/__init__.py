"""LiteRT export with verification, metadata and benchmarks.

Needs the `litert` extra (`pip install keras-mobilebert[litert]`) to verify
and inspect files.
"""

from keras_mobilebert.export.litert import QUANTIZATIONS
from keras_mobilebert.export.litert import ExportResult
from keras_mobilebert.export.litert import Float16RangeError
from keras_mobilebert.export.litert import LiteRTExportError
from keras_mobilebert.export.litert import UnsupportedOpsError
from keras_mobilebert.export.litert import VerificationError
from keras_mobilebert.export.litert import export_and_verify
from keras_mobilebert.export.litert import list_ops
from keras_mobilebert.export.litert import to_litert
from keras_mobilebert.export.litert import with_attention_mask_mode
