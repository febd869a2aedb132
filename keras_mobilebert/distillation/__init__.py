"""MobileBERT knowledge distillation: losses, distiller, schedules, data."""

from keras_mobilebert.distillation import losses
from keras_mobilebert.distillation.augmentation import WordNeighbours
from keras_mobilebert.distillation.augmentation import augment_texts
from keras_mobilebert.distillation.augmentation import check_disjoint
from keras_mobilebert.distillation.data import pretraining_dataset
from keras_mobilebert.distillation.data import read_documents
from keras_mobilebert.distillation.distiller import Distiller
from keras_mobilebert.distillation.embedding_init import (
    init_student_embeddings_from_teacher,
)
from keras_mobilebert.distillation.runner import DistillationRun
from keras_mobilebert.distillation.strategies import STRATEGIES
from keras_mobilebert.distillation.strategies import build_stages
from keras_mobilebert.distillation.task_distiller import TaskDistiller
from keras_mobilebert.distillation.task_distiller import task_dataset
from keras_mobilebert.distillation.teacher_logits import cached_teacher_logits
from keras_mobilebert.distillation.teachers import as_teacher
from keras_mobilebert.distillation.teachers import ib_bert_teacher
