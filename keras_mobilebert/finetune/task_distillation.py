"""The task-distillation job (`keras-mobilebert distill-task`).

A fine-tuned teacher classifier labels the task's training text once,
plus augmented text (`distillation.augmentation`: nearest-neighbour word
replacement in the teacher's word table, deletion, swap) and any
unlabelled in-domain text the user gives; a MobileBERT student then
learns the teacher's logits at a temperature (`TaskDistiller`),
optionally mixed with the gold labels and MobileBERT's layer-wise
losses. Everything the run writes is in its output directory:

- `teacher/` and `teacher_training/`: the teacher fine-tuned here from a
  backbone (`task_teacher`), when it was not given fine-tuned;
- `teacher_logits/`: the cached logits (`cached_teacher_logits`);
- `student_training/`: checkpoints, `losses.csv`, `losses.png`;
- `student/`: the student as a KerasHub preset (with its tokenizer);
- `classifier_int8.tflite` (or the export's mode) and `results.json`.

Every stage resumes: run the same command again after an interruption
(even `kill -9`) and it continues where it was.
"""

import json
import pathlib

import numpy as np

from keras_mobilebert.data.glue_tasks import glue_task
from keras_mobilebert.data.labeled_text import is_file_task
from keras_mobilebert.data.length_buckets import pack_texts
from keras_mobilebert.distillation.augmentation import WordNeighbours
from keras_mobilebert.distillation.augmentation import augment_texts
from keras_mobilebert.distillation.augmentation import check_disjoint
from keras_mobilebert.distillation.task_checks import check_same_vocabulary
from keras_mobilebert.distillation.teacher_logits import cached_teacher_logits
from keras_mobilebert.finetune import glue
from keras_mobilebert.finetune.classification import build_classifier
from keras_mobilebert.finetune.glue_data import load_task_data
from keras_mobilebert.finetune.glue_data import pack_task_data
from keras_mobilebert.finetune.glue_data import seeded_indices
from keras_mobilebert.finetune.phase_timer import PhaseTimer
from keras_mobilebert.finetune.task_teacher import check_teacher_labels
from keras_mobilebert.finetune.task_teacher import finetune_teacher
from keras_mobilebert.finetune.task_teacher import is_classifier_preset
from keras_mobilebert.finetune.task_teacher import preset_label_names
from keras_mobilebert.finetune.task_teacher import teacher_classifier
from keras_mobilebert.finetune.task_training import score_task_model
from keras_mobilebert.finetune.task_training import train_task_model
from keras_mobilebert.finetune.text_file import class_weights
from keras_mobilebert.finetune.text_file import describe_classes
from keras_mobilebert.finetune.text_file import file_task_report
from keras_mobilebert.finetune.text_file import validation_scorer
from keras_mobilebert.utils.distribute import config_strategy
from keras_mobilebert.utils.distribute import job_output_dir
from keras_mobilebert.utils.errors import ConfigError
from keras_mobilebert.utils.errors import InputFormatError

DEFAULT_CONFIG = (
    pathlib.Path(__file__).parent.parent / "configs" / "distill_task_sst2.json"
)
REQUIRED_FIELDS = glue.REQUIRED_FIELDS
OPTIONAL_FIELDS = tuple(
    f
    for f in json.loads(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    if f not in REQUIRED_FIELDS
)
_NESTED = ("teacher_finetune", "augmentation")


def complete_config(config, default):
    """Fill the fields a task-distillation config left out; check values.

    Nested settings (`teacher_finetune`, `augmentation`) are filled key by
    key, so a config may give only the ones it changes.

    Args:
        config: dict (changed in place).
        default: dict, the embedded default config.
    """
    for key in _NESTED:
        given = config.get(key) or {}
        unknown = set(given) - set(default[key])
        if unknown:
            raise ConfigError(
                f"Unknown {key} fields {sorted(unknown)}; known: "
                f"{sorted(default[key])}."
            )
        config[key] = {**default[key], **given}
    glue.complete_config(config, default)
    if not 0.0 <= config["hard_label_weight"] <= 1.0:
        raise ConfigError(
            "hard_label_weight must be in [0, 1]; received "
            f"{config['hard_label_weight']}."
        )
    if config["temperature"] <= 0:
        raise ConfigError(
            f"temperature must be positive; received {config['temperature']}."
        )
    # Checked here, not only when augmenting: that comes after the teacher
    # is fine-tuned, minutes into the run.
    _check_min_words(config["augmentation"]["min_words"])


def _check_min_words(min_words):
    if not isinstance(min_words, int) or min_words < 0:
        raise ConfigError(
            "augmentation.min_words must be a non-negative integer; "
            f"received {min_words!r}."
        )


def read_unlabelled(path, num_segments):
    """In-domain text without labels: one example per line.

    Sentence pairs are two tab-separated fields. Blank lines are skipped.

    Args:
        path: path of a UTF-8 text file.
        num_segments: int. 1, or 2 for a pair task.

    Returns:
        A tuple of `num_segments` lists of strings.

    Example:
    ```python
    (texts,) = read_unlabelled("reviews.txt", 1)
    ```
    """
    segments = tuple([] for _ in range(num_segments))
    with open(path, encoding="utf-8", newline="\n") as f:
        for number, line in enumerate(f, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            fields = line.split("\t") if num_segments > 1 else [line]
            if len(fields) != num_segments:
                raise InputFormatError(
                    f"{path}, line {number}: expected {num_segments} "
                    f"tab-separated fields (a sentence pair), found "
                    f"{len(fields)}."
                )
            for index, (segment, text) in enumerate(zip(segments, fields)):
                if not text.strip():
                    raise InputFormatError(
                        f"{path}, line {number}, field {index + 1}: the "
                        "sentence is empty."
                    )
                segment.append(text)
    if not segments[0]:
        raise InputFormatError(f"{path} holds no text.")
    return segments


def augmentation_sources(texts, min_words, max_sources, seed):
    """Indices of the texts augmentation varies, sorted.

    SST-2's training file is mostly short phrases of its sentences (median
    7 words) while its dev set is whole sentences (median 19), so varying
    only the longer texts spends the teacher's labels where the student
    sees least text like the evaluation's.

    Args:
        texts: list of strings (a task's first segments).
        min_words: int. Only texts of at least this many words (split on
            whitespace) are sources; 0 takes all.
        max_sources: int or None. At most this many of them, drawn with
            `seed`; None takes all.
        seed: int.

    Returns:
        A sorted numpy array of indices into `texts`.

    Raises:
        ValueError: `min_words` is negative, or no text is long enough.

    Example:
    ```python
    augmentation_sources(["a fine film", "dull"], 2, None, 0)  # [0]
    ```
    """
    _check_min_words(min_words)
    eligible = np.asarray(
        [i for i, text in enumerate(texts) if len(text.split()) >= min_words],
        dtype=np.int64,
    )
    if not len(eligible):
        longest = max((len(t.split()) for t in texts), default=0)
        raise ConfigError(
            f"augmentation.min_words is {min_words}, but the longest "
            f"training text has {longest} words: nothing to augment."
        )
    return eligible[seeded_indices(len(eligible), max_sources, seed)]


def _augmented_text(config, train, evaluation, teacher, vocabulary, log):
    """Augmented training text as a tuple of segment lists.

    Pairs vary their first segment (TinyBERT's choice) and keep their
    source's second. A text that happens to equal an evaluation example
    is dropped: evaluation text never trains.
    """
    settings = config["augmentation"]
    segments = tuple([] for _ in train.segments)
    if not settings["copies"]:
        return segments
    sources = augmentation_sources(
        train.segments[0],
        settings["min_words"],
        settings["max_sources"],
        config["seed"],
    )
    first = [train.segments[0][i] for i in sources]
    words = {w.lower() for text in first for w in text.split()}
    neighbours = WordNeighbours.from_model(
        teacher,
        vocabulary=vocabulary,
        num_neighbours=settings["num_neighbours"],
        words=words,
    )
    augmented, origin = augment_texts(
        first,
        neighbours,
        copies=settings["copies"],
        seed=config["seed"],
        replace_probability=settings["replace_probability"],
        delete_probability=settings["delete_probability"],
        swap_probability=settings["swap_probability"],
    )
    held_out = {" ".join(t.lower().split()) for t in evaluation.segments[0]}
    kept = [
        i
        for i, text in enumerate(augmented)
        if " ".join(text.lower().split()) not in held_out
    ]
    segments[0].extend(augmented[i] for i in kept)
    for segment, source in zip(segments[1:], train.segments[1:]):
        segment.extend(source[sources[origin[i]]] for i in kept)
    log(
        f"augmentation: {len(kept)} texts from {len(sources)} training "
        f"examples of at least {settings['min_words']} words "
        f"({settings['copies']} copies each wanted; "
        f"{len(augmented) - len(kept)} equal to evaluation text dropped)"
    )
    return segments


def _given_text(config, evaluation):
    """The user's unlabelled text, or None: read and checked before the
    teacher's fine-tuning, so a bad file fails before anything is written.
    """
    if not config["unlabelled_text"]:
        return None
    num_segments = glue_task(evaluation.task).num_segments
    given = read_unlabelled(config["unlabelled_text"], num_segments)
    # The user's text must not be evaluation text.
    check_disjoint(
        given[0],
        evaluation.segments[0],
        f"{evaluation.task} {evaluation.split}",
    )
    return given


def _extra_text(config, train, evaluation, teacher, vocabulary, given, log):
    """Augmented and user-given text, as a tuple of segment lists."""
    segments = _augmented_text(
        config, train, evaluation, teacher, vocabulary, log
    )
    if given is not None:
        for segment, texts in zip(segments, given):
            segment.extend(texts)
        log(f"unlabelled text: {len(given[0])} examples")
    return segments


def _features(segments):
    return segments[0] if len(segments) == 1 else tuple(segments)


def load_teacher_classifier(
    config, data, student, shared_dir, output_dir, strategy, log
):
    """The run's teacher classifier and its class names (or None).

    A classifier preset is loaded; a backbone is fine-tuned here (once:
    the preset it becomes, in `shared_dir`, is reused by later runs).
    `output_dir` is where this process writes (`job_output_dir`).
    """
    import keras_hub

    task = glue_task(data.train.task)
    source = config["teacher"]
    saved = pathlib.Path(shared_dir) / "teacher"
    if not is_classifier_preset(source) and is_classifier_preset(saved):
        log(f"teacher: reusing the fine-tuned teacher in {saved}")
        source = saved
    with strategy.scope():
        if is_classifier_preset(source):
            teacher = keras_hub.models.TextClassifier.from_preset(
                str(source), compile=False
            )
            names = preset_label_names(source)
        else:
            teacher = teacher_classifier(
                source, glue.num_outputs(task), student.preprocessor
            )
            names = task.label_names
    check_same_vocabulary(teacher, student)
    check_teacher_labels(teacher, student, names, task)
    if source == config["teacher"] and not is_classifier_preset(source):
        finetune_teacher(
            teacher,
            data,
            output_dir,
            {**config["teacher_finetune"], "teacher": str(source)},
            training_dir=pathlib.Path(shared_dir) / "teacher_training",
            seed=config["seed"],
            distribute_strategy=strategy,
            log=log,
        )
    return teacher, names


def _teacher_labelled_data(
    config, data, teacher, preprocessor, shared_dir, write, given, log
):
    """`(packed, teacher logits, gold labels)` of all the text to learn.

    The training text, then augmented and user text (gold label -1, or
    NaN for a regression task). The training text's logits and the extra
    text's are cached apart in `shared_dir`, so runs with and without
    augmentation share the first file; only the chief (`write`) writes
    the cache, and every worker reads the chief's.
    """
    train = data.train
    vocabulary = preprocessor.tokenizer.get_vocabulary()
    extra = _extra_text(
        config, train, data.evaluation, teacher, vocabulary, given, log
    )
    packed = data.train_packed
    logits = cached_teacher_logits(
        teacher, packed, shared_dir, texts=train.features, write=write, log=log
    )
    if extra[0]:
        extra_packed = pack_texts(preprocessor, _features(extra))
        extra_logits = cached_teacher_logits(
            teacher,
            extra_packed,
            shared_dir,
            texts=_features(extra),
            write=write,
            log=log,
        )
        packed = {
            k: np.concatenate([packed[k], extra_packed[k]]) for k in packed
        }
        logits = np.concatenate([logits, extra_logits])
    missing = np.nan if glue_task(train.task).is_regression else -1
    labels = np.concatenate(
        [train.labels, np.full(len(extra[0]), missing, train.labels.dtype)]
    )
    return packed, logits, labels


def run_distill_task(config, output_dir, log=print):
    """Run task distillation and return its results (also `results.json`).

    Args:
        config: dict from `load_config` (a config whose `job` is
            `"distill_task"`).
        output_dir: the run's directory (see the module docstring).
            Under a multi-worker strategy (the config's `distribute`)
            only the chief writes it; the other workers resume from its
            checkpoints, read its teacher and cached logits, and write
            their (identical) outputs to a temporary folder, removed at
            the end (`utils.distribute.job_output_dir`).
        log: callable taking one string.

    Returns:
        A dict: the teacher's and the student's metrics on the evaluation
        split, the student's agreement with the teacher there, the
        export's figures (the file scored with the task's metrics), the
        training's last `losses.csv` row, sizes, timings and the config.

    Example:
    ```python
    config = load_config("distill.json", train_steps=500)
    results = run_distill_task(config, "runs/sst2_kd")
    ```
    """
    strategy = config_strategy(config)
    with job_output_dir(strategy, output_dir) as own_dir:
        return _run_distill_task(
            config, strategy, pathlib.Path(output_dir), own_dir, log
        )


def _run_distill_task(config, strategy, shared_dir, output_dir, log):
    timer = PhaseTimer(log)
    train, evaluation = load_task_data(config)
    given = _given_text(config, evaluation)
    task = glue_task(train.task)
    with strategy.scope():
        student = build_classifier(config, glue.num_outputs(task))
    data = pack_task_data(student.preprocessor, train, evaluation)
    log(
        f"data: {task.name}, {len(train)} train / {len(evaluation)} "
        f"{evaluation.split} examples; student {config['preset']} with "
        f"{config['backbone_overrides']}, init {config['init']}"
    )
    if is_file_task(task):
        describe_classes(train, evaluation, log)
    timer.done("data and student")
    teacher, _ = load_teacher_classifier(
        config, data, student, shared_dir, output_dir, strategy, log
    )
    teacher_metrics, teacher_eval = score_task_model(
        teacher, data.eval_packed, evaluation
    )
    log(f"teacher: {task.name} {evaluation.split} {teacher_metrics}")
    timer.done("teacher")
    packed, logits, labels = _teacher_labelled_data(
        config,
        data,
        teacher,
        student.preprocessor,
        shared_dir,
        shared_dir == output_dir,
        given,
        log,
    )
    timer.done("teacher logits")

    steps = glue.training_steps(config, len(labels))
    training = train_task_model(
        student,
        packed,
        labels,
        shared_dir / "student_training",
        steps,
        batch_size=config["batch_size"],
        learning_rate=config["learning_rate"],
        warmup_fraction=config["warmup_fraction"],
        seed=config["seed"],
        teacher=teacher,
        teacher_logits=logits,
        temperature=config["temperature"],
        hard_label_weight=config["hard_label_weight"],
        layerwise=config["layerwise"],
        layerwise_weight=config["layerwise_weight"],
        checkpoint_every=glue.checkpoint_interval(
            config, len(labels), is_file_task(task)
        ),
        name="task_distillation",
        config=glue.training_config(config),
        distribute_strategy=strategy,
        class_weights=class_weights(train, config["class_weight"]),
        validate=validation_scorer(
            lambda p, s: score_task_model(student, p, s),
            data.eval_packed,
            evaluation,
        ),
    )
    timer.done("student training")
    metrics, student_eval = score_task_model(
        student, data.eval_packed, evaluation
    )
    agreement = None
    if not task.is_regression:
        agreement = float(
            np.mean(student_eval.argmax(-1) == teacher_eval.argmax(-1))
        )
    log(
        f"student: {task.name} {evaluation.split} {metrics}; same label as "
        f"the teacher on {agreement}"
    )
    file_results = {}
    if is_file_task(task):
        file_results = file_task_report(
            output_dir, student_eval, train, evaluation, training["rows"], log
        )
    timer.done("evaluation")
    preset_dir, export = glue.save_reload_export(
        student, config, data, output_dir / "student", timer, log
    )
    results = {
        **file_results,
        "task": task.name,
        "eval_split": evaluation.split,
        "teacher_metrics": teacher_metrics,
        "metrics": metrics,
        "teacher_agreement": agreement,
        "train_size": len(train),
        "extra_text": len(labels) - len(train),
        "steps": steps,
        "final_training_row": training["final"],
        "resumed_from": training["resumed_from"],
        "export": export,
        "phase_seconds": timer.phases,
        "total_seconds": timer.total(),
        "preset_dir": str(preset_dir),
        "config": config,
    }
    glue.write_results(output_dir, results)
    return results
