"""The `keras-mobilebert` command line, answered without TensorFlow.

This package sits beside `keras_mobilebert` (in the same distribution)
because importing anything inside `keras_mobilebert` runs its `__init__`,
which imports TensorFlow and registers every class. Here the parser and
`--help` answer at once; a subcommand imports the library only when it
runs, after `startup` has quieted TensorFlow's start-up noise.

- `main`: the parser and the console script's entry point;
- `startup`: TensorFlow started with its start-up noise filtered out;
- one module per subcommand, each `register(subparsers)` and `run(args)`:
  `info`, `finetune`, `convert`, `distill`, `export`, `benchmark`.

Choices the parser lists are literals here (the library's tables import
TensorFlow); `tests/test_cli.py` checks they equal the library's.
"""
