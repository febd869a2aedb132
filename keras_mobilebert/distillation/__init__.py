"""MobileBERT knowledge distillation: losses, distiller, schedules, data."""

from keras_mobilebert.distillation import losses
from keras_mobilebert.distillation.distiller import Distiller
from keras_mobilebert.distillation.teachers import as_teacher
from keras_mobilebert.distillation.teachers import ib_bert_teacher
