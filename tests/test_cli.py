"""The `keras-mobilebert` command: its subcommands, its start-up, --help.

The console script's entry point is read from setup.py, so the start-up
tests run what `pip install` puts on the user's PATH.
"""

import ast
import inspect
import json
import os
import pathlib
import re
import subprocess
import sys
import textwrap

import pytest

from keras_mobilebert.cli import main
from keras_mobilebert_cli import benchmark as benchmark_command
from keras_mobilebert_cli import convert as convert_command
from keras_mobilebert_cli import distill as distill_command
from keras_mobilebert_cli import distill_task as distill_task_command
from keras_mobilebert_cli import distribute_options
from keras_mobilebert_cli import export as export_command
from keras_mobilebert_cli import finetune as finetune_command
from keras_mobilebert_cli.main import build_parser
from keras_mobilebert_cli.startup import is_noise

ROOT = pathlib.Path(__file__).resolve().parents[1]
SUBCOMMANDS = (
    "info",
    "finetune",
    "finetune-squad",
    "convert",
    "distill",
    "distill-task",
    "export",
    "benchmark",
)
# What TensorFlow 2.21, KerasHub and the first device query print to stderr
# on start-up on this project's machines (no GPU), one fragment per line.
STARTUP_NOISE = (
    "absl::InitializeLog() is called",
    "oneDNN custom operations are on",
    "cudart_stub.cc",
    "cpu_feature_guard.cc",
    "To enable the following instructions",
    "failed call to cuInit",
    "Failed to load jax profiler",
)


def entry_point():
    """`(module, function)` of the console script, as setup.py declares."""
    text = (ROOT / "setup.py").read_text(encoding="utf-8")
    (match,) = re.findall(r'"keras-mobilebert=([\w.]+):(\w+)"', text)
    return match


def run_console_script(args, env_changes=None, pythonpath=()):
    """Run the console script's entry point in a fresh process."""
    module, function = entry_point()
    code = (
        f"import sys\nfrom {module} import {function}\nsys.exit({function}())\n"
    )
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    env["PYTHONPATH"] = os.pathsep.join([*map(str, pythonpath), str(ROOT)])
    env.update(env_changes or {})
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def noise_lines(stderr):
    return [
        line
        for line in stderr.splitlines()
        if any(fragment in line for fragment in STARTUP_NOISE)
    ]


def test_help_answers_without_importing_tensorflow():
    module, function = entry_point()
    script = textwrap.dedent(
        f"""
        import contextlib, io, json, sys
        from {module} import {function}
        helps = {{}}
        for argv in [["--help"]] + [[c, "--help"] for c in {SUBCOMMANDS!r}]:
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                try:
                    {function}(argv)
                except SystemExit:
                    pass
            helps[" ".join(argv)] = out.getvalue()
        heavy = sorted(
            m for m in sys.modules
            if m.split(".")[0] in ("tensorflow", "keras", "keras_hub",
                                   "keras_mobilebert", "numpy")
        )
        print(json.dumps({{"heavy": heavy, "helps": helps}}))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["heavy"] == []
    assert all(c in report["helps"]["--help"] for c in SUBCOMMANDS)
    for command in SUBCOMMANDS:
        usage = report["helps"][f"{command} --help"]
        assert usage.startswith(f"usage: keras-mobilebert {command}"), usage


def test_the_cli_package_imports_only_the_standard_library_at_the_top():
    # Library imports belong inside the functions that run a command.
    for path in sorted((ROOT / "keras_mobilebert_cli").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert (
                    top in sys.stdlib_module_names
                    or top == "keras_mobilebert_cli"
                ), f"{path.name} imports {name} at module level"


def test_parser_choices_equal_the_library_tables():
    from keras_mobilebert.distillation.embedding_init import (
        INIT_EMBEDDINGS_CHOICES,
    )
    from keras_mobilebert.distillation.losses import HEAD_MODES
    from keras_mobilebert.distillation.optimizers import LEARNING_RATE_SCHEDULES
    from keras_mobilebert.distillation.optimizers import OPTIMIZERS
    from keras_mobilebert.distillation.strategies import STRATEGIES
    from keras_mobilebert.export import QUANTIZATIONS
    from keras_mobilebert.export.benchmark import MODELS
    from keras_mobilebert.export.benchmark import run_benchmark
    from keras_mobilebert.layers.layer_math import MASK_MODES
    from keras_mobilebert.utils.distribute import DEFAULT_CLUSTER_TIMEOUT
    from keras_mobilebert.utils.distribute import DISTRIBUTE_STRATEGIES

    assert distill_command.STRATEGIES == STRATEGIES
    assert distill_command.OPTIMIZERS == tuple(OPTIMIZERS)
    assert distill_command.LEARNING_RATE_SCHEDULES == LEARNING_RATE_SCHEDULES
    assert distill_command.INIT_EMBEDDINGS_CHOICES == INIT_EMBEDDINGS_CHOICES
    assert distill_command.HEAD_MODES == HEAD_MODES
    assert distribute_options.DISTRIBUTE_STRATEGIES == DISTRIBUTE_STRATEGIES
    assert distribute_options.DEFAULT_CLUSTER_TIMEOUT == DEFAULT_CLUSTER_TIMEOUT
    from keras_mobilebert.finetune.starting_point import INITS

    assert finetune_command.INITS == INITS
    assert export_command.QUANTIZATIONS == QUANTIZATIONS
    assert sorted(convert_command.ATTENTION_MASK_MODES) == sorted(MASK_MODES)
    assert benchmark_command.MODELS == tuple(MODELS)
    modes = inspect.signature(run_benchmark).parameters["modes"].default
    assert benchmark_command.MODES == tuple(modes)
    # And the parser offers exactly those.
    parser = build_parser()
    (subparsers,) = [a for a in parser._actions if a.dest == "command"]
    offered = {
        (command, action.dest): tuple(action.choices)
        for command, sub in subparsers.choices.items()
        for action in sub._actions
        if action.choices
    }
    assert offered[("distill", "strategy")] == STRATEGIES
    assert offered[("distill", "distribute")] == DISTRIBUTE_STRATEGIES
    assert offered[("finetune-squad", "distribute")] == DISTRIBUTE_STRATEGIES
    assert offered[("distill-task", "distribute")] == DISTRIBUTE_STRATEGIES
    assert offered[("finetune", "distribute")] == DISTRIBUTE_STRATEGIES
    assert offered[("export", "quantization")] == QUANTIZATIONS
    assert offered[("benchmark", "models")] == tuple(sorted(MODELS))
    assert offered[("convert", "format")] == convert_command.FORMATS


def test_known_startup_lines_are_noise_and_nothing_else():
    noise = [
        "WARNING: All log messages before absl::InitializeLog() is called "
        "are written to STDERR",
        "I0000 00:00:1796224787.998237    6760 port.cc:153] oneDNN custom "
        "operations are on. You may see slightly different numerical "
        "results due to floating-point round-off errors from different "
        "computation orders. To turn them off, set the environment "
        "variable `TF_ENABLE_ONEDNN_OPTS=0`.",
        "I0000 00:00:1796224787.998550    6760 cudart_stub.cc:31] Could not "
        "find cuda drivers on your machine, GPU will not be used.",
        "I0000 00:00:1796224788.040681    6760 cpu_feature_guard.cc:227] This "
        "TensorFlow binary is optimized to use available CPU instructions "
        "in performance-critical operations.",
        "To enable the following instructions: AVX2 AVX512F AVX512_VNNI "
        "AVX512_BF16 FMA, in other operations, rebuild TensorFlow with the "
        "appropriate compiler flags.",
        "E0000 00:00:1796224804.399933    7033 cuda_platform.cc:52] failed "
        "call to cuInit: INTERNAL: CUDA error: Failed call to cuInit: "
        "UNKNOWN ERROR (303)",
        "WARNING:absl:Failed to load jax profiler: No module named 'jax'",
    ]
    for line in noise:
        assert is_noise(line), line
        assert is_noise(line + "\n"), line
    real = [
        "E0000 00:00:1796224804.399933    7033 loader.cc:52] could not "
        "load libtensorflow_framework.so.2",
        "F0000 00:00:1796224804.399933    7033 port.cc:153] oneDNN custom "
        "operations are on. (a fatal line is never noise)",
        "ImportError: libtensorflow_framework.so.2: cannot open shared "
        "object file: No such file or directory",
        "Traceback (most recent call last):",
        "  warnings.warn(",
        "WARNING:absl:Some other absl warning",
        "",
    ]
    for line in real:
        assert not is_noise(line), line


def test_info_prints_no_startup_noise():
    result = run_console_script(["info"])
    assert result.returncode == 0, result.stderr
    assert "mobilebert_en_uncased" in result.stdout
    assert noise_lines(result.stderr) == [], result.stderr


def test_a_user_set_log_level_shows_tensorflow_startup():
    # The user chose what TensorFlow logs: nothing is filtered. (This is
    # also the control that the noise above is real on this machine.)
    result = run_console_script(["info"], {"TF_CPP_MIN_LOG_LEVEL": "0"})
    assert result.returncode == 0, result.stderr
    assert noise_lines(result.stderr), result.stderr


@pytest.mark.parametrize("ending", ["raise", "abort"])
def test_a_real_error_importing_tensorflow_is_shown(tmp_path, ending):
    fake = tmp_path / "tensorflow"
    fake.mkdir()
    last = {
        "raise": 'raise ImportError("libtensorflow_cc.so.2: cannot open '
        'shared object file")',
        # A crash in a shared library: the process dies mid-import.
        "abort": "os.abort()",
    }[ending]
    (fake / "__init__.py").write_text(
        "import os\n"
        "os.write(2, b'WARNING: All log messages before "
        "absl::InitializeLog() is called are written to STDERR\\n')\n"
        "os.write(2, b'E0000 00:00:1.0 1 loader.cc:7] the loader says "
        "why\\n')\n" + last + "\n"
    )
    result = run_console_script(["info"], pythonpath=[tmp_path])
    assert result.returncode != 0
    assert "loader.cc:7] the loader says why" in result.stderr
    if ending == "raise":
        assert "cannot open shared object file" in result.stderr
    assert "absl::InitializeLog" not in result.stderr


def test_a_failed_conversion_exits_with_status_2(tmp_path, capsys):
    # ib_bert_en_uncased has no Hugging Face source to convert.
    assert main(["convert", "ib_bert_en_uncased", str(tmp_path / "p")]) == 2
    assert "no Hugging Face source" in capsys.readouterr().err
    assert not (tmp_path / "p").exists()


def test_info_lists_versions_and_presets(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "tensorflow " in out and "keras-hub" in out
    for name in (
        "mobilebert_en_uncased",
        "mobilebert_tiny_en_uncased",
        "mobilebert_multi_cased",
        "ib_bert_en_uncased",
        "mobilebert_qat_en_uncased",
    ):
        assert name in out
    assert "24,581,888" in out


def test_finetune_rejects_unknown_config_fields(tmp_path, capsys):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"dataset": "rotten_tomatoes"}))
    output = tmp_path / "out"
    status = main(
        ["finetune", "--config", str(config), "--output", str(output)]
    )
    assert status == 2
    assert re.search("lacks the fields.*'epochs'", capsys.readouterr().err)
    assert not output.exists()


@pytest.mark.large
def test_finetune_smoke_run(tmp_path, capsys):
    """The main job end to end on a sliver of the data: train, evaluate,
    predict, save a preset, reload it."""
    output = tmp_path / "run"
    main(
        [
            "finetune",
            "--epochs",
            "1",
            "--num-layers",
            "1",
            "--max-train-examples",
            "64",
            "--sequence-length",
            "32",
            "--output",
            str(output),
        ]
    )
    results = json.loads((output / "results.json").read_text())
    assert 0.0 <= results["accuracy"] <= 1.0
    assert results["test_size"] == 800
    assert len(results["predictions"]) == 4
    assert (output / "preset" / "task.weights.h5").is_file()
    out = capsys.readouterr().out
    assert "held-out accuracy" in out and "reloaded" in out


def test_distill_task_options_become_config_fields():
    args = build_parser().parse_args(
        [
            "distill-task",
            "--task",
            "rte",
            "--teacher-steps",
            "5",
            "--augment-copies",
            "2",
            "--augment-min-words",
            "12",
            "--student-overrides",
            '{"num_layers": 2}',
            "--layerwise",
        ]
    )
    top, nested = distill_task_command.config_overrides(args)
    assert top == {
        "task": "rte",
        "backbone_overrides": {"num_layers": 2},
        "layerwise": True,
    }
    assert nested == {
        ("teacher_finetune", "steps"): 5,
        ("augmentation", "copies"): 2,
        ("augmentation", "min_words"): 12,
    }
    # Every option maps to a field of the embedded config.
    from keras_mobilebert.finetune.task_distillation import DEFAULT_CONFIG

    default = json.loads(DEFAULT_CONFIG.read_text())
    assert set(distill_task_command.TOP_LEVEL.values()) <= set(default)
    for setting, field in distill_task_command.NESTED.values():
        assert field in default[setting]


def test_finetune_task_runs_the_glue_job_and_checks_fields(tmp_path, capsys):
    args = build_parser().parse_args(
        ["finetune", "--task", "rte", "--init", "random", "--train-steps", "3"]
    )
    assert finetune_command.glue_overrides(args) == {
        "task": "rte",
        "data": None,
        "init": "random",
        "preset": None,
        "train_steps": 3,
        "eval_split": None,
    }
    # A GLUE option on the classification job's config is an error that
    # names it.
    from keras_mobilebert.finetune import DEFAULT_CONFIG

    config = tmp_path / "config.json"
    config.write_text(DEFAULT_CONFIG.read_text())
    assert main(["finetune", "--config", str(config), "--task", "rte"]) == 2
    assert "Unknown config fields ['task']" in capsys.readouterr().err
