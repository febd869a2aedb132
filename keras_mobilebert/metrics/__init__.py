"""Official task metrics, one module per benchmark."""

from keras_mobilebert.metrics import squad
