"""Ratios between the benchmark's rows, each over a reference row.

Every ratio comes from `latency.round_ratio`: the two rows were timed in
the same interleaved rounds, so the ratio of each round's times cancels
the machine's load, which shifts both alike.
"""

from keras_mobilebert.export import benchmark_report
from keras_mobilebert.export import latency

# The row every other row of its shape is divided by.
BASELINE = ("bert_base", "litert float32")
# The runtime of rows timing another LiteRT file (`compare`).
COMPARED = "litert (compared)"


def ratio_rows(rows, times, per_round):
    """Each row's latency over the baseline's of its shape, per round."""
    baselines = {
        r["shape"]: r["key"]
        for r in rows
        if (r["model"], r["runtime"]) == BASELINE
    }
    for r in rows:
        base = baselines.get(r["shape"])
        r["ratio"] = (
            latency.round_ratio(times, r["key"], base, per_round)[
                "median_per_round"
            ]
            if base
            else None
        )


def comparison(rows, times, per_round, model):
    """Compared files and our LiteRT files over our dynamic-range file.

    Args:
        rows: benchmark rows.
        times: the `interleave` result the rows come from.
        per_round: int.
        model: our model whose files are the reference (the first one).

    Returns:
        A list of dicts: `model`, `runtime`, `reference`,
        `median_per_round`, `of_medians`; empty without compared rows.

    Example:
    ```python
    for c in comparison(rows, times, 1, "mobilebert"):
        print(c["model"], c["median_per_round"])
    ```
    """
    compared = [r for r in rows if r["runtime"] == COMPARED]
    if not compared:
        return []
    shape = compared[0]["shape"]
    ours = [
        r
        for r in rows
        if r["shape"] == shape
        and r["model"] == model
        and r["runtime"].startswith("litert ")
    ]
    if not ours:
        return []
    reference = next(
        (r for r in ours if r["runtime"] == "litert dynamic"), ours[0]
    )
    return [
        {
            "model": r["model"],
            "runtime": r["runtime"],
            "reference": f"{model} {reference['runtime']}",
            **latency.round_ratio(times, r["key"], reference["key"], per_round),
        }
        for r in compared + ours
    ]


def targets(rows, times, per_round):
    """Issue 14's target ratios (`benchmark_report.TARGETS`) per shape.

    Args:
        rows: benchmark rows (with `key`, `shape`, `model`, `runtime`,
            `median_ms`).
        times: the `interleave` result the rows come from.
        per_round: int.

    Returns:
        A list of dicts: `shape`, `target`, `bound`, `direction`,
        `of_medians`, `median_per_round`, `met`. Targets whose rows were
        not timed are left out.

    Example:
    ```python
    for t in targets(rows, times, 1):
        print(t["target"], t["median_per_round"], t["met"])
    ```
    """
    found = []
    for shape in dict.fromkeys(r["shape"] for r in rows):
        in_shape = [r for r in rows if r["shape"] == shape]

        def key_of(model, runtime, in_shape=in_shape):
            if runtime == "best litert":
                files = [
                    r
                    for r in in_shape
                    if r["model"] == model and r["runtime"].startswith("litert")
                ]
                best = min(files, key=lambda r: r["median_ms"], default=None)
                return best and best["key"]
            match = [
                r["key"]
                for r in in_shape
                if (r["model"], r["runtime"]) == (model, runtime)
            ]
            return match[0] if match else None

        for name, num, den, bound, direction in benchmark_report.TARGETS:
            a, b = key_of(*num), key_of(*den)
            if not a or not b:
                continue
            ratio = latency.round_ratio(times, a, b, per_round)
            value = ratio["median_per_round"]
            found.append(
                {
                    "shape": shape,
                    "target": name,
                    "bound": bound,
                    "direction": direction,
                    **ratio,
                    "met": value >= bound
                    if direction == ">="
                    else value <= bound,
                }
            )
    return found
