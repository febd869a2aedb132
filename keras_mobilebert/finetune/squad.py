"""The SQuAD job: fine-tune, evaluate, save, reload, export.

`keras-mobilebert finetune-squad` (or `keras-mobilebert finetune --config`
with a config whose `job` is `"squad"`) runs it on the embedded default
configuration `DEFAULT_CONFIG` (`keras_mobilebert/configs/
finetune_squad.json`): read SQuAD-format train and dev files (paths or
URLs, `data.squad.read_squad`), fine-tune a `MobileBertQuestionAnswerer`
from the config's `init` (`starting_point`: `random`, `pretrained`, or a
preset directory such as a distilled student or a converted SQuAD
checkpoint, whose span head is kept), evaluate on the dev file with the
official metric (v1.1, or v2.0 with the no-answer threshold), save a
KerasHub preset, reload it and check it answers the same, then export a
verified int8 LiteRT file (`question_answerer_export`). Training resumes
after a kill at the step it reached (`resumable_fit`), under the config's
`tf.distribute` strategy. `recipes/finetune_squad.py` walks through the
same steps with the public API.

Outputs in the output directory: `preset/`, `predictions.json` (question
id -> answer, the official scripts' input),
`question_answerer_<quantization>.tflite`, `results.json`, and `backup/`
while training runs.
"""

import json
import pathlib
import shutil

import keras
import numpy as np

from keras_mobilebert.data.squad import read_squad
from keras_mobilebert.finetune.datasets import subsample
from keras_mobilebert.finetune.optimizer import finetuning_optimizer
from keras_mobilebert.finetune.phase_timer import PhaseTimer
from keras_mobilebert.finetune.question_answerer_export import (
    check_question_answerer_export,
)
from keras_mobilebert.finetune.question_answerer_export import (
    export_question_answerer,
)
from keras_mobilebert.finetune.resumable_fit import fit_resumably
from keras_mobilebert.finetune.starting_point import INITS
from keras_mobilebert.finetune.starting_point import check_vocabulary
from keras_mobilebert.finetune.starting_point import starting_backbone
from keras_mobilebert.finetune.starting_point import starting_tokenizer
from keras_mobilebert.models.mobilebert.mobilebert_question_answerer import (
    MobileBertQuestionAnswerer,
)
from keras_mobilebert.models.mobilebert.mobilebert_question_answerer_preprocessor import (  # noqa: E501
    MobileBertQuestionAnswererPreprocessor,
)
from keras_mobilebert.models.mobilebert.squad_evaluation import decode_windows
from keras_mobilebert.models.mobilebert.squad_evaluation import headline
from keras_mobilebert.models.mobilebert.squad_evaluation import is_squad_v2
from keras_mobilebert.models.mobilebert.squad_evaluation import squad_scores
from keras_mobilebert.models.preset_writer import save_preset
from keras_mobilebert.utils.distribute import check_strategy_name
from keras_mobilebert.utils.distribute import config_strategy
from keras_mobilebert.utils.distribute import fit_under_multi_worker
from keras_mobilebert.utils.distribute import job_output_dir
from keras_mobilebert.utils.errors import ConfigError
from keras_mobilebert.utils.errors import MissingInputError
from keras_mobilebert.utils.errors import UnreachableSourceError
from keras_mobilebert.utils.files import atomic_path

DEFAULT_CONFIG = (
    pathlib.Path(__file__).parent.parent / "configs" / "finetune_squad.json"
)
# Fields a config may leave out; `complete_config` fills them from the
# embedded default.
OPTIONAL_FIELDS = (
    "init",
    "backbone_overrides",
    "max_answer_length",
    "null_threshold",
    "max_train_examples",
    "max_dev_examples",
    "checkpoint_every",
    "distribute",
    "export",
    "example_questions",
)
POSITIVE_INTS = (
    "sequence_length",
    "doc_stride",
    "max_question_length",
    "max_answer_length",
    "batch_size",
    "epochs",
    "checkpoint_every",
)
# What a checkpoint depends on: resuming with other values is refused.
TRAINING_FIELDS = (
    "train",
    "preset",
    "init",
    "backbone_overrides",
    "sequence_length",
    "doc_stride",
    "max_question_length",
    "learning_rate",
    "warmup_fraction",
    "max_train_examples",
)
# Logits of the reloaded preset may differ by float rounding only.
RELOAD_TOLERANCE = 1e-5


def complete_config(config, default):
    """Fill the optional fields a config left out, then check the values.

    Args:
        config: dict read from a config file, overrides applied (changed in
            place).
        default: dict, the embedded default config.

    Example:
    ```python
    complete_config(config, json.loads(DEFAULT_CONFIG.read_text()))
    ```
    """
    for name in OPTIONAL_FIELDS:
        config.setdefault(name, default[name])
    for name in POSITIVE_INTS:
        value = config[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name} must be a positive int, got {value!r}.")
    for name in ("max_train_examples", "max_dev_examples"):
        value = config[name]
        if value is not None and (not isinstance(value, int) or value < 1):
            raise ConfigError(
                f"{name} must be null or a positive int, got {value!r}."
            )
    if config["sequence_length"] < config["max_question_length"] + 4:
        raise ConfigError(
            f"sequence_length {config['sequence_length']} leaves no room "
            f"for context after max_question_length "
            f"{config['max_question_length']}, [CLS] and two [SEP]."
        )
    if not 0 <= config["warmup_fraction"] < 1:
        raise ConfigError(
            f"warmup_fraction must be in [0, 1), got "
            f"{config['warmup_fraction']!r}."
        )
    if not config["learning_rate"] > 0:
        raise ConfigError(
            f"learning_rate must be positive, got {config['learning_rate']!r}."
        )
    check_strategy_name(config["distribute"])
    for name in ("train", "dev"):
        if not isinstance(config[name], str) or not config[name]:
            raise ConfigError(
                f"{name} must name a SQuAD JSON file or URL, got "
                f"{config[name]!r}."
            )
    check_question_answerer_export(config["export"])


def read_examples(source, role):
    """The `SquadExample`s of the config's `train` or `dev` file.

    A URL that cannot be fetched (offline) is a one-line `OSError` saying
    to name local copies instead.

    Args:
        source: string. A path or an http(s)/file URL.
        role: string. `"train"` or `"dev"`, named in errors.

    Example:
    ```python
    dev = read_examples("dev-v1.1.json", "dev")
    ```
    """
    try:
        return read_squad(source)
    except FileNotFoundError as e:
        raise MissingInputError(f"The {role} file: {e}") from None
    except OSError as e:
        raise UnreachableSourceError(
            f"The {role} file {source} could not be fetched ({e}). Offline, "
            f"give a local SQuAD JSON file as {role} (finetune-squad "
            f"--{role} PATH, or the config's {role!r} field)."
        ) from None


def _saved_span_head(init):
    """The span head weights of a question-answerer preset `init`, or None."""
    if init in INITS:
        return None
    task = pathlib.Path(init) / "task.json"
    if not task.is_file():
        return None
    name = json.loads(task.read_text(encoding="utf-8")).get("class_name")
    if name != MobileBertQuestionAnswerer.__name__:
        return None
    saved = MobileBertQuestionAnswerer.from_preset(str(init), compile=False)
    return saved.span_head.get_weights()


def build_question_answerer(config):
    """A question answerer on the backbone and tokenizer `init` names.

    `init` is read by `starting_point` (random weights of the preset's
    architecture, its released weights, or a preset directory); a
    directory holding a `MobileBertQuestionAnswerer` preset (a converted
    SQuAD checkpoint, an earlier run) also gives its span head. The
    preprocessor windows with the config's `sequence_length`,
    `doc_stride` and `max_question_length`.

    Args:
        config: dict from `load_config` (a SQuAD config).

    Example:
    ```python
    qa = build_question_answerer(load_config(DEFAULT_CONFIG, init="random"))
    ```
    """
    keras.utils.set_random_seed(config["seed"])
    init = config["init"]
    backbone = starting_backbone(
        config["preset"], init, config["backbone_overrides"]
    )
    tokenizer = starting_tokenizer(config["preset"], init)
    check_vocabulary(backbone, tokenizer, init)
    if config["sequence_length"] > backbone.max_sequence_length:
        raise ConfigError(
            f"sequence_length {config['sequence_length']} exceeds the "
            f"backbone's max_sequence_length {backbone.max_sequence_length} "
            f"(init {init!r})."
        )
    preprocessor = MobileBertQuestionAnswererPreprocessor(
        tokenizer,
        sequence_length=config["sequence_length"],
        doc_stride=config["doc_stride"],
        max_question_length=config["max_question_length"],
    )
    qa = MobileBertQuestionAnswerer(backbone, preprocessor=preprocessor)
    head = _saved_span_head(init)
    if head is not None:
        qa.span_head.set_weights(head)
    return qa


def _limited(examples, limit, seed):
    if not limit or limit >= len(examples):
        return examples
    return subsample(examples, np.arange(len(examples)), limit, seed)[0]


def _write_json(path, value):
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(value, indent=2))


def run_squad(config, output_dir, log=print):
    """Run the SQuAD job and return its results.

    Args:
        config: dict from `load_config` (a config whose `job` is `"squad"`).
        output_dir: directory for the preset, the backup, the `.tflite`
            file, `predictions.json` and `results.json`. Under a
            multi-worker strategy only the chief writes it; the other
            workers resume from its backup and write their (identical)
            outputs to a temporary folder, removed at the end.
        log: callable taking one string.

    Returns:
        A dict with the dev scores (`exact_match`, `f1`, and the v2.0
        breakdown), data and training figures, the reload check, the
        export's figures, timings per phase and the config.

    Example:
    ```python
    config = load_config("squad.json", epochs=1)
    results = run_squad(config, "runs/squad")
    ```
    """
    strategy = config_strategy(config)
    with job_output_dir(strategy, output_dir) as own_dir:
        return _run_squad(
            config, strategy, pathlib.Path(output_dir), own_dir, log
        )


def _run_squad(config, strategy, shared_dir, output_dir, log):
    timer = PhaseTimer(log)
    # Data first: offline, a URL fails here, before any model is built.
    train = _limited(
        read_examples(config["train"], "train"),
        config["max_train_examples"],
        config["seed"],
    )
    dev = _limited(
        read_examples(config["dev"], "dev"),
        config["max_dev_examples"],
        config["seed"],
    )
    with strategy.scope():
        qa = build_question_answerer(config)
    check_question_answerer_export(config["export"], qa)
    train_windows = qa.preprocessor.encode(train)
    dev_windows = qa.preprocessor.encode(dev)
    version = "v2.0" if is_squad_v2(dev) else "v1.1"
    log(
        f"data: {len(train)} train questions ({len(train_windows)} windows), "
        f"{len(dev)} dev questions ({len(dev_windows)} windows), SQuAD "
        f"{version}; model: init {config['init']}, "
        f"{qa.backbone.count_params():,} backbone parameters, "
        f"{strategy.num_replicas_in_sync} replica(s)"
    )
    steps = config["epochs"] * (len(train_windows) // config["batch_size"])
    with strategy.scope():
        qa.compile(
            optimizer=finetuning_optimizer(
                config["learning_rate"], config["warmup_fraction"], steps
            )
        )
    fit_under_multi_worker(qa)
    timer.done("data and model")
    training = fit_resumably(
        qa,
        train_windows.inputs(),
        train_windows.labels(),
        batch_size=config["batch_size"],
        epochs=config["epochs"],
        seed=config["seed"],
        backup_dir=shared_dir / "backup",
        write_backup=shared_dir == output_dir,
        checkpoint_every=config["checkpoint_every"],
        settings={name: config[name] for name in TRAINING_FIELDS},
        log=log,
    )
    timer.done("training")

    logits = qa.predict(
        dev_windows.inputs(), batch_size=config["batch_size"], verbose=0
    )
    answers = decode_windows(dev_windows, logits, config["max_answer_length"])
    scores = squad_scores(dev, answers, config["null_threshold"])
    exact, f1 = headline(scores)
    log(f"dev ({version}, official metric): EM {exact:.2f} / F1 {f1:.2f}")
    _write_json(
        output_dir / "predictions.json",
        {e.id: a.text for e, a in zip(dev, answers)},
    )
    examples = config["example_questions"]
    predictions = []
    if examples:
        found = qa.answer(
            [e["question"] for e in examples],
            [e["context"] for e in examples],
            max_answer_length=config["max_answer_length"],
        )
        for example, answer in zip(examples, found):
            predictions.append(
                {"question": example["question"], "answer": answer.text}
            )
            log(f"  {example['question']} -> {answer.text!r}")
    timer.done("evaluation")

    preset_dir = save_preset(qa, output_dir / "preset")
    reload_diff = _check_reload(
        preset_dir, dev, dev_windows, logits, answers, config
    )
    log(f"saved preset to {preset_dir}; reloaded, max |diff| {reload_diff:.2g}")
    timer.done("save and reload")
    export = None
    if config["export"]:
        export = export_question_answerer(
            MobileBertQuestionAnswerer.from_preset(
                str(preset_dir), compile=False
            ),
            config["export"],
            train_windows,
            dev,
            output_dir,
            max_answer_length=config["max_answer_length"],
            null_threshold=config["null_threshold"],
            log=log,
        )
        timer.done("export")
    results = {
        "exact_match": exact,
        "f1": f1,
        "scores": scores,
        "squad_version": version,
        "train_questions": len(train),
        "train_windows": len(train_windows),
        "dev_questions": len(dev),
        "dev_windows": len(dev_windows),
        "backbone_parameters": int(qa.backbone.count_params()),
        "replicas": strategy.num_replicas_in_sync,
        "training": training,
        "reload_max_abs_diff": reload_diff,
        "export": export,
        "train_seconds": timer.phases["training"],
        "total_seconds": timer.total(),
        "phase_seconds": timer.phases,
        "preset_dir": str(preset_dir),
        "predictions": predictions,
        "config": config,
    }
    _write_json(output_dir / "results.json", results)
    # The results are written: the training state is no longer needed.
    shutil.rmtree(output_dir / "backup", ignore_errors=True)
    log(
        f"EM {exact:.2f} / F1 {f1:.2f} on {len(dev)} dev questions; total "
        f"time {results['total_seconds']} s (training "
        f"{results['train_seconds']} s)"
    )
    return results


def _check_reload(preset_dir, dev, dev_windows, logits, answers, config):
    """Reload the preset; raise unless it gives the same logits and answers.

    Compares the logits of every window of the first 32 dev questions and
    their decoded answers. Returns the largest logit difference.
    """
    reloaded = MobileBertQuestionAnswerer.from_preset(
        str(preset_dir), compile=False
    )
    count = min(32, len(dev))
    rows = np.flatnonzero(dev_windows.example_index < count)
    inputs = {k: v[rows] for k, v in dev_windows.inputs().items()}
    again = reloaded.predict(inputs, verbose=0)
    diff = max(
        float(np.max(np.abs(again[name] - logits[name][rows])))
        for name in ("start_logits", "end_logits")
    )
    scale = max(1.0, float(np.max(np.abs(logits["start_logits"][rows]))))
    texts = [
        a.text
        for a in reloaded.answer(
            dev[:count], max_answer_length=config["max_answer_length"]
        )
    ]
    changed = sum(a != b.text for a, b in zip(texts, answers[:count]))
    if diff > RELOAD_TOLERANCE * scale or changed:
        raise RuntimeError(
            f"The reloaded preset predicts differently (max |diff| "
            f"{diff:.3g}, {changed} of {count} answers changed); the saved "
            f"preset in {preset_dir} is not usable."
        )
    return diff
