"""Fetch a file from a URL once and keep it in the package cache."""

import hashlib
import pathlib
import shutil
import sys
import urllib.error
import urllib.parse
import urllib.request

from keras_mobilebert.utils.errors import ConfigError
from keras_mobilebert.utils.errors import UnreachableSourceError
from keras_mobilebert.utils.files import atomic_path
from keras_mobilebert.utils.files import cache_dir

URL_SCHEMES = ("http", "https", "file")


def is_url(source):
    """Whether `source` is an `http(s)://` or `file://` URL.

    Args:
        source: string or path.

    Example:
    ```python
    is_url("https://example.org/SST-2.zip")  # True
    ```
    """
    if not isinstance(source, str):
        return False
    return urllib.parse.urlparse(source).scheme in URL_SCHEMES


def cached_download(url, subdir="downloads", quiet=False):
    """The local path of `url`'s content, downloaded on the first call.

    The file is cached under `cache_dir(subdir)`, named after a hash of the
    URL and its last path component, and written atomically: an
    interrupted download leaves nothing behind, so the next call starts
    again instead of reading half a file.

    Args:
        url: string. An `http(s)://` or `file://` URL.
        subdir: string. Folder below the package cache.
        quiet: bool. Suppress the one-time download notice.

    Example:
    ```python
    path = cached_download("https://example.org/glue/SST-2.zip")
    ```
    """
    if not is_url(url):
        raise ConfigError(
            f"{url!r} is not an http(s):// or file:// URL; pass a local "
            "path instead."
        )
    name = pathlib.PurePosixPath(urllib.parse.urlparse(url).path).name
    key = hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]
    path = cache_dir(subdir) / f"{key}_{name or 'download'}"
    if path.is_file():
        return path
    try:
        with urllib.request.urlopen(url) as response:
            # Said once the source answers: an unreachable one is only
            # its error.
            if not quiet:
                print(
                    f"Downloading {url} (once; cached as {path})",
                    file=sys.stderr,
                )
            with atomic_path(path) as tmp:
                with open(tmp, "wb") as f:
                    shutil.copyfileobj(response, f)
    except (urllib.error.URLError, OSError) as e:
        raise UnreachableSourceError(f"Could not download {url}: {e}") from e
    return path
