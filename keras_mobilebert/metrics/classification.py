"""Per-class report of a classifier, and the TF-IDF baseline beside it.

`classification_report` is what the jobs on a user's labelled file, and
`keras-mobilebert evaluate`, write to `results.json`: accuracy, macro-F1,
per-class precision / recall / F1 / support and the confusion matrix
(scikit-learn's definitions and code). `tfidf_baseline` fits TF-IDF word
1-2 grams with logistic regression on the same training text: the row a
user checks first, to see whether a transformer earns its cost.
"""

import numpy as np


def macro_f1(predictions, labels):
    """Unweighted mean of the per-class F1 (scikit-learn's `"macro"`).

    Classes absent from both `labels` and `predictions` are not counted;
    use `classification_report` for a fixed class list.

    Example:
    ```python
    macro_f1([0, 1, 1], [0, 1, 0])  # 0.666...
    ```
    """
    from sklearn.metrics import f1_score

    return float(
        f1_score(
            np.asarray(labels),
            np.asarray(predictions),
            average="macro",
            zero_division=0,
        )
    )


def classification_report(scores, labels, label_names):
    """The report of a classifier's scores on labelled examples.

    Args:
        scores: `(n, classes)` logits or probabilities, or `(n,)` ids.
        labels: `(n,)` int class ids.
        label_names: sequence of strings, one per class id.

    Returns:
        A dict: `accuracy`, `macro_f1`, `per_class` (`{name: {precision,
        recall, f1, support}}` in class-id order), `confusion_matrix`
        (rows: true class, columns: predicted, in class-id order),
        `label_names` and `examples`.

    Example:
    ```python
    report = classification_report(logits, dev.labels, dev.label_names)
    report["per_class"]["billing"]["recall"]
    ```
    """
    from sklearn.metrics import confusion_matrix
    from sklearn.metrics import precision_recall_fscore_support

    scores = np.asarray(scores)
    predictions = scores.argmax(-1) if scores.ndim == 2 else scores
    labels = np.asarray(labels)
    if len(predictions) != len(labels) or len(labels) == 0:
        raise ValueError(
            f"{len(predictions)} predictions for {len(labels)} labels."
        )
    classes = list(range(len(label_names)))
    precision, recall, f1, support = precision_recall_fscore_support(
        labels, predictions, labels=classes, zero_division=0
    )
    per_class = {
        name: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, name in enumerate(label_names)
    }
    matrix = confusion_matrix(labels, predictions, labels=classes)
    return {
        "accuracy": float(np.mean(predictions == labels)),
        "macro_f1": float(np.mean(f1)),
        "per_class": per_class,
        "confusion_matrix": matrix.tolist(),
        "label_names": list(label_names),
        "examples": int(len(labels)),
    }


def format_report(report, title=""):
    """The report as a text table (one row per class), for the console.

    Example:
    ```python
    print(format_report(report, "validation"))
    ```
    """
    width = max([len(n) for n in report["label_names"]] + [5])
    lines = [
        f"{title} accuracy {report['accuracy']:.4f}, macro-F1 "
        f"{report['macro_f1']:.4f} on {report['examples']} examples",
        f"{'class':<{width}}  precision  recall      f1  support",
    ]
    for name, row in report["per_class"].items():
        lines.append(
            f"{name:<{width}}  {row['precision']:9.4f}  {row['recall']:6.4f}"
            f"  {row['f1']:6.4f}  {row['support']:7d}"
        )
    return "\n".join(lines)


def tfidf_baseline(train_texts, train_labels, eval_texts, eval_labels):
    """Accuracy of TF-IDF (word 1-2 grams) + logistic regression.

    Sublinear term frequency and C = 4: on SST-2 this gives the data
    README's row (0.822), where scikit-learn's defaults give 0.806. A
    sentence pair is joined into one text.

    Args:
        train_texts: list of strings, or a tuple of two lists (pairs).
        train_labels: int class ids.
        eval_texts: as `train_texts`.
        eval_labels: int class ids.

    Returns:
        A dict: `accuracy`, `macro_f1`, `train_size`, `eval_size`.

    Example:
    ```python
    tfidf_baseline(train.features, train.labels, dev.features, dev.labels)
    ```
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    def joined(texts):
        if isinstance(texts, tuple):
            return [" ".join(pair) for pair in zip(*texts)]
        return list(texts)

    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    features = vectorizer.fit_transform(joined(train_texts))
    model = LogisticRegression(C=4.0, max_iter=3000)
    model.fit(features, np.asarray(train_labels))
    predicted = model.predict(vectorizer.transform(joined(eval_texts)))
    eval_labels = np.asarray(eval_labels)
    return {
        "accuracy": float(np.mean(predicted == eval_labels)),
        "macro_f1": macro_f1(predicted, eval_labels),
        "train_size": len(np.asarray(train_labels)),
        "eval_size": len(eval_labels),
    }
