"""Run every command of the README's bash blocks in a tiny configuration.

A new user copies the README's commands into the environment its install
command made; a runtime dependency missing from that install (issue 15:
`distill --teacher minilm_l6` needed `safetensors`, which only the `dev`
and `convert` extras installed, and CI installs `dev`) shows up only
there. This checker reads the README's ```bash blocks, maps each command
to a tiny configuration that runs the same code paths and imports the same
dependencies offline and in seconds (`TINY_COMMANDS`), runs them in order
in a scratch directory with a given virtual environment first on `PATH`,
and reports each. A README command without an entry in `TINY_COMMANDS`
(or `NOT_RUN`) fails the check before anything runs: a new README command
gets its one-line entry there.

    # The README's own install, exactly (its first `pip install`):
    python tools/check_readme_commands.py --make-venv .venv-readme
    # Run every README command in it:
    python tools/check_readme_commands.py --venv .venv-readme
    # Only list the commands and what runs for each:
    python tools/check_readme_commands.py --list

Standard library only: it runs before and outside the environments it
checks. Exits 1 if a command failed, 2 if one has no mapping.
"""

import argparse
import dataclasses
import os
import pathlib
import re
import shlex
import subprocess
import sys
import tempfile
import time
import venv

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
README = ROOT / "README.md"

# README command (whitespace collapsed, its comment and a leading
# ".venv/bin/" dropped) -> the tiny command run instead: bash, in one
# scratch directory shared by all commands in README order (so `export`
# finds the preset `finetune` wrote), the environment's bin/ first on PATH,
# {repo} the repository root. One entry per README command.
TINY_COMMANDS = {
    "keras-mobilebert finetune": "keras-mobilebert finetune --max-train-examples 64 --epochs 1 --num-layers 1 --sequence-length 32",  # noqa: E501
    "keras-mobilebert convert hf://google/mobilebert-uncased ./mobilebert_preset": "keras-mobilebert convert {repo}/tests/fixtures/convert/mobilebert/hf ./mobilebert_preset",  # noqa: E501
    "keras-mobilebert convert uncased_L-24_H-128_B-512_A-4_F-4_OPT/ ./preset": "keras-mobilebert convert {repo}/tests/fixtures/convert/mobilebert/tf1 ./preset",  # noqa: E501
    "keras-mobilebert convert --to-huggingface ./mobilebert_preset ./hf_snapshot": "keras-mobilebert convert --to-huggingface ./mobilebert_preset ./hf_snapshot",  # noqa: E501
    "keras-mobilebert distill --teacher minilm_l6 --student mobilebert_en_uncased --strategy auxiliary --layer-steps 1000 --pretraining-steps 1000 --learning-rate 1e-2 --output-dir runs/distill": "keras-mobilebert distill --teacher minilm_l6 --student mobilebert_en_uncased --student-overrides '{\"num_layers\": 1}' --strategy auxiliary --layer-steps 2 --pretraining-steps 2 --batch-size 4 --sequence-length 32 --learning-rate 1e-2 --output-dir runs/distill",  # noqa: E501
    "keras-mobilebert finetune-squad --train train-v1.1.json --dev dev-v1.1.json --init pretrained --output runs/squad": "keras-mobilebert finetune-squad --train {repo}/tests/fixtures/squad/train-v1.1.json --dev {repo}/tests/fixtures/squad/dev-v1.1.json --init random --num-layers 1 --sequence-length 48 --doc-stride 16 --max-question-length 16 --epochs 1 --batch-size 4 --output runs/squad",  # noqa: E501
    "keras-mobilebert finetune --task sst2 --data glue_data/SST-2 --init pretrained": "keras-mobilebert finetune --task sst2 --data {repo}/tests/fixtures/glue/SST-2 --init random --num-layers 1 --sequence-length 16 --batch-size 4 --train-steps 2",  # noqa: E501
    "keras-mobilebert distill-task --task sst2 --data glue_data/SST-2 --teacher minilm_l6 --augment-copies 8 --augment-min-words 15 --train-steps 12000 --output-dir runs/sst2_kd": "keras-mobilebert distill-task --task sst2 --data {repo}/tests/fixtures/glue/SST-2 --teacher minilm_l6 --teacher-steps 2 --student-overrides '{\"num_layers\": 1}' --augment-copies 2 --augment-min-words 5 --augment-max-sources 4 --sequence-length 16 --batch-size 4 --train-steps 2 --output-dir runs/sst2_kd",  # noqa: E501
    "keras-mobilebert finetune --train tickets.csv --text-column message --label-column team --output runs/tickets": "keras-mobilebert finetune --train {repo}/tests/fixtures/labeled_text/tickets.csv --text-column message --label-column team --init random --num-layers 1 --sequence-length 16 --batch-size 4 --train-steps 2 --output runs/tickets",  # noqa: E501
    "keras-mobilebert evaluate runs/tickets/classifier_int8.tflite --data test.csv --text-column message --label-column team": "keras-mobilebert evaluate runs/tickets/classifier_int8.tflite --data {repo}/tests/fixtures/labeled_text/tickets_eval.tsv --text-column message --label-column team",  # noqa: E501
    'keras-mobilebert predict runs/tickets/preset "I was charged twice"': 'keras-mobilebert predict runs/tickets/preset "I was charged twice"',  # noqa: E501
    "keras-mobilebert export runs/finetune_rotten_tomatoes/preset model_int8.tflite --quantization int8 --data rotten_tomatoes": "keras-mobilebert export runs/finetune_rotten_tomatoes/preset model_int8.tflite --quantization int8 --data rotten_tomatoes --num-representative 16",  # noqa: E501
    "python recipes/qat_and_export.py --output runs/qat_and_export": "python {repo}/recipes/qat_and_export.py --output runs/qat_and_export --max-train-examples 64 --representative 16",  # noqa: E501
    "python tools/benchmark_litert.py --threads 2": "python {repo}/tools/benchmark_litert.py --threads 2 --models mobilebert_tiny --modes keras dynamic torch --rounds 2 --warmup 1 --sequence-length 16 --qa-sequence-length 0 --output runs/benchmark",  # noqa: E501
}
# README commands the checker does not run, and why.
NOT_RUN = {
    "bash .ci/run": "CI itself (it runs this checker)",
    # The README's install has no Beam (the corpus extra, named beside the
    # command): tests/test_corpus_beam.py runs both commands, tiny, in
    # .venv-corpus (`.ci/run`).
    "keras-mobilebert prepare-corpus wiki_00.txt.gz wiki_01.txt.gz --output corpus --num-shards 16": "needs the corpus extra; tests/test_corpus_beam.py runs it in .venv-corpus",  # noqa: E501
    "keras-mobilebert distill --teacher minilm_l6 --corpus corpus --output-dir runs/distill_corpus": "reads prepare-corpus's output; tests/test_corpus_beam.py runs it in .venv-corpus",  # noqa: E501
}
# Per-command limit: the tiny configurations take seconds to a minute or
# two; a hang must not hold CI.
TIMEOUT_S = 900
VENV_PREFIX = ".venv/bin/"


@dataclasses.dataclass
class Command:
    """One command of a README bash block.

    Attributes:
        text: the command, normalized (see `normalize`).
        line: int. Its first line in the README (1-based).
        kind: `"venv"` (makes the environment), `"install"` (`pip
            install`) or `"run"`.
    """

    text: str
    line: int
    kind: str


@dataclasses.dataclass
class Outcome:
    """What happened to one README command.

    Attributes:
        command: the `Command`.
        status: `"ok"`, `"failed"`, `"unmapped"`, `"not run"` or
            `"environment"` (the venv and install steps, which
            `--make-venv` does).
        run: string or None. The tiny command that ran.
        seconds: float or None.
        detail: string. Why it was not run, or the end of its output.
    """

    command: Command
    status: str
    run: str | None = None
    seconds: float | None = None
    detail: str = ""


def _strip_comment(line):
    """`line` without a shell comment (a `#` outside quotes after a space)."""
    quote = None
    for index, char in enumerate(line):
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1].isspace()):
            return line[:index]
    return line


def _split_and(command):
    """Split a command on `&&` outside quotes."""
    parts, quote, start = [], None, 0
    index = 0
    while index < len(command):
        char = command[index]
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif command.startswith("&&", index):
            parts.append(command[start:index])
            start = index + 2
            index += 1
        index += 1
    parts.append(command[start:])
    return [p for p in (part.strip() for part in parts) if p]


def normalize(command):
    """The table key of a command: whitespace collapsed, `.venv/bin/` off.

    Example:
    ```python
    normalize(".venv/bin/keras-mobilebert  finetune")
    # "keras-mobilebert finetune"
    ```
    """
    command = " ".join(command.split())
    if command.startswith(VENV_PREFIX):
        command = command[len(VENV_PREFIX) :]
    return command


def _kind(command):
    if re.fullmatch(r"python3?(\.\d+)? -m venv \S+", command):
        return "venv"
    if re.match(r"(\S*/)?pip3? install ", command) or re.match(
        r"(\S*/)?python3? -m pip install ", command
    ):
        return "install"
    return "run"


def readme_commands(text):
    """The commands of the ```bash blocks of a README, in order.

    Continuation lines (a trailing backslash) are joined, comments dropped
    and `a && b` split into its commands.

    Args:
        text: the README's text.

    Returns:
        A list of `Command`s.

    Example:
    ```python
    readme_commands(README.read_text())[0].text  # "python3 -m venv .venv"
    ```
    """
    commands = []
    in_block = False
    pending, first_line = "", None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("```"):
            in_block = stripped == "```bash" and not in_block
            pending, first_line = "", None
            continue
        if not in_block:
            continue
        code = _strip_comment(line).rstrip()
        if first_line is None:
            first_line = number
        if code.endswith("\\"):
            pending += code[:-1] + " "
            continue
        for part in _split_and(pending + code):
            part = normalize(part)
            commands.append(Command(part, first_line, _kind(part)))
        pending, first_line = "", None
    return commands


def install_spec(commands):
    """The package spec of the README's first `pip install` (its install).

    Args:
        commands: from `readme_commands`.

    Returns:
        The list of `pip install` arguments, e.g. `[".[metadata]"]`.

    Raises:
        ValueError: the README has no `pip install` command.

    Example:
    ```python
    install_spec(readme_commands(README.read_text()))  # [".[metadata]"]
    ```
    """
    for command in commands:
        if command.kind == "install":
            words = shlex.split(command.text)
            return words[words.index("install") + 1 :]
    raise ValueError("The README has no `pip install` command.")


def plan(commands, table=None, not_run=None):
    """An `Outcome` per README command: what will run, or why not.

    Args:
        commands: from `readme_commands`.
        table: dict like `TINY_COMMANDS` (the default).
        not_run: dict like `NOT_RUN` (the default).

    Returns:
        A list of `Outcome`s with status `"pending"`, `"environment"`,
        `"not run"` or `"unmapped"`.

    Example:
    ```python
    [o.status for o in plan(readme_commands(text))]
    ```
    """
    table = TINY_COMMANDS if table is None else table
    not_run = NOT_RUN if not_run is None else not_run
    outcomes = []
    for command in commands:
        if command.kind in ("venv", "install"):
            outcomes.append(
                Outcome(command, "environment", detail="--make-venv does it")
            )
        elif command.text in not_run:
            outcomes.append(
                Outcome(command, "not run", detail=not_run[command.text])
            )
        elif command.text in table:
            outcomes.append(Outcome(command, "pending", table[command.text]))
        else:
            outcomes.append(
                Outcome(
                    command,
                    "unmapped",
                    detail=(
                        "no entry in TINY_COMMANDS "
                        "(tools/check_readme_commands.py): add the README "
                        "command with a tiny configuration of it"
                    ),
                )
            )
    return outcomes


def _environment(venv_dir):
    bin_dir = pathlib.Path(venv_dir).resolve() / "bin"
    env = dict(os.environ)
    # The installed package, not a checkout on the path.
    env.pop("PYTHONPATH", None)
    env.pop("PYTHONHOME", None)
    env["VIRTUAL_ENV"] = str(bin_dir.parent)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    # The tiny configurations are offline; a stray download fails at once.
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def _tail(text, lines=15):
    return "\n".join(text.strip().splitlines()[-lines:])


def run_outcome(
    outcome, venv_dir, work_dir, repo=ROOT, timeout=TIMEOUT_S, log_path=None
):
    """Run one pending outcome's tiny command; fill its status and detail.

    A failure whose output holds a Python traceback says so: a missing
    optional dependency must be a one-line message naming the extra. The
    whole output goes to `log_path` when given.

    Example:
    ```python
    run_outcome(outcome, ".venv-readme", "/tmp/work")
    ```
    """
    command = outcome.run.replace("{repo}", shlex.quote(str(repo)))
    outcome.run = command
    start = time.perf_counter()
    try:
        done = subprocess.run(
            ["bash", "-c", command],
            cwd=work_dir,
            env=_environment(venv_dir),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        outcome.seconds = time.perf_counter() - start
        outcome.status = "failed"
        output = error.output or ""
        if isinstance(output, bytes):
            output = output.decode("utf-8", "replace")
        outcome.detail = f"timed out after {timeout} s\n{_tail(output)}"
        return outcome
    outcome.seconds = time.perf_counter() - start
    if log_path is not None:
        pathlib.Path(log_path).write_text(done.stdout, encoding="utf-8")
    if done.returncode == 0:
        outcome.status = "ok"
        return outcome
    outcome.status = "failed"
    note = f"exit status {done.returncode}"
    if "Traceback (most recent call last)" in done.stdout:
        note += " with a traceback"
    outcome.detail = f"{note}\n{_tail(done.stdout)}"
    return outcome


def report(outcomes, stream=sys.stdout):
    """Print one block per README command.

    Example:
    ```python
    report(outcomes)
    ```
    """
    for outcome in outcomes:
        seconds = (
            f" ({outcome.seconds:.0f} s)" if outcome.seconds is not None else ""
        )
        print(
            f"[{outcome.status}]{seconds} README line "
            f"{outcome.command.line}: {outcome.command.text}",
            file=stream,
        )
        if outcome.run and outcome.status in ("ok", "failed", "pending"):
            verb = "runs" if outcome.status == "pending" else "ran"
            print(f"    {verb}: {outcome.run}", file=stream)
        if outcome.detail and outcome.status != "ok":
            for line in outcome.detail.splitlines():
                print(f"    {line}", file=stream)
    counts = {}
    for outcome in outcomes:
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    print(f"README commands: {summary}", file=stream, flush=True)


def check(
    readme_text,
    venv_dir,
    table=None,
    not_run=None,
    work_dir=None,
    repo=ROOT,
    timeout=TIMEOUT_S,
    only=None,
    stream=sys.stdout,
):
    """Map, run and report every README command; return the exit status.

    Args:
        readme_text: the README's text.
        venv_dir: the virtual environment to run the commands in.
        table: dict like `TINY_COMMANDS` (the default).
        not_run: dict like `NOT_RUN` (the default).
        work_dir: scratch directory, or None for a temporary one; each
            command's output is kept in its `readme-command-logs/`.
        repo: the repository root (`{repo}` in the table).
        timeout: seconds per command.
        only: string or None. Run only the commands containing it (the
            others are reported `"not run"`; a later command may need an
            earlier one's files).
        stream: where the report goes.

    Returns:
        0 if every command ran, 1 if one failed, 2 if one has no entry
        (then nothing runs).

    Example:
    ```python
    status = check(README.read_text(), ".venv-readme")
    ```
    """
    outcomes = plan(readme_commands(readme_text), table, not_run)
    if any(o.status == "unmapped" for o in outcomes):
        report(outcomes, stream)
        return 2
    for outcome in outcomes:
        if only and outcome.status == "pending":
            if only not in outcome.command.text:
                outcome.status, outcome.detail = "not run", f"--only {only}"
    with tempfile.TemporaryDirectory(prefix="readme-commands-") as scratch:
        work_dir = pathlib.Path(work_dir or scratch)
        work_dir.mkdir(parents=True, exist_ok=True)
        logs = work_dir / "readme-command-logs"
        logs.mkdir(exist_ok=True)
        for number, outcome in enumerate(outcomes):
            if outcome.status != "pending":
                continue
            print(f"running: {outcome.run}", file=stream, flush=True)
            log_path = logs / f"line{outcome.command.line}-{number}.log"
            run_outcome(outcome, venv_dir, work_dir, repo, timeout, log_path)
            print(
                f"  {outcome.status} in {outcome.seconds:.0f} s",
                file=stream,
                flush=True,
            )
    report(outcomes, stream)
    return 1 if any(o.status == "failed" for o in outcomes) else 0


def make_venv(venv_dir, spec, repo=ROOT):
    """A fresh virtual environment with exactly the README's install.

    pip's cache is used (its default), so a second build downloads
    nothing.

    Args:
        venv_dir: path; an existing environment there is cleared.
        spec: list of `pip install` arguments (see `install_spec`).
        repo: where the install runs (the spec is relative to it).

    Returns:
        The path of the environment.

    Example:
    ```python
    make_venv(".venv-readme", [".[metadata]"])
    ```
    """
    venv_dir = pathlib.Path(venv_dir).resolve()
    venv.create(venv_dir, with_pip=True, clear=True)
    subprocess.run(
        [str(venv_dir / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        + list(spec),
        cwd=repo,
        check=True,
    )
    return venv_dir


def main(argv=None):
    """Command-line entry; see the module docstring."""
    parser = argparse.ArgumentParser(prog="check_readme_commands")
    parser.add_argument("--readme", default=str(README))
    parser.add_argument(
        "--venv", help="virtual environment to run the commands in"
    )
    parser.add_argument(
        "--make-venv",
        metavar="DIR",
        help="first create DIR with exactly the README's pip install",
    )
    parser.add_argument(
        "--list",
        action="store_true",
        help="print the commands and their tiny forms; run nothing",
    )
    parser.add_argument(
        "--work-dir", help="scratch directory (default: a temporary one)"
    )
    parser.add_argument("--timeout", type=int, default=TIMEOUT_S)
    parser.add_argument(
        "--only",
        metavar="TEXT",
        help="run only the README commands containing TEXT",
    )
    args = parser.parse_args(argv)
    text = pathlib.Path(args.readme).read_text(encoding="utf-8")
    commands = readme_commands(text)
    if args.list:
        outcomes = plan(commands)
        report(outcomes)
        return 2 if any(o.status == "unmapped" for o in outcomes) else 0
    if args.make_venv:
        spec = install_spec(commands)
        print(f"pip install {shlex.join(spec)} into {args.make_venv}")
        start = time.perf_counter()
        make_venv(args.make_venv, spec)
        print(f"  installed in {time.perf_counter() - start:.0f} s")
    venv_dir = args.venv or args.make_venv
    if not venv_dir:
        parser.error("give --venv (or --make-venv), or --list")
    return check(
        text,
        venv_dir,
        work_dir=args.work_dir,
        timeout=args.timeout,
        only=args.only,
    )


if __name__ == "__main__":
    sys.exit(main())
