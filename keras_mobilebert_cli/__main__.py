"""`python -m keras_mobilebert_cli`: the `keras-mobilebert` command."""

import sys

from keras_mobilebert_cli.main import main

sys.exit(main())
