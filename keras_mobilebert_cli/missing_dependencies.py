"""A missing dependency as one line naming what to install.

A subcommand that needs an optional package (`huggingface_hub` for `hf://`
handles, `mediapipe` for TFLite metadata, TF-MOT, torch for the
benchmark's PyTorch row) used to end in a traceback ending in
`ModuleNotFoundError`. The extra that installs a module is read from the
installed distribution's own requirements (`importlib.metadata`), so it
cannot drift from setup.py: a module of a core requirement says to
reinstall the package, one of an extra names the extra, and anything the
package does not declare is re-raised as it is (a bug, not a missing
install). `errors.run_reporting_errors` prints the line.
"""

import importlib.metadata
import re

DISTRIBUTION = "keras-mobilebert"
# Import names whose distribution is named otherwise.
DISTRIBUTION_OF = {"sklearn": "scikit-learn"}
# Extras that set up development environments, not features: named only
# when no feature extra has the package.
DEVELOPMENT_EXTRAS = ("dev", "tfmot-test")
_EXTRA = re.compile(r"""extra\s*==\s*['"]([^'"]+)['"]""")


def _normalized(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirements():
    try:
        return importlib.metadata.requires(DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError:
        return []


def declared_by(module, requirements=None):
    """How keras-mobilebert declares the distribution of `module`.

    Args:
        module: an import name, e.g. `"huggingface_hub"` or `"torch.nn"`.
        requirements: list of requirement strings; None reads the
            installed distribution's.

    Returns:
        `(distribution, extras)`: `extras` is `[]` for a core dependency,
        else the extras that install it (feature extras first); None when
        the package does not declare it.

    Example:
    ```python
    declared_by("huggingface_hub")  # ("huggingface_hub", ["convert", "dev"])
    ```
    """
    top = module.split(".")[0]
    wanted = _normalized(DISTRIBUTION_OF.get(top, top))
    requirements = _requirements() if requirements is None else requirements
    core, extras, name = False, [], None
    for requirement in requirements:
        match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
        if not match or _normalized(match.group(0)) != wanted:
            continue
        name = match.group(0)
        extra = _EXTRA.search(requirement)
        if extra is None:
            core = True
        elif extra.group(1) not in extras:
            extras.append(extra.group(1))
    if name is None:
        return None
    if core:
        return name, []
    extras.sort(key=lambda extra: extra in DEVELOPMENT_EXTRAS)
    return name, extras


def missing_dependency_message(error, requirements=None):
    """One line for an `ImportError` of a subcommand, or None.

    Args:
        error: the `ImportError`.
        requirements: as for `declared_by`.

    Returns:
        The line: the library's own message when it already says what to
        `pip install`; else, for a module keras-mobilebert declares, which
        extra to install (or, for a core dependency, to reinstall the
        package). None for anything else: the caller re-raises it.

    Example:
    ```python
    missing_dependency_message(ModuleNotFoundError(name="safetensors"))
    ```
    """
    first_line = (str(error).strip().splitlines() or [""])[0]
    if "pip install" in first_line:
        return first_line
    module = getattr(error, "name", None)
    declared = declared_by(module, requirements) if module else None
    if declared is None:
        return None
    name, extras = declared
    if not extras:
        return (
            f"{module} is missing although keras-mobilebert requires "
            f"{name}; repair the install: pip install {name}"
        )
    return (
        f"{module} is not installed; this needs the {extras[0]!r} extra: "
        f'pip install "keras-mobilebert[{extras[0]}]"'
    )
