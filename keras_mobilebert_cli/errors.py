"""Errors about the user's input as one line; bugs keep their traceback.

Every subcommand runs through `run_reporting_errors` (`main.py` calls it
once for all of them): an error the user can fix is printed as
`keras-mobilebert <command>: error: <message>` on one line to stderr and
the status is 2, argparse's convention for bad input. What counts as the
user's input (`user_error_message`):

- a `keras_mobilebert.utils.errors.UserInputError`: the library's own
  typed errors (bad data files, configs, checkpoints, presets, missing
  extras) all derive from it;
- a missing module that keras-mobilebert declares (`missing_dependencies`
  names the extra to install);
- errors of the libraries the package calls on the user's behalf, which
  are not ours to type: KerasHub's preset lookup (an unknown preset name,
  a folder without `config.json`), and network failures of the clients
  that fetch what the user named (urllib, requests, httpx,
  huggingface_hub, kagglehub);
- a file the operating system could not open for the user (missing,
  a folder, no permission): it carries the path in its message.

Anything else is a bug and is re-raised with its traceback. `--debug` or
`KERAS_MOBILEBERT_DEBUG=1` re-raises input errors too.

Nothing here imports TensorFlow or the library: a `UserInputError` is
recognised through `sys.modules` (an instance exists only if its module
was imported) and the foreign errors by the module of their class.
"""

import errno
import os
import sys

from keras_mobilebert_cli.missing_dependencies import missing_dependency_message

DEBUG_ENV = "KERAS_MOBILEBERT_DEBUG"
# argparse exits with 2 on bad arguments; bad input files are the same
# kind of mistake.
INPUT_ERROR_STATUS = 2
_ERRORS_MODULE = "keras_mobilebert.utils.errors"
# Modules whose exceptions mean "the source the user named cannot be
# reached"; matched as prefixes of the exception class's module.
UNREACHABLE_MODULES = (
    "urllib.error",
    "requests.exceptions",
    "httpx",
    "huggingface_hub",
    "kagglehub",
    "socket",
)
# KerasHub's preset lookup: a ValueError or FileNotFoundError raised in
# one of these functions is about the preset the user named.
KERAS_HUB_PRESET_MODULE = "keras_hub.src.utils.preset_utils"
KERAS_HUB_PRESET_LOOKUP = (
    "get_file",
    "find_subclass",
    "get_preset_loader",
    "check_config_class",
    "_validate_backbone",
    "tf_copy_gfile_to_cache",
)
# OS errors about a path the user gave.
PATH_ERRNOS = (errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.EACCES)


def debug_requested(flag=False):
    """Whether input errors should keep their traceback.

    Args:
        flag: bool. The command's `--debug`.

    Example:
    ```python
    debug_requested()  # True when KERAS_MOBILEBERT_DEBUG=1
    ```
    """
    return bool(flag) or os.environ.get(DEBUG_ENV, "") not in ("", "0")


def one_line(text):
    """`text` with its line breaks and runs of spaces folded into one."""
    return " ".join(str(text).split())


def _raised_in(error):
    """`(module, function)` of the frame that raised `error`."""
    tb = error.__traceback__
    if tb is None:
        return None, None
    while tb.tb_next is not None:
        tb = tb.tb_next
    frame = tb.tb_frame
    return frame.f_globals.get("__name__"), frame.f_code.co_name


def _is_user_input_error(error):
    module = sys.modules.get(_ERRORS_MODULE)
    return module is not None and isinstance(error, module.UserInputError)


def _is_unreachable(error):
    if isinstance(error, (ConnectionError, TimeoutError)):
        return True
    return any(
        (cls.__module__ or "").startswith(UNREACHABLE_MODULES)
        for cls in type(error).__mro__
    )


def _is_preset_lookup(error):
    if not isinstance(error, (ValueError, FileNotFoundError)):
        return False
    module, function = _raised_in(error)
    return (
        module == KERAS_HUB_PRESET_MODULE
        and function in KERAS_HUB_PRESET_LOOKUP
    )


def _is_path_error(error):
    return (
        isinstance(error, OSError)
        and error.errno in PATH_ERRNOS
        and error.filename is not None
    )


def user_error_message(error):
    """The one-line message of an error about the user's input, or None.

    Args:
        error: an exception a subcommand raised.

    Returns:
        The message with its line breaks folded, or None for a bug.

    Example:
    ```python
    user_error_message(ModuleNotFoundError(name="safetensors"))
    ```
    """
    if _is_user_input_error(error):
        message = str(error)
    elif isinstance(error, ImportError):
        message = missing_dependency_message(error)
    elif (
        _is_unreachable(error)
        or _is_preset_lookup(error)
        or _is_path_error(error)
    ):
        message = str(error)
    else:
        return None
    if message is None:
        return None
    return one_line(message) or type(error).__name__


def run_reporting_errors(command, function, *args, debug=False):
    """`function(*args)`; an input error becomes one line and status 2.

    Args:
        command: string. The command's name, e.g.
            `"keras-mobilebert finetune"`, for the message.
        function: callable.
        *args: its arguments.
        debug: bool. Re-raise input errors too (also with
            `KERAS_MOBILEBERT_DEBUG=1`).

    Returns:
        What `function` returned, or 2 after printing
        `<command>: error: <message>` to stderr.

    Example:
    ```python
    status = run_reporting_errors("keras-mobilebert convert", run, args)
    ```
    """
    try:
        return function(*args)
    except Exception as error:
        message = user_error_message(error)
        if message is None or debug_requested(debug):
            raise
        print(f"{command}: error: {message}", file=sys.stderr, flush=True)
        return INPUT_ERROR_STATUS
