"""`keras_mobilebert.cli`: the `keras-mobilebert` command, by its old name.

The command lives in `keras_mobilebert_cli`, a TensorFlow-free package
beside this one (the console script runs `keras_mobilebert_cli.main:main`,
so `--help` answers without importing TensorFlow). This module keeps
`from keras_mobilebert.cli import main` and
`python -m keras_mobilebert.cli` working.

Example:
```python
from keras_mobilebert.cli import main

main(["info"])
```
"""

import sys

from keras_mobilebert_cli.main import build_parser
from keras_mobilebert_cli.main import main

__all__ = ["build_parser", "main"]

if __name__ == "__main__":
    sys.exit(main())
