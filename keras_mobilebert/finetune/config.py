"""Reading a fine-tuning config (JSON) for the job it names."""

import json
import pathlib

from keras_mobilebert.finetune.jobs import DEFAULT_JOB
from keras_mobilebert.finetune.jobs import finetune_job
from keras_mobilebert.utils.errors import ConfigError
from keras_mobilebert.utils.errors import MissingInputError

# Fields every config may leave out, whatever its job.
COMMON_OPTIONAL_FIELDS = ("description", "job")


def load_config(path=None, **overrides):
    """Read a fine-tuning config (JSON) and apply overrides.

    The config's `job` field (default `"classification"`) picks the job;
    the keys of that job's embedded default config are its fields. Every
    field must be there except the optional ones, which the job fills in.

    Args:
        path: path of the JSON file; None for the embedded default of the
            classification job (the main job).
        **overrides: top-level fields to replace (None values are ignored).

    Example:
    ```python
    config = load_config(epochs=1)
    ```
    """
    if path is None:
        path = finetune_job(DEFAULT_JOB).default_config
    path = pathlib.Path(path)
    if not path.is_file():
        raise MissingInputError(f"Config {path} does not exist.")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ConfigError(f"Config {path} is not JSON: {e}.") from None
    if not isinstance(config, dict):
        raise ConfigError(f"Config {path} holds no JSON object.")
    config.setdefault("job", DEFAULT_JOB)
    try:
        job = finetune_job(config["job"])
    except ValueError as e:
        raise ConfigError(f"Config {path}: {e}") from None
    required = json.loads(job.default_config.read_text(encoding="utf-8"))
    optional = set(COMMON_OPTIONAL_FIELDS) | set(job.optional_fields)
    missing = set(required) - set(config) - optional
    if missing:
        raise ConfigError(
            f"Config {path} lacks the fields {sorted(missing)}; see "
            f"{job.default_config} for a complete one."
        )
    unknown = set(overrides) - set(required)
    if unknown:
        raise ConfigError(
            f"Unknown config fields {sorted(unknown)}; known: "
            f"{sorted(required)}."
        )
    config.update({k: v for k, v in overrides.items() if v is not None})
    job.complete_config(config, required)
    return config
