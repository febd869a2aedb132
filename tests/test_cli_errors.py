"""Every subcommand answers bad input with one line, status 2, no files.

Issue 24: a bad SQuAD or GLUE file ended `finetune-squad` and `finetune`
in a 33- to 36-line traceback whose last line was the message. `CASES`
holds at least one bad input per subcommand; a test fails when the parser
has a subcommand without one. To cover a new subcommand, add one line:

    Case("evaluate", "bad_glue_row", lambda d: ["evaluate", "--data",
         bad_mrpc(d), "--output", str(d / "out")], "line 6: expected"),

`d` is an empty folder for the case's inputs and outputs; the argv may
name files under it (the helpers below write bad ones). Every file under
`d` is compared before and after the run: nothing may be written.
`subprocess=True` runs the case as `python -m keras_mobilebert_cli` (at
least one per subcommand); the others run in-process through `main`.
"""

import dataclasses
import json
import os
import pathlib
import subprocess
import sys
import urllib.error

import pytest

from keras_mobilebert.convert.weights import ConversionError
from keras_mobilebert.data.glue import GlueFormatError
from keras_mobilebert.data.squad import SquadFormatError
from keras_mobilebert.export.errors import Float16RangeError
from keras_mobilebert.export.errors import LiteRTExportError
from keras_mobilebert.export.errors import UnsupportedOpsError
from keras_mobilebert.export.errors import VerificationError
from keras_mobilebert.models.mobilebert.builtin_presets import (
    PresetWeightsNotFoundError,
)
from keras_mobilebert.models.mobilebert.preset_sources import (
    ConverterNotRegisteredError,
)
from keras_mobilebert.utils import errors
from keras_mobilebert_cli import info as info_command
from keras_mobilebert_cli.errors import DEBUG_ENV
from keras_mobilebert_cli.errors import user_error_message
from keras_mobilebert_cli.main import build_parser
from keras_mobilebert_cli.main import main
from tests.finetune import glue_tiny
from tests.finetune.squad_tiny import squad_json

ROOT = pathlib.Path(__file__).resolve().parents[1]


def bad_mrpc(d):
    """MRPC files whose train.tsv line 6 lacks two of its five fields."""
    folder = glue_tiny.write_task(d / "mrpc", "mrpc")
    train = folder / "train.tsv"
    lines = train.read_text().splitlines()
    lines[5] = "\t".join(lines[5].split("\t")[:3])
    train.write_text("\n".join(lines) + "\n")
    return str(folder)


def bad_squad(d):
    """SQuAD JSON whose first answer_start is off by three characters."""
    data = squad_json()
    data["data"][0]["paragraphs"][0]["qas"][0]["answers"][0][
        "answer_start"
    ] += 3
    path = d / "bad.json"
    path.write_text(json.dumps(data))
    return str(path)


def sst2(d):
    return str(glue_tiny.write_task(d / "sst2", "sst2"))


def dev_sentence_as_unlabelled_text(d):
    """A text file holding a sentence of the tiny SST-2 dev split."""
    dev = (pathlib.Path(sst2(d)) / "dev.tsv").read_text().splitlines()
    return text_file(d, "u.txt", dev[1].split("\t")[0] + "\n")


def not_a_preset(d):
    """A folder whose config.json is no KerasHub or HF config."""
    folder = d / "not_a_preset"
    folder.mkdir()
    (folder / "config.json").write_text('{"hello": "world"}')
    return str(folder)


def text_file(d, name, text):
    path = d / name
    path.write_text(text)
    return str(path)


def labelled_csv(d):
    """A CSV with a quoted comma, columns `text` and `category`."""
    path = d / "labelled.csv"
    if not path.exists():
        path.write_text('text,category\n"hello, world",a\nbye,b\n')
    return str(path)


def empty_folder(d):
    folder = d / "empty"
    folder.mkdir()
    return str(folder)


@dataclasses.dataclass(frozen=True)
class Case:
    """A bad input of a subcommand and a fragment of its one-line error."""

    command: str
    name: str
    argv: object  # callable: case folder -> the argv after the program
    message: str
    subprocess: bool = False


def out(d):
    return str(d / "out")


# fmt: off
CASES = [
    Case("finetune", "mrpc_row_lacks_two_fields", lambda d: ["finetune", "--task", "mrpc", "--data", bad_mrpc(d), "--output", out(d)], "train.tsv, line 6: expected 5 tab-separated fields", subprocess=True),  # noqa: E501
    Case("finetune", "data_url_unreachable", lambda d: ["finetune", "--task", "sst2", "--data", "file:///nonexistent/SST-2.zip", "--output", out(d)], "Could not download file:///nonexistent/SST-2.zip"),  # noqa: E501
    Case("finetune", "config_does_not_exist", lambda d: ["finetune", "--config", str(d / "no.json"), "--output", out(d)], "no.json does not exist"),  # noqa: E501
    Case("finetune", "config_is_not_json", lambda d: ["finetune", "--config", text_file(d, "c.json", "{epochs: 1"), "--output", out(d)], "c.json is not JSON: Expecting property name"),  # noqa: E501
    Case("finetune-squad", "answer_start_off_by_three", lambda d: ["finetune-squad", "--train", bad_squad(d), "--dev", str(d / "bad.json"), "--output", out(d)], "is not at answer_start 3 of its context", subprocess=True),  # noqa: E501
    Case("finetune-squad", "train_file_missing", lambda d: ["finetune-squad", "--train", str(d / "no.json"), "--dev", str(d / "no.json"), "--output", out(d)], "The train file: SQuAD file"),  # noqa: E501
    Case("finetune-squad", "train_url_unreachable", lambda d: ["finetune-squad", "--train", "file:///nonexistent/train.json", "--dev", bad_squad(d), "--output", out(d)], "The train file file:///nonexistent/train.json could not be fetched"),  # noqa: E501
    Case("convert", "source_is_nothing_known", lambda d: ["convert", empty_folder(d), out(d)], "cannot tell what", subprocess=True),  # noqa: E501
    Case("convert", "preset_without_hf_source", lambda d: ["convert", "ib_bert_en_uncased", out(d)], "no Hugging Face source"),  # noqa: E501
    Case("distill", "teacher_does_not_exist", lambda d: ["distill", "--teacher", str(d / "no_teacher"), "--output-dir", out(d)], "is neither 'minilm_l6'", subprocess=True),  # noqa: E501
    Case("prepare-corpus", "text_file_missing", lambda d: ["prepare-corpus", str(d / "no_text.txt"), "--output", out(d)], "no_text.txt does not exist", subprocess=True),  # noqa: E501
    Case("distill", "corpus_without_manifest", lambda d: ["distill", "--corpus", str(d), "--output-dir", out(d)], "has no manifest.json"),  # noqa: E501
    Case("distill-task", "temperature_zero", lambda d: ["distill-task", "--task", "sst2", "--temperature", "0", "--output-dir", out(d)], "temperature must be positive", subprocess=True),  # noqa: E501
    Case("distill-task", "unknown_task", lambda d: ["distill-task", "--task", "glu", "--output-dir", out(d)], "Unknown GLUE task 'glu'"),  # noqa: E501
    Case("distill-task", "unlabelled_text_empty", lambda d: ["distill-task", "--task", "sst2", "--data", sst2(d), "--unlabelled-text", text_file(d, "u.txt", "\n"), "--output-dir", out(d)], "u.txt holds no text"),  # noqa: E501
    Case("distill-task", "unlabelled_text_is_dev_text", lambda d: ["distill-task", "--task", "sst2", "--unlabelled-text", dev_sentence_as_unlabelled_text(d), "--data", str(d / "sst2"), "--output-dir", out(d)], "is also example 0 of the sst2 validation"),  # noqa: E501
    Case("export", "preset_does_not_exist", lambda d: ["export", str(d / "no_preset"), str(d / "m.tflite")], "Unknown preset identifier", subprocess=True),  # noqa: E501
    Case("export", "folder_is_not_a_preset", lambda d: ["export", not_a_preset(d), str(d / "m.tflite")], "Unrecognized format for config.json"),  # noqa: E501
    Case("finetune", "train_file_lacks_label_column", lambda d: ["finetune", "--train", labelled_csv(d), "--label-column", "label", "--output", out(d)], "no column 'label'; the columns are ['text', 'category']"),  # noqa: E501
    Case("distill-task", "train_file_one_example_per_class", lambda d: ["distill-task", "--train", labelled_csv(d), "--label-column", "category", "--output-dir", out(d)], "leave no validation examples at fraction 0.2"),  # noqa: E501
    Case("evaluate", "model_is_a_csv_file", lambda d: ["evaluate", labelled_csv(d), "--data", labelled_csv(d)], "expected a classifier preset folder or a .tflite file", subprocess=True),  # noqa: E501
    Case("predict", "texts_and_data_file", lambda d: ["predict", empty_folder(d), "a text", "--data", labelled_csv(d)], "give texts or --data FILE (not both)", subprocess=True),  # noqa: E501
    Case("benchmark", "compare_file_missing", lambda d: ["benchmark", "--compare", f"theirs={d / 'none.tflite'}", "--output", out(d)], "--compare theirs: no file"),  # noqa: E501
    Case("benchmark", "compare_without_name", lambda d: ["benchmark", "--compare", "model.tflite", "--output", out(d)], "--compare takes NAME=FILE.tflite"),  # noqa: E501
    Case("benchmark", "zero_rounds", lambda d: ["benchmark", "--rounds", "0", "--output", out(d)], "rounds must be a positive int, got 0", subprocess=True),  # noqa: E501
]
# fmt: on
# Subcommands that read no input at all (their parser has no options).
NO_INPUT = {"info"}


def subcommand_names():
    """The names the parser accepts: every module in SUBCOMMANDS."""
    parser = build_parser()
    (action,) = [
        a for a in parser._actions if a.dest == "command" and a.choices
    ]
    return action.choices


def snapshot(folder):
    """Every file and folder under `folder`, with file sizes and times.

    Empty folders of the package cache (`cache/`) are left out: a command
    may make its cache folder before it finds the source unreachable.
    """
    folder = pathlib.Path(folder)
    return {
        str(path.relative_to(folder)): (
            path.stat().st_size if path.is_file() else None,
            path.stat().st_mtime_ns,
        )
        for path in sorted(folder.rglob("*"))
        if path.is_file() or path.relative_to(folder).parts[0] != "cache"
    }


def one_error_line(stderr, command):
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"keras-mobilebert {command}: error: "), lines
    return lines[0]


def test_every_subcommand_has_a_bad_input_case():
    names = set(subcommand_names())
    covered = {case.command for case in CASES} | NO_INPUT
    assert names - covered == set(), (
        "add a Case to tests/test_cli_errors.py CASES for these subcommands"
    )
    assert covered - names == set()
    in_subprocess = {case.command for case in CASES if case.subprocess}
    assert in_subprocess == {case.command for case in CASES}


def test_commands_without_input_take_no_options():
    choices = subcommand_names()
    for name in NO_INPUT:
        options = [a for a in choices[name]._actions if a.dest != "help"]
        assert options == [], f"{name} takes options: give it a Case"


def _prepare(case, folder):
    folder.mkdir(parents=True)
    (folder / "cache").mkdir()
    argv = case.argv(folder)
    return argv, snapshot(folder)


@pytest.mark.parametrize(
    "case",
    [c for c in CASES if not c.subprocess],
    ids=lambda c: f"{c.command}-{c.name}",
)
def test_bad_input_in_process(case, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KERAS_MOBILEBERT_HOME", str(tmp_path / "case/cache"))
    monkeypatch.delenv(DEBUG_ENV, raising=False)
    folder = tmp_path / "case"
    argv, before = _prepare(case, folder)
    assert main(argv) == 2
    line = one_error_line(capsys.readouterr().err, case.command)
    assert case.message in line
    assert snapshot(folder) == before


def _environment(folder):
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    # Unset, the command filters TensorFlow's start-up lines as a user
    # sees them.
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    env.pop(DEBUG_ENV, None)
    env["PYTHONPATH"] = str(ROOT)
    env["KERAS_MOBILEBERT_HOME"] = str(folder / "cache")
    return env


@pytest.fixture(scope="module")
def console_runs(tmp_path_factory):
    """Run every subprocess case at once (they are independent)."""
    runs = {}
    for case in CASES:
        if not case.subprocess:
            continue
        folder = tmp_path_factory.mktemp("case") / case.name
        argv, before = _prepare(case, folder)
        process = subprocess.Popen(
            [sys.executable, "-m", "keras_mobilebert_cli", *argv],
            env=_environment(folder),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        runs[case] = (process, folder, before)
    results = {}
    for case, (process, folder, before) in runs.items():
        _, stderr = process.communicate(timeout=300)
        results[case] = (process.returncode, stderr, folder, before)
    return results


@pytest.mark.parametrize(
    "case",
    [c for c in CASES if c.subprocess],
    ids=lambda c: f"{c.command}-{c.name}",
)
def test_bad_input_on_the_console(case, console_runs):
    status, stderr, folder, before = console_runs[case]
    assert status == 2, stderr
    line = one_error_line(stderr, case.command)
    assert case.message in line
    assert snapshot(folder) == before


def test_the_issue_examples_read_as_one_line(console_runs):
    by_name = {case.name: result for case, result in console_runs.items()}
    _, stderr, folder, _ = by_name["answer_start_off_by_three"]
    assert stderr.strip() == (
        f"keras-mobilebert finetune-squad: error: {folder}/bad.json: "
        "question id 'Foxes-0': answer 0 'The quick brown fox' is not at "
        "answer_start 3 of its context (found ' quick brown fox ju' there)."
    )
    _, stderr, folder, _ = by_name["mrpc_row_lacks_two_fields"]
    assert stderr.strip() == (
        f"keras-mobilebert finetune: error: {folder}/mrpc/train.tsv, line "
        "6: expected 5 tab-separated fields ['Quality', '#1 ID', '#2 ID', "
        "'#1 String', '#2 String'], found 3."
    )


def test_a_bug_keeps_its_traceback(monkeypatch):
    def bug(args):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(info_command, "run", bug)
    with pytest.raises(ZeroDivisionError, match="a bug"):
        main(["info"])


def test_a_bug_on_the_console_shows_the_traceback(tmp_path):
    code = (
        "import sys\n"
        "from keras_mobilebert_cli import info\n"
        "def bug(args):\n"
        "    raise ZeroDivisionError('a bug')\n"
        "info.run = bug\n"
        "from keras_mobilebert_cli.main import main\n"
        "sys.exit(main(['info']))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code],
        env=_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode not in (0, 2)
    assert "Traceback" in run.stderr
    assert run.stderr.strip().endswith("ZeroDivisionError: a bug")


@pytest.mark.parametrize("how", ["flag", "environment"])
def test_debug_shows_the_traceback_of_input_errors(how, tmp_path, monkeypatch):
    argv = ["finetune", "--config", str(tmp_path / "no.json")]
    if how == "flag":
        argv = ["--debug", *argv]
    else:
        monkeypatch.setenv(DEBUG_ENV, "1")
    with pytest.raises(errors.MissingInputError, match="does not exist"):
        main(argv)
    monkeypatch.setenv(DEBUG_ENV, "0")
    assert main(argv[-3:]) == 2


def _raised(function, *args):
    try:
        function(*args)
    except Exception as error:
        return error
    raise AssertionError("nothing raised")


def test_what_counts_as_input():
    import keras_hub

    # KerasHub's preset lookup, not ours to type.
    unknown = _raised(keras_hub.models.Backbone.from_preset, "no_such_preset")
    message = user_error_message(unknown)
    assert message.startswith("Unknown preset identifier. A preset must")
    assert "\n" not in message and "'no_such_preset'" in message
    # Network failures of the clients, and paths the OS could not open.
    offline = urllib.error.URLError("Name or service not known")
    assert "Name or service not known" in user_error_message(offline)
    missing = _raised(open, "/no/such/file")
    assert "/no/such/file" in user_error_message(missing)
    # A missing module the package does not declare is a bug, and so is
    # any plain exception, even a ValueError.
    assert user_error_message(ImportError("x", name="no_such_mod")) is None
    assert user_error_message(ValueError("a bug")) is None
    assert user_error_message(KeyError("a bug")) is None
    folded = user_error_message(errors.ConfigError("two\n  lines"))
    assert folded == "two lines"


def test_the_library_errors_are_user_input_errors():
    for error_class, other_base in (
        (SquadFormatError, ValueError),
        (GlueFormatError, ValueError),
        (ConversionError, ValueError),
        (PresetWeightsNotFoundError, ValueError),
        (ConverterNotRegisteredError, LookupError),
        (UnsupportedOpsError, LiteRTExportError),
        (Float16RangeError, LiteRTExportError),
        (errors.ConfigError, ValueError),
        (errors.InputFormatError, ValueError),
        (errors.MissingInputError, FileNotFoundError),
        (errors.UnreachableSourceError, OSError),
        (errors.MissingDependencyError, ImportError),
    ):
        assert issubclass(error_class, errors.UserInputError), error_class
        assert issubclass(error_class, other_base), error_class
    # A LiteRT file that disagrees with its model may be the package's
    # fault: it keeps its traceback.
    assert not issubclass(VerificationError, errors.UserInputError)
