"""MobileBERT knowledge distillation: losses, distiller, schedules, data."""

from keras_mobilebert.distillation import losses
from keras_mobilebert.distillation.checkpoints import load_student_checkpoint
from keras_mobilebert.distillation.checkpoints import stage_checkpoints
from keras_mobilebert.distillation.data import pretraining_dataset
from keras_mobilebert.distillation.data import pretraining_dataset_factory
from keras_mobilebert.distillation.data import read_documents
from keras_mobilebert.distillation.distiller import Distiller
from keras_mobilebert.distillation.embedding_init import (
    init_student_embeddings_from_teacher,
)
from keras_mobilebert.distillation.optimizers import optimizer_factory
from keras_mobilebert.distillation.plotting import plot_losses
from keras_mobilebert.distillation.runner import DistillationRun
from keras_mobilebert.distillation.strategies import STRATEGIES
from keras_mobilebert.distillation.strategies import build_stages
from keras_mobilebert.distillation.teacher_student import build_student
from keras_mobilebert.distillation.teacher_student import load_teacher
from keras_mobilebert.distillation.teachers import as_teacher
from keras_mobilebert.distillation.teachers import ib_bert_teacher
