"""GLUE readers: the real file formats, errors, URLs, the real SST-2."""

import sys
import types
import zipfile

import numpy as np
import pytest

from keras_mobilebert.data import downloads
from keras_mobilebert.data.glue import GlueFormatError
from keras_mobilebert.data.glue import load_glue
from keras_mobilebert.data.glue_tasks import TASKS
from keras_mobilebert.data.glue_tasks import glue_task
from keras_mobilebert.data.glue_tfds import load_glue_tfds
from keras_mobilebert.utils.errors import UnreachableSourceError
from tests.shared_data import shared_data_file

T = "\t"
MNLI_PREFIX = (
    "index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\t"
    "sentence2_binary_parse\tsentence1_parse\tsentence2_parse\t"
    "sentence1\tsentence2"
)
STSB_PREFIX = (
    "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\t"
    "sentence1\tsentence2"
)
MRPC_TAIL = "#1 ID\t#2 ID\t#1 String\t#2 String"
PARSE = "( ( The cat ) ( sat ) )"


def mnli_row(index, s1, s2, labels):
    return T.join(
        [str(index), "31193", f"{index}n", "government", PARSE, PARSE]
        + [PARSE, PARSE, s1, s2]
        + list(labels)
    )


# Task, split, file lines (real headers, real-looking rows), and what
# must come back: segments, labels.
CASES = [
    (
        "sst2",
        "train",
        [
            "sentence\tlabel",
            "hide new secretions from the parental units \t0",
            "that loves its characters \t1",
        ],
        (
            [
                "hide new secretions from the parental units ",
                "that loves its characters ",
            ],
        ),
        [0, 1],
    ),
    (
        "sst2",
        "test",
        ["index\tsentence", "0\tuneasy mishmash of styles and genres ."],
        (["uneasy mishmash of styles and genres ."],),
        None,
    ),
    (
        "cola",
        "train",
        [
            "gj04\t1\t\tOur friends won't buy this analysis.",
            "gj04\t0\t*\tOne more pseudo generalization and I'm giving up.",
        ],
        (
            [
                "Our friends won't buy this analysis.",
                "One more pseudo generalization and I'm giving up.",
            ],
        ),
        [1, 0],
    ),
    (
        "cola",
        "validation",
        ["gj04\t1\t\tThe sailors rode the breeze clear of the rocks."],
        (["The sailors rode the breeze clear of the rocks."],),
        [1],
    ),
    (
        "cola",
        "test",
        ["index\tsentence", "0\tBill whistled past the house."],
        (["Bill whistled past the house."],),
        None,
    ),
    (
        "mrpc",
        "train",
        [
            "\ufeffQuality\t" + MRPC_TAIL,
            "1\t702876\t702977\tAmrozi accused his brother .\t"
            "Referring to him , Amrozi accused his brother .",
            "0\t2108705\t2108831\tYucaipa owned Dominick 's .\t"
            "Yucaipa bought Dominick 's in 1995 .",
        ],
        (
            ["Amrozi accused his brother .", "Yucaipa owned Dominick 's ."],
            [
                "Referring to him , Amrozi accused his brother .",
                "Yucaipa bought Dominick 's in 1995 .",
            ],
        ),
        [1, 0],
    ),
    (
        "mrpc",
        "test",
        [
            "index\t" + MRPC_TAIL,
            "0\t1089874\t1089925\tPCCW 's chief will leave .\t"
            "The head of PCCW will leave .",
        ],
        (["PCCW 's chief will leave ."], ["The head of PCCW will leave ."]),
        None,
    ),
    (
        "qqp",
        "validation",
        [
            "id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate",
            "201359\t303345\t303346\tWhy are African-Americans so "
            "beautiful?\tWhy are hispanics so beautiful?\t0",
        ],
        (
            ["Why are African-Americans so beautiful?"],
            ["Why are hispanics so beautiful?"],
        ),
        [0],
    ),
    (
        "qqp",
        "test",
        [
            "id\tquestion1\tquestion2",
            "0\tWould the idea of Trump work?\tWould Trump win?",
        ],
        (["Would the idea of Trump work?"], ["Would Trump win?"]),
        None,
    ),
    (
        "stsb",
        "train",
        [
            STSB_PREFIX + "\tscore",
            "0\tmain-captions\tMSRvid\t2012test\t0001\tnone\tnone\t"
            "A plane is taking off.\tAn air plane is taking off.\t5.000",
            "1\tmain-captions\tMSRvid\t2012test\t0004\tnone\tnone\t"
            "A man is playing a flute.\tA man is eating.\t0.500",
        ],
        (
            ["A plane is taking off.", "A man is playing a flute."],
            ["An air plane is taking off.", "A man is eating."],
        ),
        [5.0, 0.5],
    ),
    (
        "stsb",
        "test",
        [
            STSB_PREFIX,
            "0\tmain-captions\tMSRvid\t2012test\t0024\tnone\tnone\t"
            "A girl is styling her hair.\tA girl is brushing her hair.",
        ],
        (["A girl is styling her hair."], ["A girl is brushing her hair."]),
        None,
    ),
    (
        "mnli",
        "train",
        [
            MNLI_PREFIX + "\tlabel1\tgold_label",
            mnli_row(
                0,
                "Conceptually cream skimming has two dimensions .",
                "Product and geography are what make it work .",
                ["neutral", "neutral"],
            ),
            mnli_row(
                1,
                "you know during the season",
                "You lose the things",
                ["entailment", "entailment"],
            ),
        ],
        (
            [
                "Conceptually cream skimming has two dimensions .",
                "you know during the season",
            ],
            [
                "Product and geography are what make it work .",
                "You lose the things",
            ],
        ),
        [1, 0],
    ),
    (
        "mnli",
        "validation_matched",
        [
            MNLI_PREFIX + "\tlabel1\tlabel2\tlabel3\tlabel4\tlabel5"
            "\tgold_label",
            mnli_row(
                0,
                "The new rights are nice enough",
                "Everyone really likes the newest benefits ",
                [
                    "neutral",
                    "entailment",
                    "neutral",
                    "neutral",
                    "neutral",
                    "neutral",
                ],
            ),
        ],
        (
            ["The new rights are nice enough"],
            ["Everyone really likes the newest benefits "],
        ),
        [1],
    ),
    (
        "mnli",
        "validation_mismatched",
        [
            MNLI_PREFIX + "\tlabel1\tlabel2\tlabel3\tlabel4\tlabel5"
            "\tgold_label",
            mnli_row(
                0,
                "Your contribution helped make it possible .",
                "Your contributions were of no help .",
                ["contradiction"] * 6,
            ),
        ],
        (
            ["Your contribution helped make it possible ."],
            ["Your contributions were of no help ."],
        ),
        [2],
    ),
    (
        "mnli",
        "test_matched",
        [
            MNLI_PREFIX,
            mnli_row(
                0, "Hierbas is a sweet liqueur .", "There is a liqueur .", []
            ),
        ],
        (["Hierbas is a sweet liqueur ."], ["There is a liqueur ."]),
        None,
    ),
    (
        "qnli",
        "train",
        [
            "index\tquestion\tsentence\tlabel",
            "0\tWhen did the third Digimon series begin?\tUnlike the two "
            "seasons before it, the series is darker.\tnot_entailment",
        ],
        (
            ["When did the third Digimon series begin?"],
            ["Unlike the two seasons before it, the series is darker."],
        ),
        [1],
    ),
    (
        "qnli",
        "test",
        [
            "index\tquestion\tsentence",
            "0\tWhat organization is devoted to Jihad?\tFor some decades "
            "prior to the First Palestine Intifada, the Brotherhood grew.",
        ],
        (
            ["What organization is devoted to Jihad?"],
            [
                "For some decades prior to the First Palestine Intifada, the "
                "Brotherhood grew."
            ],
        ),
        None,
    ),
    (
        "rte",
        "test",
        [
            "index\tsentence1\tsentence2",
            "0\tMexico City has a very bad pollution problem.\tMexico City "
            "is in a valley.",
        ],
        (
            ["Mexico City has a very bad pollution problem."],
            ["Mexico City is in a valley."],
        ),
        None,
    ),
    (
        "rte",
        "validation",
        [
            "index\tsentence1\tsentence2\tlabel",
            "0\tDana Reeve died of lung cancer.\tChristopher Reeve had an "
            "accident.\tnot_entailment",
            "1\tYet, we now are discovering that antibiotics are losing "
            "their effectiveness.\tBacteria is winning the war.\tentailment",
        ],
        (
            [
                "Dana Reeve died of lung cancer.",
                "Yet, we now are discovering that antibiotics are losing their "
                "effectiveness.",
            ],
            [
                "Christopher Reeve had an accident.",
                "Bacteria is winning the war.",
            ],
        ),
        [1, 0],
    ),
    (
        "wnli",
        "train",
        [
            "index\tsentence1\tsentence2\tlabel",
            "0\tI stuck a pin through a carrot. When I pulled the pin out, "
            "it had a hole.\tThe carrot had a hole.\t1",
        ],
        (
            [
                "I stuck a pin through a carrot. When I pulled the pin out, it "
                "had a hole."
            ],
            ["The carrot had a hole."],
        ),
        [1],
    ),
    (
        "wnli",
        "test",
        [
            "index\tsentence1\tsentence2",
            "0\tMaude and Dora had seen the trains.\tHorses had seen them.",
        ],
        (["Maude and Dora had seen the trains."], ["Horses had seen them."]),
        None,
    ),
]


def write(tmp_path, task, split, lines):
    spec = glue_task(task)
    folder = tmp_path / spec.folder
    folder.mkdir(exist_ok=True)
    path = folder / spec.files[split].name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "task,split,lines,segments,labels",
    CASES,
    ids=[f"{c[0]}-{c[1]}" for c in CASES],
)
def test_reads_each_official_format(
    tmp_path, task, split, lines, segments, labels
):
    path = write(tmp_path, task, split, lines)
    # The file, its task folder, and GLUE's data folder above it all work.
    for source in (path, path.parent, tmp_path):
        result = load_glue(task, split, source)
        assert result.segments == segments
        assert len(result) == len(segments[0])
        if labels is None:
            assert result.labels is None
        else:
            np.testing.assert_allclose(result.labels, labels)
            kind = "f" if glue_task(task).is_regression else "i"
            assert result.labels.dtype.kind == kind
        assert result.label_names == glue_task(task).label_names
    single = len(segments) == 1
    assert result.features == (segments[0] if single else segments)


def test_every_task_and_split_has_a_case():
    covered = {(c[0], c[1]) for c in CASES}
    for name in TASKS:
        # Every file kind appears (validation shares train's format except
        # CoLA, covered both; mismatched test shares matched's).
        assert (name, "train") in covered or (name, "validation") in covered
        assert any(c[0] == name and "test" in c[1] for c in CASES)
    assert len(TASKS) == 9


def test_label_names_and_values():
    assert glue_task("MNLI").label_names == (
        "entailment",
        "neutral",
        "contradiction",
    )
    assert glue_task("sts-b").is_regression
    assert glue_task("QNLI").label_names == ("entailment", "not_entailment")
    assert glue_task("wnli").label_names == ("not_entailment", "entailment")
    with pytest.raises(ValueError, match="Unknown GLUE task 'sst5'"):
        glue_task("sst5")


@pytest.mark.parametrize(
    "task,split,lines,message",
    [
        (
            "sst2",
            "train",
            ["sentence\tlabel", "a fine film\t1", "a dull film\t0\textra"],
            r"train.tsv, line 3: expected 2 tab-separated fields "
            r"\['sentence', 'label'\], found 3",
        ),
        (
            "sst2",
            "train",
            ["sentence\tlabel", "a fine film\t2"],
            r"train.tsv, line 2, field 'label': label '2' is not one of "
            r"\['0', '1'\]",
        ),
        (
            "sst2",
            "validation",
            ["sentence\tlabel", "a fine film\t1", "  \t0"],
            r"dev.tsv, line 3, field 'sentence': the sentence is empty",
        ),
        (
            "sst2",
            "train",
            ["index\tsentence", "0\ta fine film"],
            r"train.tsv, line 1: expected the sst2 train header",
        ),
        (
            "cola",
            "train",
            ["gj04\t1\t\tfine.", "gj04\tyes\t\tnot fine."],
            r"line 2, field 'label': label 'yes'",
        ),
        (
            "cola",
            "train",
            ["gj04\t1\tfine."],
            r"line 1: expected 4 tab-separated fields",
        ),
        (
            "stsb",
            "validation",
            [
                STSB_PREFIX + "\tscore",
                "0\tg\tf\ty\t1\tn\tn\tA cat.\tA dog.\t5.5",
            ],
            r"dev.tsv, line 2, field 'score': score '5.5' is not a number "
            r"in \[0, 5\]",
        ),
        (
            "mnli",
            "train",
            [
                MNLI_PREFIX + "\tlabel1\tgold_label",
                mnli_row(0, "A premise .", "", ["neutral", "neutral"]),
            ],
            r"line 2, field 'sentence2': the sentence is empty",
        ),
        (
            "rte",
            "train",
            [
                "index\tsentence1\tsentence2\tlabel",
                "0\tA man.\tA person.\tneutral",
            ],
            r"field 'label': label 'neutral' is not one of "
            r"\['entailment', 'not_entailment'\]",
        ),
        (
            "qqp",
            "train",
            ["id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate"],
            r"no examples",
        ),
    ],
)
def test_bad_input_is_a_one_line_error(tmp_path, task, split, lines, message):
    path = write(tmp_path, task, split, lines)
    with pytest.raises(GlueFormatError, match=message) as info:
        load_glue(task, split, path)
    assert "\n" not in str(info.value)
    assert str(path) in str(info.value)


def test_zip_and_urls_are_read_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_MOBILEBERT_HOME", str(tmp_path / "cache"))
    lines = CASES[0][2]
    path = write(tmp_path, "sst2", "train", lines)
    archive = tmp_path / "SST-2.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(path, "SST-2/train.tsv")
    from_zip = load_glue("sst2", "train", archive)
    assert from_zip.segments == CASES[0][3]
    assert from_zip.source.endswith("SST-2.zip:SST-2/train.tsv")

    for local in (path, archive):
        url = local.as_uri()
        assert load_glue("sst2", "train", url).segments == CASES[0][3]
    cached = sorted((tmp_path / "cache" / "glue").iterdir())
    assert sorted(p.name.split("_", 1)[1] for p in cached) == [
        "SST-2.zip",
        "train.tsv",
    ]
    # A second read comes from the cache: the network is not touched.

    def no_network(url):
        raise AssertionError(f"downloaded {url} again")

    monkeypatch.setattr(downloads.urllib.request, "urlopen", no_network)
    assert load_glue("sst2", "train", archive.as_uri()).labels.tolist() == [
        0,
        1,
    ]


def test_a_failed_download_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_MOBILEBERT_HOME", str(tmp_path / "cache"))

    class Broken:
        def __enter__(self):
            return self

        def __exit__(self, *args):
            return False

        def read(self, *args):
            raise OSError("connection reset")

    monkeypatch.setattr(
        downloads.urllib.request, "urlopen", lambda url: Broken()
    )
    url = "https://example.org/glue/SST-2.zip"
    with pytest.raises(UnreachableSourceError, match="Could not download h"):
        load_glue("sst2", "train", url)
    assert list((tmp_path / "cache" / "glue").iterdir()) == []


def test_missing_files_name_what_was_looked_for(tmp_path):
    with pytest.raises(FileNotFoundError, match="RTE/dev.tsv"):
        load_glue("rte", "validation", tmp_path)
    with pytest.raises(ValueError, match="sst2 has no split 'dev'"):
        load_glue("sst2", "dev", tmp_path)


class FakeLabel:
    def __init__(self, names):
        self.names = names


def fake_tfds(examples, names):
    module = types.ModuleType("tensorflow_datasets")
    calls = []

    def load(name, split, data_dir, with_info):
        calls.append((name, split, data_dir))
        info = types.SimpleNamespace(features={"label": FakeLabel(names)})
        return examples, info

    module.load = load
    module.as_numpy = lambda dataset: iter(dataset)
    module.calls = calls
    return module


def test_tfds_examples_come_back_as_a_glue_split(monkeypatch):
    examples = [
        {
            "premise": b"A man sleeps.",
            "hypothesis": b"A man rests.",
            "label": 0,
            "idx": 0,
        },
        {
            "premise": b"A man sleeps.",
            "hypothesis": b"A man runs.",
            "label": 2,
            "idx": 1,
        },
    ]
    module = fake_tfds(examples, ["entailment", "neutral", "contradiction"])
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", module)
    result = load_glue_tfds("mnli", "validation_matched", data_dir="/d")
    assert module.calls == [("glue/mnli", "validation_matched", "/d")]
    assert result.segments == (
        ["A man sleeps.", "A man sleeps."],
        ["A man rests.", "A man runs."],
    )
    assert result.labels.tolist() == [0, 2]
    test = [dict(e, label=-1) for e in examples]
    monkeypatch.setitem(
        sys.modules,
        "tensorflow_datasets",
        fake_tfds(test, ["entailment", "neutral", "contradiction"]),
    )
    assert load_glue_tfds("mnli", "test_matched").labels is None


def test_tfds_errors(monkeypatch):
    empty = [{"sentence": b" ", "label": 1, "idx": 7}]
    monkeypatch.setitem(
        sys.modules, "tensorflow_datasets", fake_tfds(empty, ["n", "p"])
    )
    with pytest.raises(ValueError, match="labels are \\['n', 'p'\\]"):
        load_glue_tfds("sst2", "train")
    monkeypatch.setitem(
        sys.modules,
        "tensorflow_datasets",
        fake_tfds(empty, ["negative", "positive"]),
    )
    with pytest.raises(
        GlueFormatError, match="example 0 \\(idx 7\\), field 'sentence'"
    ):
        load_glue_tfds("sst2", "train")
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", None)
    with pytest.raises(ImportError, match="pip install tensorflow-datasets"):
        load_glue_tfds("sst2", "train")


def test_real_sst2_files():
    train = load_glue("sst2", "train", shared_data_file("sst2/train.tsv"))
    dev = load_glue("sst2", "validation", shared_data_file("sst2/dev.tsv"))
    assert len(train) == 67349 and len(dev) == 872
    assert np.bincount(train.labels).tolist() == [29780, 37569]
    assert np.bincount(dev.labels).tolist() == [428, 444]
    assert train.segments[0][0] == (
        "hide new secretions from the parental units "
    )
    assert dev.ids[0] == "2"  # line numbers: the header is line 1
