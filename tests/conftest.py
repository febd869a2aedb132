"""Test options: `large` and `extra_large` markers, as in KerasHub."""

import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# No test may reach the Hugging Face Hub (CI has no internet): offline mode
# makes a stray download fail at once instead of after a minute of retries.
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def pytest_addoption(parser):
    parser.addoption(
        "--run_large", action="store_true", help="run tests marked large"
    )
    parser.addoption(
        "--run_extra_large",
        action="store_true",
        help="run tests marked extra_large",
    )


def pytest_collection_modifyitems(config, items):
    run_extra_large = config.getoption("--run_extra_large")
    run_large = config.getoption("--run_large") or run_extra_large
    skip_large = pytest.mark.skip(reason="needs --run_large")
    skip_extra_large = pytest.mark.skip(reason="needs --run_extra_large")
    for item in items:
        if "extra_large" in item.keywords and not run_extra_large:
            item.add_marker(skip_extra_large)
        elif "large" in item.keywords and not run_large:
            item.add_marker(skip_large)
