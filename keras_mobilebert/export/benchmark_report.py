"""The benchmark's output: Markdown tables, a CSV, a PNG, the targets.

Everything here formats numbers `keras_mobilebert.export.benchmark`
measured in one interleaved run; nothing is timed here.
"""

import csv
import os
import platform
import time

from keras_mobilebert.utils.files import atomic_path

# Issue 14's targets, as (name, numerator row, denominator row, bound,
# direction). A row is (model, runtime); "best litert" is the fastest
# LiteRT file of the model in the same shape.
TARGETS = (
    (
        "BERT-base / MobileBERT, LiteRT float32",
        ("bert_base", "litert float32"),
        ("mobilebert", "litert float32"),
        4.0,
        ">=",
    ),
    (
        "BERT-base / MobileBERT, LiteRT dynamic",
        ("bert_base", "litert dynamic"),
        ("mobilebert", "litert dynamic"),
        4.0,
        ">=",
    ),
    (
        "ONNX Runtime dynamic int8 / best MobileBERT LiteRT file",
        ("mobilebert", "onnxruntime dynamic int8"),
        ("mobilebert", "best litert"),
        3.0,
        ">=",
    ),
    (
        "MobileBERT LiteRT int8 / dynamic",
        ("mobilebert", "litert int8"),
        ("mobilebert", "litert dynamic"),
        1.1,
        "<=",
    ),
    (
        "MobileBERT LiteRT int8 / float32",
        ("mobilebert", "litert int8"),
        ("mobilebert", "litert float32"),
        1.0,
        "<=",
    ),
)


def machine_state():
    """CPU, cores and load average, for the report's header.

    Example:
    ```python
    machine_state()["load_average"]
    ```
    """
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            names = [line for line in f if line.startswith("model name")]
        if names:
            cpu = names[0].split(":", 1)[1].strip()
    except OSError:
        pass
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def format_rows(rows):
    """A Markdown table of latency rows (one shape or several).

    Example:
    ```python
    print(format_rows(rows))
    ```
    """
    lines = [
        "| shape | model | runtime | median ms | p10-p90 ms "
        "| vs BERT-base LiteRT fp32 | file MiB | peak MiB | rel. error |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:

        def number(key, spec, row=r):
            value = row.get(key)
            return "-" if value is None else format(value, spec)

        lines.append(
            f"| {r['shape']} | {r['model']} | {r['runtime']} "
            f"| {r['median_ms']:.1f} | {r['p10_ms']:.1f}-{r['p90_ms']:.1f} "
            f"| {number('ratio', '.2f')} | {number('file_mib', '.1f')} "
            f"| {number('peak_memory_mib', '.0f')} "
            f"| {number('relative_error', '.2g')} |"
        )
    return "\n".join(lines)


def format_targets(targets):
    """A Markdown table of `TARGETS` results (`benchmark_ratios.targets`)."""
    lines = [
        "| shape | target | ratio (median per round) | of medians | met |",
        "|---|---|---|---|---|",
    ]
    for t in targets:
        lines.append(
            f"| {t['shape']} | {t['target']} {t['direction']} {t['bound']:g} "
            f"| {t['median_per_round']:.2f} | {t['of_medians']:.2f} "
            f"| {'yes' if t['met'] else 'no'} |"
        )
    return "\n".join(lines)


def format_finetune(finetune, settings):
    """A Markdown table of the fine-tuning throughput rows."""
    lines = [
        f"Fine-tuning, {settings['finetune_layers']} layers, batch "
        f"{settings['finetune_batch_size']}, sequence "
        f"{settings['sequence_length']} (random two-class data):",
        "",
        "| trainer | examples/s | median step s | p10-p90 s | steps |",
        "|---|---|---|---|---|",
    ]
    names = {"keras": "keras_mobilebert fit", "torch": "HF PyTorch step"}
    for name, r in finetune.items():
        if not isinstance(r, dict):
            continue
        lines.append(
            f"| {names.get(name, name)} | {r['examples_per_second']:.2f} "
            f"| {r['median_ms'] / 1000:.2f} "
            f"| {r['p10_ms'] / 1000:.2f}-{r['p90_ms'] / 1000:.2f} "
            f"| {r['runs']} |"
        )
    if "keras_over_torch" in finetune:
        lines += [
            "",
            "keras_mobilebert / HF PyTorch examples per second: "
            f"{finetune['keras_over_torch']:.2f}",
        ]
    return "\n".join(lines)


def format_comparison(compared):
    """A Markdown table of compared files over our dynamic-range file."""
    reference = compared[0]["reference"]
    lines = [
        f"| file | vs {reference} (median per round) | of medians |",
        "|---|---|---|",
    ]
    for c in compared:
        name = c["model"]
        if c["runtime"] != "litert (compared)":
            name = f"ours, {c['model']} {c['runtime']}"
        lines.append(
            f"| {name} | {c['median_per_round']:.2f} | {c['of_medians']:.2f} |"
        )
    return "\n".join(lines)


def format_report(rows, targets, finetune, settings, notes=(), comparison=()):
    """The whole `benchmark.md`: header, latency rows, targets, fine-tuning.

    Example:
    ```python
    text = format_report(rows, targets, finetune, settings)
    ```
    """
    before = settings["machine_before"]
    after = settings.get("machine_after", before)
    parts = [
        f"# keras-mobilebert benchmark, {before['date']}",
        "",
        f"{before['cpu']}, {before['cores']} cores; load average "
        f"{before['load_average']} before, {after['load_average']} after. "
        f"Batch 1, {settings['num_threads']} threads, {settings['rounds']} "
        f"interleaved rounds x {settings['per_round']} runs (random order "
        "each round, spinning threads off), random weights (MobileBERT "
        "NoNorms trained-like).",
        "",
        format_rows(rows),
    ]
    if comparison:
        parts += ["", format_comparison(comparison)]
    if targets:
        parts += ["", format_targets(targets)]
    if finetune:
        parts += ["", format_finetune(finetune, settings)]
    if notes:
        parts += [""] + [f"- {note}" for note in notes]
    return "\n".join(parts) + "\n"


def write_csv(rows, path):
    """All rows, all fields, atomically."""
    fields = sorted({k for r in rows for k in r})
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)


def plot(rows, path):
    """Bars of median latency (p10-p90 whiskers), one per row, as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r['shape']}\n{r['model']}\n{r['runtime']}" for r in rows]
    medians = [r["median_ms"] for r in rows]
    errors = [
        [r["median_ms"] - r["p10_ms"] for r in rows],
        [r["p90_ms"] - r["median_ms"] for r in rows],
    ]
    fig, ax = plt.subplots(figsize=(max(8, len(rows) * 0.7), 5.5))
    ax.bar(range(len(rows)), medians, yerr=errors, capsize=3)
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels(labels, rotation=70, ha="right", fontsize=7)
    ax.set_yscale("log")
    ax.set_ylabel("latency, ms (median, p10-p90; log scale)")
    ax.set_title("batch 1 latency, one interleaved run")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
