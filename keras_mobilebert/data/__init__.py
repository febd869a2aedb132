"""Real data and vocabularies fetched from package registries and cached."""

from keras_mobilebert.data import squad
from keras_mobilebert.data.glue import GlueFormatError
from keras_mobilebert.data.glue import GlueSplit
from keras_mobilebert.data.glue import load_glue
from keras_mobilebert.data.glue_tasks import glue_task
from keras_mobilebert.data.glue_tfds import load_glue_tfds
from keras_mobilebert.data.labeled_text import LabeledTextFormatError
from keras_mobilebert.data.labeled_text import read_labeled_text
from keras_mobilebert.data.labeled_text import stratified_split
from keras_mobilebert.data.packaged_files import fetch_packaged_file
from keras_mobilebert.data.rotten_tomatoes import load_rotten_tomatoes
from keras_mobilebert.data.vocabularies import bert_uncased_vocabulary
