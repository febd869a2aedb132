"""Official task metrics (GLUE)."""

from keras_mobilebert.metrics.glue import glue_metrics
