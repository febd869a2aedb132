"""Student word table from the teacher's: PCA against an independent SVD."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_mobilebert.distillation.checkpoints import load_npz
from keras_mobilebert.distillation.embedding_init import (
    init_student_embeddings_from_teacher,
)
from keras_mobilebert.distillation.embedding_init import principal_components
from keras_mobilebert.distillation.runner import DistillationRun
from keras_mobilebert.distillation.strategies import copy_from_teacher
from tests.distillation import tiny


def numpy_pca(table, k):
    """Reference: thin SVD of the centered table (not the Gram route)."""
    centered = table - table.mean(0)
    u, s, _ = np.linalg.svd(centered.astype("float64"), full_matrices=False)
    return u[:, :k] * s[:k], (s[:k] ** 2).sum() / (s**2).sum()


def align_signs(result, reference):
    signs = np.sign(np.sum(result * reference, axis=0))
    return result * signs


def test_principal_components_match_numpy_svd():
    rng = np.random.RandomState(0)
    # Distinct singular values, so each axis is defined up to its sign.
    table = rng.randn(tiny.VOCAB, 12) * np.linspace(3, 0.5, 12) + 2.0
    coordinates, explained = principal_components(table, 5)
    reference, reference_explained = numpy_pca(table, 5)
    np.testing.assert_allclose(
        align_signs(coordinates, reference), reference, atol=1e-9
    )
    np.testing.assert_allclose(explained, reference_explained, rtol=1e-9)
    # The sign convention: each axis's largest-magnitude entry is positive,
    # so the same table always gives the same coordinates.
    again, _ = principal_components(table.copy(), 5)
    np.testing.assert_array_equal(coordinates, again)
    # Without centering it is the plain truncated SVD.
    plain, _ = principal_components(table, 3, center=False)
    u, s, _ = np.linalg.svd(table, full_matrices=False)
    np.testing.assert_allclose(
        align_signs(plain, u[:, :3] * s[:3]), u[:, :3] * s[:3], atol=1e-9
    )
    with pytest.raises(ValueError, match="num_components"):
        principal_components(table, 13)


def test_init_student_embeddings_from_bert_teacher():
    keras.utils.set_random_seed(1)
    teacher = tiny.bert()
    student = tiny.student()  # 8-wide table, MLM head tied to it
    table = keras.ops.convert_to_numpy(teacher.token_embedding.embeddings.value)
    student_table = student.backbone.token_embedding.embeddings
    rms_before = np.sqrt(np.mean(np.square(student_table.numpy())))
    info = init_student_embeddings_from_teacher(student, teacher)
    result = student_table.numpy()
    reference, explained = numpy_pca(table, 8)
    # Same subspace and geometry up to one global scale and axis signs.
    scaled = align_signs(result, reference) / info["scale"]
    np.testing.assert_allclose(scaled, reference, atol=1e-5)
    np.testing.assert_allclose(info["explained_variance"], explained, 1e-6)
    # scale="student": the root mean square of the initialized table kept.
    np.testing.assert_allclose(
        np.sqrt(np.mean(np.square(result))), rms_before, rtol=1e-5
    )
    assert info["shape"] == [tiny.VOCAB, 8]
    # The tied MLM head reads the same table.
    mlm_table = student.masked_lm_head.token_embedding.embeddings
    np.testing.assert_array_equal(mlm_table.numpy(), result)

    init_student_embeddings_from_teacher(student, teacher, scale=0.5)
    np.testing.assert_allclose(
        np.sqrt(np.mean(np.square(student_table.numpy()))), 0.5, rtol=1e-5
    )


def test_init_student_embeddings_errors():
    student = tiny.student(with_heads=False)
    with pytest.raises(ValueError, match="method"):
        init_student_embeddings_from_teacher(student, tiny.bert(), "ica")
    with pytest.raises(ValueError, match="wider"):
        init_student_embeddings_from_teacher(student, tiny.bert(hidden_dim=4))
    other_vocabulary = tiny.bert(vocabulary_size=tiny.VOCAB + 1)
    with pytest.raises(ValueError, match="vocabularies differ"):
        init_student_embeddings_from_teacher(student, other_vocabulary)


@pytest.mark.parametrize("init_embeddings", ["auto", "none"])
def test_run_initializes_an_uncopyable_table(tmp_path, init_embeddings):
    keras.utils.set_random_seed(2)
    teacher = tiny.bert()
    student = tiny.student()
    table = student.backbone.token_embedding.embeddings
    before = table.numpy().copy()
    run = DistillationRun(
        teacher,
        student,
        "joint",
        tmp_path,
        make_dataset=lambda step: tf.data.Dataset.from_tensors(
            tiny.batch()
        ).repeat(),
        layer_steps=1,
        pretraining_steps=0,
        # Rate 0: the table after the run is the table it started from.
        learning_rate=0.0,
        init_embeddings=init_embeddings,
        verbose=0,
    )
    summary = run.run()
    if init_embeddings == "none":
        assert summary["embedding_init"] is None
        np.testing.assert_array_equal(table.numpy(), before)
        return
    assert summary["embedding_init"]["method"] == "pca"
    teacher_table = teacher.token_embedding.embeddings.numpy()
    reference, _ = numpy_pca(teacher_table, 8)
    scale = summary["embedding_init"]["scale"]
    np.testing.assert_allclose(
        align_signs(table.numpy(), reference) / scale, reference, atol=1e-5
    )
    # Recorded in the checkpoint, so a resumed run reports it too.
    _, meta = load_npz(tmp_path / "checkpoints" / "progress.npz")
    assert meta["embedding_init"] == summary["embedding_init"]


def test_run_copies_a_table_of_the_same_width_instead():
    def run(**kwargs):
        return DistillationRun(
            tiny.teacher(),  # IB-BERT-shaped, 8-wide table like the student's
            tiny.student(),
            "joint",
            "unused",
            make_dataset=None,
            layer_steps=1,
            pretraining_steps=0,
            **kwargs,
        )

    copying = run()
    copying.copied, _ = copy_from_teacher(copying.teacher, copying.student)
    assert copying._init_word_table() is None
    with pytest.raises(ValueError, match="init_embeddings"):
        run(init_embeddings="random")
