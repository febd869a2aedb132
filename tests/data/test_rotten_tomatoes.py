import numpy as np
import pytest

from keras_mobilebert.data import load_rotten_tomatoes
from keras_mobilebert.data.rotten_tomatoes import read_polarity_csv
from keras_mobilebert.data.rotten_tomatoes import stratified_split


def test_read_polarity_csv(tmp_path):
    path = tmp_path / "polarity.csv"
    path.write_text(
        '\ufeff"1","a fine , funny film . "\n"-1","dull ""and"" long"\n',
        encoding="utf-8",
    )
    texts, labels = read_polarity_csv(path)
    assert texts == ["a fine , funny film .", 'dull "and" long']
    np.testing.assert_array_equal(labels, [1, 0])


def test_read_polarity_csv_rejects_bad_rows(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text('"1","ok"\n"2","what"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="row 2"):
        read_polarity_csv(path)


def test_stratified_split_is_deterministic_complete_and_balanced():
    labels = np.array([0] * 50 + [1] * 30)
    train, test = stratified_split(labels, 0.2, seed=0)
    again_train, again_test = stratified_split(labels, 0.2, seed=0)
    np.testing.assert_array_equal(train, again_train)
    np.testing.assert_array_equal(test, again_test)
    assert set(train) | set(test) == set(range(80))
    assert not set(train) & set(test)
    assert (labels[test] == 0).sum() == 10 and (labels[test] == 1).sum() == 6
    other_train, _ = stratified_split(labels, 0.2, seed=1)
    assert not np.array_equal(train, other_train)


def test_load_rotten_tomatoes_real_data():
    texts, labels = load_rotten_tomatoes("all")
    assert len(texts) == 4000
    assert labels.sum() == 2000
    train_texts, train_labels = load_rotten_tomatoes("train")
    test_texts, test_labels = load_rotten_tomatoes("test")
    assert len(train_texts) == 3200 and len(test_texts) == 800
    assert train_labels.sum() == 1600 and test_labels.sum() == 400
    assert not set(train_texts) & set(test_texts) - {""}
    assert all(isinstance(t, str) and t for t in texts)
    with pytest.raises(ValueError, match="Unknown split 'dev'"):
        load_rotten_tomatoes("dev")
