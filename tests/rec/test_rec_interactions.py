"""Reading interaction files and the leave-one-out split."""

from __future__ import annotations

import random

import numpy as np
import pytest

from townsquare.errors import InvalidInput
from townsquare.rec.interactions import batches_by_length, leave_one_out, read_interactions, training_windows


def test_read_and_split(tmp_path):
    p = tmp_path / "d.txt"
    p.write_text("u1 a\nu2 b\nu1 b\nu1 c\n\nu1 d\nu2 a\nu3 c\n")
    data = read_interactions(p)
    assert data.users == ["u1", "u2", "u3"]
    assert data.items == ["a", "b", "c", "d"]         # order of first appearance
    assert data.sequences == [[1, 2, 3, 4], [2, 1], [3]]
    split = leave_one_out(data)
    assert split.train == [[1, 2], [2, 1], [3]]       # short users: everything is training
    assert split.valid_target == [3, 0, 0] and split.test_target == [4, 0, 0]
    assert split.eval_users() == [0]
    assert split.valid_case() == ([[1, 2]], [3])
    assert split.test_case() == ([[1, 2, 3]], [4])


@pytest.mark.parametrize("content, message", [("", "empty"), ("u1 a b\n", "expected 'user item'"),
                                              ("u1\n", "expected 'user item'")])
def test_bad_files_raise_one_line(tmp_path, content, message):
    p = tmp_path / "bad.txt"
    p.write_text(content)
    with pytest.raises(InvalidInput, match=message) as exc:
        read_interactions(p)
    assert "\n" not in exc.value.message


def test_missing_file(tmp_path):
    with pytest.raises(InvalidInput, match="no such file"):
        read_interactions(tmp_path / "nope.txt")


def test_windows_and_batches():
    seqs = [[1, 2, 3, 4, 5, 6, 7], [8], [9, 10]]
    assert training_windows(seqs, 3, all_windows=False) == [[4, 5, 6, 7], [9, 10]]
    assert training_windows(seqs, 3, all_windows=True) == [[4, 5, 6, 7], [1, 2, 3, 4], [9, 10]]
    w = training_windows(seqs * 10, 3, all_windows=True)
    batches = list(batches_by_length(w, 4, random.Random(0)))
    assert sorted(map(tuple, (x for b in batches for x in b))) == sorted(map(tuple, w))


def test_context_rows_equal_context_row_row_by_row():
    """Serving computes the context of all candidates at once; training, one token at a time."""
    from townsquare.rec.features import context_row, context_rows

    rng = np.random.default_rng(0)
    n = 50
    in_net, back = rng.random(n) < 0.5, rng.random(n) < 0.3
    ages = np.concatenate([[0.0, -5.0, 3600 * 24 * 365], rng.random(n - 3) * 3600 * 24 * 14])  # now, future, a year
    sims, knn = rng.uniform(-1, 1, n), rng.uniform(-1, 1, n)
    got = context_rows(in_net, back, ages, sims, knn)
    want = np.asarray([context_row(*args) for args in zip(in_net, back, ages, sims, knn, strict=True)], np.float32)
    assert got.dtype == np.float32 and got.shape == (n, 5)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
