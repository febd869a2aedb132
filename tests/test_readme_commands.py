"""The README command checker (tools/check_readme_commands.py).

Its full run (a fresh environment with the README's install, every README
command in a tiny configuration) is a CI step of its own in `.ci/run`;
these tests check its parsing, its table against the README, and that it
fails on an unmapped command and on a command that fails. They run in the
current environment, with commands that take milliseconds.
"""

import io
import pathlib
import sys

from tools import check_readme_commands as checker

ROOT = pathlib.Path(__file__).resolve().parents[1]
# The environment running the tests: its bin/ holds this python.
VENV = pathlib.Path(sys.executable).parent.parent

FAKE_README = """# A project

```bash
python3 -m venv .venv && .venv/bin/pip install ".[extra]" && \\
    .venv/bin/demo-tool   run --fast  # the main job
```

Some prose with `demo-tool inline`, which is not a bash block.

```python
demo_tool.run()  # Python blocks are not commands
```

```bash
demo-tool echo "a # inside quotes" \\
    --twice
# a comment line
demo-tool fail
```
"""
TABLE = {
    "demo-tool run --fast": "python -c \"print('ran fast')\"",
    'demo-tool echo "a # inside quotes" --twice': "python -c \"print('a')\"",
    "demo-tool fail": (
        "python -c \"import sys; print('broken'); sys.exit(3)\""
    ),
}


def test_parsing_joins_lines_splits_and_drops_comments():
    commands = checker.readme_commands(FAKE_README)
    assert [(c.text, c.kind) for c in commands] == [
        ("python3 -m venv .venv", "venv"),
        ('pip install ".[extra]"', "install"),
        ("demo-tool run --fast", "run"),
        ('demo-tool echo "a # inside quotes" --twice', "run"),
        ("demo-tool fail", "run"),
    ]
    assert [c.line for c in commands] == [4, 4, 4, 15, 18]
    assert checker.install_spec(commands) == [".[extra]"]


def test_an_unmapped_command_fails_before_anything_runs(tmp_path):
    table = dict(TABLE)
    del table["demo-tool fail"]
    stream = io.StringIO()
    status = checker.check(
        FAKE_README, VENV, table, {}, work_dir=tmp_path, stream=stream
    )
    assert status == 2
    out = stream.getvalue()
    assert "[unmapped] README line 18: demo-tool fail" in out
    assert "no entry in TINY_COMMANDS" in out
    # Nothing ran: the mapped commands are still pending.
    assert "running:" not in out and "[ok]" not in out
    assert "2 pending, 1 unmapped" in out


def test_a_failing_command_fails_the_check(tmp_path):
    stream = io.StringIO()
    status = checker.check(
        FAKE_README, VENV, TABLE, {}, work_dir=tmp_path, stream=stream
    )
    assert status == 1
    out = stream.getvalue()
    assert "[ok]" in out and "demo-tool run --fast" in out
    assert "[failed]" in out and "exit status 3" in out
    assert "broken" in out  # The end of its output is shown.
    assert "README commands: 2 environment, 1 failed, 2 ok" in out


def test_all_passing_and_not_run_commands(tmp_path):
    table = dict(TABLE)
    del table["demo-tool fail"]
    stream = io.StringIO()
    status = checker.check(
        FAKE_README,
        VENV,
        table,
        {"demo-tool fail": "needs a GPU"},
        work_dir=tmp_path,
        stream=stream,
    )
    assert status == 0, stream.getvalue()
    assert "[not run] README line 18: demo-tool fail" in stream.getvalue()


def test_a_traceback_is_named(tmp_path):
    readme = "```bash\ndemo-tool crash\n```\n"
    table = {"demo-tool crash": 'python -c "import not_a_module_x1"'}
    stream = io.StringIO()
    status = checker.check(
        readme, VENV, table, {}, work_dir=tmp_path, stream=stream
    )
    assert status == 1
    assert "exit status 1 with a traceback" in stream.getvalue()
    assert "No module named 'not_a_module_x1'" in stream.getvalue()


def test_every_readme_command_has_a_tiny_form():
    # The fast guard: a README command added without its entry fails the
    # normal test suite, not only the CI step.
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    outcomes = checker.plan(checker.readme_commands(text))
    unmapped = [o.command.text for o in outcomes if o.status == "unmapped"]
    assert not unmapped, unmapped
    # The README's own install is the package with the metadata extra.
    spec = checker.install_spec(checker.readme_commands(text))
    assert spec == [".[metadata]"]
    # The table's repository paths exist.
    for tiny in checker.TINY_COMMANDS.values():
        for word in tiny.split():
            if word.startswith("{repo}/"):
                path = ROOT / word[len("{repo}/") :]
                assert path.exists(), path
