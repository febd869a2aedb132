"""Fine-tuning jobs: configs, data pipelines, the job runner.

- `config`: `load_config`, a JSON config for the job it names;
- `jobs`: the jobs by name (`JOBS`) and `run_finetune`, which runs one;
- `classification`: the classification job (the main job);
- `glue`: the GLUE job (any GLUE task; STS-B with a regression head);
- `task_distillation`: the task-distillation job (`distill-task`);
- `task_teacher`: its teacher, given fine-tuned or fine-tuned first;
- `task_training`: resumable training and scoring on packed text;
- `glue_data`: the GLUE text a job reads;
- `datasets`: the labelled text a job reads, as `tf.data` pipelines;
- `classifier_export`: a classification job's verified LiteRT export;
- `squad`: the SQuAD job (`run_squad`); `squad_evaluation` (the official
  metric on decoded answers), `question_answerer_export` (its verified
  LiteRT export), `resumable_fit` (training that resumes mid-epoch);
- `optimizer`: the AdamW warmup-cosine optimizer every job uses;
- `presets`: writing the fine-tuned model as a KerasHub preset;
- `phase_timer`: seconds per phase of a job;
- `text_file`, `your_data`: a user's labelled CSV / TSV / JSON Lines file
  as the task of the GLUE job and task distillation
  (`finetune_text_file`); `text_scoring`: a saved preset or `.tflite`
  scored on a labelled file (`evaluate_text_file`) or predicting
  (`predict_texts`).
"""

from keras_mobilebert.finetune.classification import DEFAULT_CONFIG
from keras_mobilebert.finetune.classification import OPTIONAL_FIELDS
from keras_mobilebert.finetune.classification import build_classifier
from keras_mobilebert.finetune.classification import compile_for_finetuning
from keras_mobilebert.finetune.classifier_export import EXPORT_FIELDS
from keras_mobilebert.finetune.classifier_export import export_classifier
from keras_mobilebert.finetune.config import load_config
from keras_mobilebert.finetune.datasets import DATASETS
from keras_mobilebert.finetune.datasets import load_data
from keras_mobilebert.finetune.datasets import text_dataset
from keras_mobilebert.finetune.glue import run_glue
from keras_mobilebert.finetune.jobs import JOBS
from keras_mobilebert.finetune.jobs import run_finetune
from keras_mobilebert.finetune.optimizer import finetuning_optimizer
from keras_mobilebert.finetune.question_answerer_export import (
    export_question_answerer,
)
from keras_mobilebert.finetune.resumable_fit import fit_resumably
from keras_mobilebert.finetune.squad import build_question_answerer
from keras_mobilebert.finetune.squad import run_squad
from keras_mobilebert.finetune.task_distillation import run_distill_task
from keras_mobilebert.finetune.text_scoring import evaluate_text_file
from keras_mobilebert.finetune.text_scoring import load_text_classifier
from keras_mobilebert.finetune.text_scoring import predict_texts
from keras_mobilebert.finetune.your_data import finetune_text_file
from keras_mobilebert.models.mobilebert.squad_evaluation import squad_scores
from keras_mobilebert.models.preset_writer import save_preset
