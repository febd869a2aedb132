"""`keras-mobilebert info`: versions of the stack and the built-in presets."""

import importlib.metadata

STACK = (
    "tensorflow",
    "keras",
    "keras-hub",
    "tensorflow-text",
    "tensorflow-model-optimization",
    "ai-edge-litert",
)


def register(subparsers):
    """Add the `info` subcommand to an argparse `subparsers` object.

    Example:
    ```python
    parser = argparse.ArgumentParser(prog="keras-mobilebert")
    register(parser.add_subparsers(dest="command"))
    ```
    """
    parser = subparsers.add_parser("info", help="versions and built-in presets")
    parser.set_defaults(func=run)
    return parser


def run(args):
    """Print the versions of the stack and the built-in presets.

    Example:
    ```python
    run(parser.parse_args(["info"]))
    ```
    """
    import keras_mobilebert

    print(f"keras-mobilebert {keras_mobilebert.__version__}")
    for package in STACK:
        try:
            version = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            version = "not installed"
        print(f"  {package:<30} {version}")
    print("presets:")
    for name, preset in keras_mobilebert.presets.items():
        params = preset["metadata"]["params"]
        source = preset["source"] or "architecture only"
        print(f"  {name:<28} {params:>12,} params  weights: {source}")
