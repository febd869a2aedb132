"""MobileBERT's Keras layers."""

from keras_mobilebert.layers.attention import MobileBertAttention
from keras_mobilebert.layers.bottleneck import BottleneckInput
from keras_mobilebert.layers.bottleneck import BottleneckOutput
from keras_mobilebert.layers.embedding import MobileBertEmbedding
from keras_mobilebert.layers.no_norm import NoNorm
from keras_mobilebert.layers.stacked_ffn import StackedFFN
from keras_mobilebert.layers.transformer_block import MobileBertTransformerBlock
