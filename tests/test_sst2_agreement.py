"""tools/sst2_agreement.py: accuracy and teacher agreement by length."""

import json

import numpy as np
import pytest

from tests.finetune import glue_tiny
from tools import sst2_agreement


def test_the_report_counts_by_length():
    texts = ["a b", "a b c", "w" * 12, " ".join(["w"] * 12)]
    texts += [" ".join(["w"] * 21), " ".join(["w"] * 30)]
    labels = [0, 1, 0, 1, 0, 1]
    teacher = [0, 1, 1, 1, 0, 0]
    student = [0, 0, 1, 1, 1, 0]
    report = sst2_agreement.agreement_report(
        texts, labels, teacher, {"s": student}
    )
    # "w" * 12 is one word: three texts of <=10 words, one of 11-20.
    assert report["bucket_sizes"] == {"<=10": 3, "11-20": 1, ">20": 2}
    assert report["teacher"]["accuracy"] == pytest.approx(4 / 6)
    assert report["teacher"]["accuracy_by_length"] == {
        "<=10": pytest.approx(2 / 3),
        "11-20": 1.0,
        ">20": 0.5,
    }
    s = report["s"]
    assert s["accuracy"] == pytest.approx(2 / 6)
    assert s["agreement"] == pytest.approx(4 / 6)
    assert s["agreement_by_length"] == {
        "<=10": pytest.approx(2 / 3),
        "11-20": 1.0,
        ">20": 0.5,
    }
    assert s["accuracy_by_length"]["<=10"] == pytest.approx(1 / 3)
    short = sst2_agreement.agreement_report(["a"], [1], [1], {"s": [1]})
    assert short["s"]["agreement_by_length"] == {
        "<=10": 1.0,
        "11-20": None,
        ">20": None,
    }
    with pytest.raises(ValueError, match="'s' gave 1 predictions for 2"):
        sst2_agreement.agreement_report(["a", "b"], [0, 1], [0, 1], {"s": [0]})


def test_a_student_equal_to_its_teacher_agrees_everywhere(tmp_path):
    data = tmp_path / "sst2"
    glue_tiny.write_split(data, "sst2", "train", 24)
    words = glue_tiny.WORDS
    dev = [" ".join(words[i % 12] for i in range(n)) for n in (3, 14, 25)] * 3
    raw = ["0", "1", "1"] * 3
    glue_tiny.write_split(data, "sst2", "validation", 0, rows=([dev], raw))
    teacher = glue_tiny.teacher_preset(tmp_path / "teacher")
    other = glue_tiny.teacher_preset(tmp_path / "other")
    output = tmp_path / "report.json"
    argv = ["--data-dir", str(data), "--teacher", teacher]
    argv += ["--student", f"same={teacher}", "--student", f"other={other}"]
    argv += ["--train-sample", "10", "--output", str(output)]
    assert sst2_agreement.main(argv) == 0
    report = json.loads(output.read_text())
    assert report["dev"]["bucket_sizes"] == {"<=10": 3, "11-20": 3, ">20": 3}
    assert report["train_sample"]["count"] == 10
    for split in ("dev", "train_sample"):
        same = report[split]["same"]
        assert same["agreement"] == 1.0
        assert same["accuracy"] == report[split]["teacher"]["accuracy"]
    assert set(report["dev"]["same"]["agreement_by_length"].values()) == {1.0}
    assert 0.0 <= report["dev"]["other"]["agreement"] <= 1.0


def test_bad_arguments_are_named(tmp_path):
    base = ["--data-dir", str(tmp_path), "--teacher", str(tmp_path)]
    with pytest.raises(SystemExit, match="NAME=PRESET_DIR; received 'x'"):
        sst2_agreement.main(base + ["--student", "x"])
    with pytest.raises(SystemExit, match="at least one --student"):
        sst2_agreement.main(base)
    with pytest.raises(SystemExit, match="rte is a sentence-pair task"):
        sst2_agreement.main(base + ["--task", "rte", "--student", "s=p"])
    (tmp_path / "student").mkdir()
    with pytest.raises(SystemExit, match=r"teacher: .*\(no task\.json\)"):
        sst2_agreement.main(base + ["--student", "s=p"])
    (tmp_path / "task.json").write_text("{}")
    (tmp_path / "student" / "config.json").write_text("{}")  # a backbone
    with pytest.raises(SystemExit, match="s: .*student is not a text-class"):
        sst2_agreement.main(base + ["--student", f"s={tmp_path / 'student'}"])
    with pytest.raises(SystemExit, match="s: no such preset folder: .*gone"):
        sst2_agreement.main(base + ["--student", f"s={tmp_path / 'gone'}"])
    assert np.all(
        sst2_agreement.length_masks(["a", "b c"])["<=10"] == [True, True]
    )
