"""Build the sdist and wheel and check they ship what the package reads."""

import pathlib
import subprocess
import sys
import tarfile
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
RUNTIME_FILES = [
    "keras_mobilebert/configs/finetune_rotten_tomatoes.json",
    "keras_mobilebert/data/sources.json",
    "keras_mobilebert/models/mobilebert/mobilebert_presets.py",
    "keras_mobilebert/cli.py",
    "keras_mobilebert_cli/main.py",
]


def runtime_data_files():
    """Every non-Python file inside the package source tree."""
    package = ROOT / "keras_mobilebert"
    return sorted(
        str(p.relative_to(ROOT))
        for p in package.rglob("*")
        if p.is_file()
        and p.suffix not in (".py", ".pyc")
        and "__pycache__" not in p.parts
    )


@pytest.mark.large
def test_sdist_and_wheel_contain_the_runtime_files(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--sdist",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("*.whl")
    (sdist,) = tmp_path.glob("*.tar.gz")
    wheel_names = set(zipfile.ZipFile(wheel).namelist())
    with tarfile.open(sdist) as tf:
        prefix = tf.getnames()[0].split("/")[0]
        sdist_names = {n.removeprefix(prefix + "/") for n in tf.getnames()}
    expected = RUNTIME_FILES + runtime_data_files()
    assert runtime_data_files(), "the package should ship data files"
    for name in expected:
        assert name in wheel_names, f"{name} missing from the wheel"
        assert name in sdist_names, f"{name} missing from the sdist"
    for name in ("README.md", "LICENSE", "setup.py", "MANIFEST.in"):
        assert name in sdist_names, f"{name} missing from the sdist"
    entry_points = [n for n in wheel_names if n.endswith("entry_points.txt")]
    text = zipfile.ZipFile(wheel).read(entry_points[0]).decode()
    assert "keras-mobilebert = keras_mobilebert_cli.main:main" in text
