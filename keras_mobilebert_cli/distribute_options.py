"""`--distribute` and `--cluster-timeout`, shared by the training commands.

`distill`, `distill-task`, `finetune` and `finetune-squad` take the same
two options; the jobs build the strategy from them
(`keras_mobilebert.utils.distribute`), and a peer that dies under
`multi_worker_mirrored` ends the command with one line
(`run_in_cluster`).
"""

# keras_mobilebert.utils.distribute.DISTRIBUTE_STRATEGIES, spelled out:
# building the parser must not import TensorFlow (tests/test_cli.py keeps
# the two equal).
DISTRIBUTE_STRATEGIES = ("none", "mirrored", "multi_worker_mirrored", "tpu")
# keras_mobilebert.utils.distribute.DEFAULT_CLUSTER_TIMEOUT
DEFAULT_CLUSTER_TIMEOUT = 300


def add_distribute_arguments(parser, default=None, cluster_timeout=None):
    """Add `--distribute` and `--cluster-timeout` to an argparse parser.

    Args:
        parser: an argparse parser.
        default: the `--distribute` default (None: the job's config
            decides, `"none"` unless it says otherwise).
        cluster_timeout: the `--cluster-timeout` default (None: the
            config's, else `DEFAULT_CLUSTER_TIMEOUT`).

    Example:
    ```python
    add_distribute_arguments(parser)
    ```
    """
    parser.add_argument(
        "--distribute",
        default=default,
        choices=DISTRIBUTE_STRATEGIES,
        help="tf.distribute strategy (multi-worker reads TF_CONFIG; TPU "
        "resolves the TPU from the environment); default none",
    )
    parser.add_argument(
        "--cluster-timeout",
        type=float,
        default=cluster_timeout,
        help="multi-worker: seconds to wait for every task to join, and "
        "about how long a task that died takes to stop the others with "
        f"an error naming it; default {DEFAULT_CLUSTER_TIMEOUT}",
    )


def set_cluster_timeout(config, args):
    """Put `--cluster-timeout`, if given, in a job config (changed in
    place); `utils.distribute.config_strategy` reads it."""
    if args.cluster_timeout is not None:
        config["cluster_timeout"] = args.cluster_timeout


def run_in_cluster(function, *args, **kwargs):
    """`function(*args, **kwargs)`, a dead peer of a multi-worker job
    turned into one line (`utils.distribute.cluster_errors`).

    Example:
    ```python
    results = run_in_cluster(run_finetune, config, "runs/demo")
    ```
    """
    from keras_mobilebert.utils.distribute import cluster_errors

    with cluster_errors():
        return function(*args, **kwargs)
