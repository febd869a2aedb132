"""Official task metrics, one module per benchmark (GLUE, SQuAD)."""

from keras_mobilebert.metrics import glue
from keras_mobilebert.metrics import squad
from keras_mobilebert.metrics.glue import glue_metrics
