"""00-welcome: wrong answers a beginner writes fail the visible tests with a sentence; right
answers written differently pass."""

import pytest

from tests.support.mistakes import accepted, caught, check

NB = "00-welcome"

# ---- Exercise 1: standardize ----------------------------------------------------------------

STANDARDIZE_WRONG = {
    "rows-axis1": ("""
def standardize(X):
    X = np.asarray(X, dtype=float)
    std = X.std(axis=1, keepdims=True)
    return (X - X.mean(axis=1, keepdims=True)) / np.where(std > 0, std, 1.0)
""", "mean 0"),
    "axis1-no-keepdims": ("""
def standardize(X):
    X = np.asarray(X, dtype=float)
    std = X.std(axis=1)
    return (X - X.mean(axis=1)) / np.where(std > 0, std, 1.0)
""", "mean 0"),
    "whole-array-mean": ("""
def standardize(X):
    X = np.asarray(X, dtype=float)
    return (X - X.mean()) / X.std()
""", "mean 0"),
    "sample-std-ddof1": ("""
def standardize(X):
    X = np.asarray(X, dtype=float)
    std = X.std(axis=0, ddof=1)
    return (X - X.mean(axis=0)) / np.where(std > 0, std, 1.0)
""", "ddof"),
    "divides-by-variance": ("""
def standardize(X):
    X = np.asarray(X, dtype=float)
    var = X.var(axis=0)
    return (X - X.mean(axis=0)) / np.where(var > 0, var, 1.0)
""", "std 1"),
    "constant-column-nan": ("""
def standardize(X):
    X = np.asarray(X, dtype=float)
    return (X - X.mean(axis=0)) / X.std(axis=0)
""", "constant"),
    "mutates-input": ("""
def standardize(X):
    X = np.asarray(X, dtype=float)
    X -= X.mean(axis=0)
    std = X.std(axis=0)
    X /= np.where(std > 0, std, 1.0)
    return X
""", "changed its input"),
    "int-stays-int": ("""
def standardize(X):
    Z = np.zeros_like(X)
    std = X.std(axis=0)
    Z[:] = (X - X.mean(axis=0)) / np.where(std > 0, std, 1.0)
    return Z
""", "dtype"),
    "no-centering": ("""
def standardize(X):
    X = np.asarray(X, dtype=float)
    std = X.std(axis=0)
    return X / np.where(std > 0, std, 1.0)
""", "mean 0"),
    "returns-list": ("""
def standardize(X):
    X = np.asarray(X, dtype=float)
    std = X.std(axis=0)
    return ((X - X.mean(axis=0)) / np.where(std > 0, std, 1.0)).tolist()
""", "NumPy array"),
}


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # the nan answer's own warning
@pytest.mark.parametrize("mistake", STANDARDIZE_WRONG)
def test_standardize_mistake_is_caught(mistake):
    answer, words = STANDARDIZE_WRONG[mistake]
    caught(check(NB, "test_standardize", answer), says=words)


STANDARDIZE_RIGHT = {
    "nan-to-num": """
def standardize(X):
    X = X.astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        Z = (X - X.mean(axis=0)) / X.std(axis=0)
    return np.nan_to_num(Z)
""",
    "divide-where": """
def standardize(X):
    X = np.array(X, dtype=np.float64)
    centered = X - np.mean(X, axis=0, keepdims=True)
    std = np.std(X, axis=0, keepdims=True)
    return np.divide(centered, std, out=np.zeros_like(centered), where=std != 0)
""",
    "column-loop": """
def standardize(X):
    X = np.asarray(X, dtype=float)
    Z = np.zeros(X.shape)
    for j in range(X.shape[1]):
        column = X[:, j]
        if column.std() > 0:
            Z[:, j] = (column - column.mean()) / column.std()
    return Z
""",
}


@pytest.mark.parametrize("variant", STANDARDIZE_RIGHT)
def test_standardize_right_variant_is_accepted(variant):
    accepted(check(NB, "test_standardize", STANDARDIZE_RIGHT[variant]))


# ---- Exercise 2: select_digit ---------------------------------------------------------------

SELECT_WRONG = {
    "fixed-digit-3": ("""
def select_digit(images, labels, digit):
    return images[labels == 3]
""", "digit argument"),
    "labels-ignored": ("""
def select_digit(images, labels, digit):
    return images[images == digit]
""", "shape (3, 2, 3)"),
    "returns-mask": ("""
def select_digit(images, labels, digit):
    return labels == digit
""", "shape (3, 2, 3)"),
    "returns-indices": ("""
def select_digit(images, labels, digit):
    return np.where(labels == digit)
""", "NumPy array"),
    "argwhere-extra-axis": ("""
def select_digit(images, labels, digit):
    return images[np.argwhere(labels == digit)]
""", "shape (3, 2, 3)"),
    "list-of-images": ("""
def select_digit(images, labels, digit):
    return [image for image, label in zip(images, labels) if label == digit]
""", "NumPy array"),
    "empty-loses-shape": ("""
def select_digit(images, labels, digit):
    return np.array([image for image, label in zip(images, labels) if label == digit])
""", "(0, 2, 3)"),
    "first-match-only": ("""
def select_digit(images, labels, digit):
    return images[np.argmax(labels == digit)][None]
""", "shape (3, 2, 3)"),
    "zeroes-others-in-place": ("""
def select_digit(images, labels, digit):
    images[labels != digit] = 0
    return images[labels == digit]
""", "unchanged"),
    "float64-copy": ("""
def select_digit(images, labels, digit):
    return np.array([image for image, label in zip(images, labels) if label == digit],
                    dtype=float).reshape(-1, *images.shape[1:])
""", "dtype"),
}


@pytest.mark.parametrize("mistake", SELECT_WRONG)
def test_select_digit_mistake_is_caught(mistake):
    answer, words = SELECT_WRONG[mistake]
    caught(check(NB, "test_select_digit", answer), says=words)


SELECT_RIGHT = {
    "flatnonzero": """
def select_digit(images, labels, digit):
    return images[np.flatnonzero(labels == digit)]
""",
    "compress": """
def select_digit(images, labels, digit):
    return np.compress(np.asarray(labels) == digit, images, axis=0)
""",
    "loop-with-reshape": """
def select_digit(images, labels, digit):
    kept = [image for image, label in zip(images, labels) if label == digit]
    return np.array(kept, dtype=images.dtype).reshape((len(kept),) + images.shape[1:])
""",
}


@pytest.mark.parametrize("variant", SELECT_RIGHT)
def test_select_digit_right_variant_is_accepted(variant):
    accepted(check(NB, "test_select_digit", SELECT_RIGHT[variant]))


# ---- Exercise 3: chain_shape ----------------------------------------------------------------

CHAIN_WRONG = {
    "rows-columns-swapped": ("""
def chain_shape(shapes):
    rows, cols = shapes[0]
    for r, c in shapes[1:]:
        if r != cols:
            return None
        cols = c
    return (cols, rows)
""", "(2, 5)"),
    "returns-last-shape": ("""
def chain_shape(shapes):
    for (r1, c1), (r2, c2) in zip(shapes, shapes[1:]):
        if c1 != r2:
            return None
    return tuple(shapes[-1])
""", "(2, 5)"),
    "first-pair-only": ("""
def chain_shape(shapes):
    if len(shapes) > 1 and shapes[0][1] != shapes[1][0]:
        return None
    return (shapes[0][0], shapes[-1][1])
""", "every product"),
    "compares-columns-transposed": ("""
def chain_shape(shapes):
    rows, cols = shapes[0]
    for r, c in shapes[1:]:
        if c != cols:
            return None
        cols = c
    return (rows, cols)
""", "(2, 5)"),
    "off-by-one-skips-last": ("""
def chain_shape(shapes):
    for i in range(len(shapes) - 2):
        if shapes[i][1] != shapes[i + 1][0]:
            return None
    return (shapes[0][0], shapes[-1][1])
""", "not defined"),
    "returns-list": ("""
def chain_shape(shapes):
    rows, cols = shapes[0]
    for r, c in shapes[1:]:
        if r != cols:
            return None
        cols = c
    return [rows, cols]
""", "tuple"),
    "false-not-none": ("""
def chain_shape(shapes):
    rows, cols = shapes[0]
    for r, c in shapes[1:]:
        if r != cols:
            return False
        cols = c
    return (rows, cols)
""", "expected None"),
    "no-check-at-all": ("""
def chain_shape(shapes):
    return (shapes[0][0], shapes[-1][1])
""", "expected None"),
}


@pytest.mark.parametrize("mistake", CHAIN_WRONG)
def test_chain_shape_mistake_is_caught(mistake):
    answer, words = CHAIN_WRONG[mistake]
    caught(check(NB, "test_chain_shape", answer), says=words)


def test_chain_shape_single_array_indexerror_is_caught():
    # a chain of one array: shapes[1] does not exist (the error comes from the learner's own line)
    caught(check(NB, "test_chain_shape", """
def chain_shape(shapes):
    if shapes[0][1] != shapes[1][0]:
        return None
    rows, cols = shapes[0][0], shapes[1][1]
    for r, c in shapes[2:]:
        if r != cols:
            return None
        cols = c
    return (rows, cols)
"""))


CHAIN_RIGHT = {
    "reduce-numpy-ints": """
import functools
def chain_shape(shapes):
    def times(left, right):
        if left is None or left[1] != right[0]:
            return None
        return (np.int64(left[0]), np.int64(right[1]))
    return functools.reduce(times, [tuple(s) for s in shapes])
""",
    "pairs-then-ends": """
def chain_shape(shapes):
    for (_, columns), (rows, _) in zip(shapes[:-1], shapes[1:]):
        if columns != rows:
            return None
    return (shapes[0][0], shapes[-1][1])
""",
}


@pytest.mark.parametrize("variant", CHAIN_RIGHT)
def test_chain_shape_right_variant_is_accepted(variant):
    accepted(check(NB, "test_chain_shape", CHAIN_RIGHT[variant]))
