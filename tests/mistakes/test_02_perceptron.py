"""02-perceptron: wrong answers a beginner writes fail the visible tests with a sentence; right
answers written differently pass. In the visible tests (as in a learner's notebook) step() and
predict() are the learner's own: here the solution's, except where the answer replaces them."""

import pytest

from tests.support.mistakes import accepted, caught, check

NB = "02-perceptron"
# The gate weights of section 1: plain statements of the notebook, which the harness does not run.
GATE_WEIGHTS = """
AND_WEIGHTS = np.array([-1.5, 1.0, 1.0])
OR_WEIGHTS = np.array([-0.5, 1.0, 1.0])
NAND_WEIGHTS = np.array([1.5, -1.0, -1.0])
"""

# ---- Exercise 1: step ------------------------------------------------------------------------

STEP_WRONG = {
    "returns-bools": ("""
def step(a):
    return np.asarray(a) > 0
""", "integers"),
    "fires-at-zero": ("""
def step(a):
    return (np.asarray(a) >= 0).astype(int)
""", "step(0) = 0"),
    "heaviside-floats": ("""
def step(a):
    return np.heaviside(a, 0)
""", "integers"),
    "heaviside-half-at-zero-as-int": ("""
def step(a):
    return np.heaviside(a, 1).astype(int)
""", "step(0) = 0"),
    "python-if-on-arrays": ("""
def step(a):
    return 1 if a > 0 else 0
""", "not `if a > 0`"),
    "astype-on-a-number": ("""
def step(a):
    return (a > 0).astype(int)
""", "np.asarray(a)"),
    "sign-gives-minus-one": ("""
def step(a):
    return np.sign(a).astype(int)
""", "expected [[0, 0, 0], [1, 1, 1]]"),
    "overwrites-its-input": ("""
def step(a):
    a = np.asarray(a)
    if a.ndim:
        a[a <= 0] = 0
        a[a > 0] = 1
        return a.astype(int)
    return int(a > 0)
""", "unchanged"),
    "flattens-the-array": ("""
def step(a):
    return np.array([1 if value > 0 else 0 for value in np.ravel(a)])
""", "shape"),
    "bool-for-a-number": ("""
def step(a):
    if np.ndim(a) == 0:
        return a > 0
    return (np.asarray(a) > 0).astype(int)
""", "not a bool"),
    "rounds-instead": ("""
def step(a):
    return np.round(np.clip(a, 0, 1)).astype(int)
""", "expected [[0, 0, 0], [1, 1, 1]]"),
}


@pytest.mark.parametrize("mistake", STEP_WRONG)
def test_step_mistake_is_caught(mistake):
    answer, words = STEP_WRONG[mistake]
    caught(check(NB, "test_step", answer), says=words)


STEP_RIGHT = {
    "np-where": """
def step(a):
    return np.where(np.asarray(a) > 0, 1, 0)
""",
    "times-one": """
def step(a):
    return (np.asarray(a) > 0) * 1
""",
    "greater-int8": """
def step(a):
    return np.greater(a, 0).astype(np.int8)
""",
    "sign-clipped": """
def step(a):
    return np.maximum(np.sign(a), 0).astype(int)
""",
    "number-and-array-apart": """
def step(a):
    if np.isscalar(a):
        return int(a > 0)
    return np.array(np.asarray(a) > 0, dtype=int)
""",
}


@pytest.mark.parametrize("variant", STEP_RIGHT)
def test_step_right_variant_is_accepted(variant):
    accepted(check(NB, "test_step", STEP_RIGHT[variant]))


# ---- Exercise 2: predict ---------------------------------------------------------------------

PREDICT_WRONG = {
    "no-bias-input": ("""
def predict(w, X):
    return step(np.asarray(X) @ np.asarray(w)[1:])
""", "FRONT"),
    "one-at-the-end": ("""
def predict(w, X):
    X = np.asarray(X, dtype=float)
    return step(np.concatenate([X, np.ones(X.shape[:-1] + (1,))], axis=-1) @ np.asarray(w))
""", "FRONT"),
    "bias-subtracted": ("""
def predict(w, X):
    w = np.asarray(w, dtype=float)
    return step(np.asarray(X) @ w[1:] - w[0])
""", "FRONT"),
    "no-step-returns-sums": ("""
def predict(w, X):
    return add_bias_input(X) @ np.asarray(w)
""", "integers"),
    "bools-not-step": ("""
def predict(w, X):
    return add_bias_input(X) @ np.asarray(w) > 0
""", "integers"),
    "ignores-w-uses-and": ("""
def predict(w, X):
    return step(add_bias_input(X) @ np.array([-1.5, 1.0, 1.0]))
""", "weights w that predict is given"),
    "two-inputs-hard-coded": ("""
def predict(w, X):
    X = np.asarray(X, dtype=float)
    return step(w[0] + w[1] * X[..., 0] + w[2] * X[..., 1])
""", "3 inputs"),
    "squeezes-one-row": ("""
def predict(w, X):
    return step(np.squeeze(add_bias_input(X) @ np.asarray(w, dtype=float)))
""", "batch of ONE"),
    "column-vector-w": ("""
def predict(w, X):
    return step(add_bias_input(X) @ np.asarray(w, dtype=float).reshape(-1, 1))
""", "expected (4,)"),
    "bias-column-by-hstack": ("""
def predict(w, X):
    X = np.asarray(X, dtype=float)
    return step(np.hstack([np.ones((len(X), 1)), X.reshape(len(X), -1)]) @ np.asarray(w, dtype=float))
""", "ONE sample"),
    "flips-w-in-place": ("""
def predict(w, X):
    w[0] = -w[0]          # "w0 is -h": turned into h in place
    return step(np.asarray(X) @ w[1:] - w[0])
""", "unchanged"),
    "lists-not-converted": ("""
def predict(w, X):
    return step(w[0] + X @ w[1:])
""", "as lists"),
}


@pytest.mark.parametrize("mistake", PREDICT_WRONG)
def test_predict_mistake_is_caught(mistake):
    answer, words = PREDICT_WRONG[mistake]
    caught(check(NB, "test_predict", answer), says=words)


def test_predict_says_when_step_is_wrong():
    caught(check(NB, "test_predict", """
def step(a):
    return (np.asarray(a) >= 0).astype(int)
"""), says="exercise 1")


PREDICT_RIGHT = {
    "bias-added-apart": """
def predict(w, X):
    w = np.asarray(w, dtype=float)
    return step(w[0] + np.asarray(X) @ w[1:])
""",
    "dot-float32": """
def predict(w, X):
    return step(np.dot(add_bias_input(X).astype(np.float32), np.asarray(w, dtype=np.float32)))
""",
    "einsum": """
def predict(w, X):
    return step(np.einsum("...i,i->...", add_bias_input(X), np.asarray(w, dtype=float)))
""",
}


@pytest.mark.parametrize("variant", PREDICT_RIGHT)
def test_predict_right_variant_is_accepted(variant):
    accepted(check(NB, "test_predict", PREDICT_RIGHT[variant]))


# ---- Exercise 3: train_perceptron -------------------------------------------------------------

def training(update="w = w + lr * (target - y) * x_tilde", count="errors.append(int(np.sum(predict(w, X) != t)))",
             start="w = np.zeros(X.shape[1] + 1)", loop="for epoch in range(epochs):"):
    """A train_perceptron with one part replaced."""
    return f"""
def train_perceptron(X, t, lr, epochs):
    X = np.asarray(X, dtype=float)
    t = np.asarray(t)
    {start}
    errors = []
    {loop}
        for n in range(len(X)):
            x_tilde, target = add_bias_input(X[n]), t[n]
            y = predict(w, X[n])
            {update}
        {count}
    return w, errors
"""


TRAIN_WRONG = {
    "epochs-ignored": (training(loop="for epoch in range(1):"), "8 error counts"),
    "lr-ignored": (training(update="w = w + (target - y) * x_tilde"), "lr"),
    "errors-per-sample": (training(update="w = w + lr * (target - y) * x_tilde\n"
                                          "            errors.append(int(np.sum(predict(w, X) != t)))",
                                   count="pass"), "one error count"),
    "mistakes-during-the-epoch": ("""
def train_perceptron(X, t, lr, epochs):
    X = np.asarray(X, dtype=float)
    w = np.zeros(X.shape[1] + 1)
    errors = []
    for epoch in range(epochs):
        wrong = 0
        for x, target in zip(X, t):
            y = predict(w, x)
            wrong += int(y != target)
            w = w + lr * (target - y) * add_bias_input(x)
        errors.append(wrong)
    return w, errors
""", "END of the epoch"),
    "early-stop": (training(count="errors.append(int(np.sum(predict(w, X) != t)))\n"
                                  "        if errors[-1] == 0:\n"
                                  "            break"), "no early stop"),
    "predict-gets-the-one-too": (training(update="y = predict(w, x_tilde)\n"
                                                 "            w = w + lr * (target - y) * x_tilde"),
                                 "WITH the 1"),
    "bias-never-learned": (training(update="w[1:] = w[1:] + lr * (target - y) * X[n]"), "expected w = [1, 1, 1]"),
    "update-sign-flipped": (training(update="w = w - lr * (target - y) * x_tilde"), "expected w = [1, 1, 1]"),
    "random-start": (training(start="w = np.random.default_rng(0).normal(size=X.shape[1] + 1)"),
                     "expected w = [1, 1, 1]"),
    "two-inputs-hard-coded": (training(start="w = np.zeros(3)"), "do not assume 2 inputs"),
    "one-update-per-epoch": ("""
def train_perceptron(X, t, lr, epochs):
    X_tilde = add_bias_input(X)
    w = np.zeros(X_tilde.shape[1])
    errors = []
    for epoch in range(epochs):
        y = predict(w, X)
        w = w + lr * (np.asarray(t) - y) @ X_tilde
        errors.append(int(np.sum(predict(w, X) != t)))
    return w, errors
""", "8 epochs"),
    "shuffles-x-in-place": ("""
def train_perceptron(X, t, lr, epochs):
    w = np.zeros(np.shape(X)[1] + 1)
    errors = []
    for epoch in range(epochs):
        np.random.default_rng(epoch).shuffle(X)   # the caller's X, reordered (and no longer matching t)
        for n in range(len(X)):
            y = predict(w, X[n])
            w = w + lr * (t[n] - y) * add_bias_input(X[n])
        errors.append(int(np.sum(predict(w, X) != t)))
    return w, errors
""", ""),
    "returns-weights-only": (training().replace("return w, errors", "return w"), "(w, errors)"),
    "int-weights": (training(start="w = np.zeros(X.shape[1] + 1, dtype=int)",
                             update="w = (w + lr * (target - y) * x_tilde).astype(int)"), "floats"),
}


@pytest.mark.parametrize("mistake", TRAIN_WRONG)
def test_train_perceptron_mistake_is_caught(mistake):
    answer, words = TRAIN_WRONG[mistake]
    caught(check(NB, "test_train_perceptron", answer), says=words)


def test_train_perceptron_says_when_predict_is_wrong():
    caught(check(NB, "test_train_perceptron", """
def predict(w, X):
    return step(np.asarray(X) @ np.asarray(w)[1:])
"""), says="exercises 1 and 2")


TRAIN_RIGHT = {
    "in-place-update-and-zip": """
def train_perceptron(X, t, lr, epochs):
    X_tilde = add_bias_input(X)
    w = np.zeros(X_tilde.shape[1])
    errors = []
    for _ in range(epochs):
        for x, x_tilde, target in zip(np.asarray(X), X_tilde, t):
            w += lr * (target - predict(w, x)) * x_tilde
        errors.append(np.count_nonzero(predict(w, X) != np.asarray(t)))
    return w, errors
""",
    "no-predict-own-sum": """
def train_perceptron(X, t, lr, epochs):
    X_tilde = np.hstack([np.ones((len(X), 1)), np.asarray(X, dtype=float)])
    w = np.zeros(X_tilde.shape[1])
    history = []
    for _ in range(epochs):
        for n in range(len(X_tilde)):
            y = 1 if X_tilde[n] @ w > 0 else 0
            w = w + lr * (t[n] - y) * X_tilde[n]
        history.append(sum(int((X_tilde[k] @ w > 0) != t[k]) for k in range(len(t))))
    return w, np.array(history)
""",
}


@pytest.mark.parametrize("variant", TRAIN_RIGHT)
def test_train_perceptron_right_variant_is_accepted(variant):
    accepted(check(NB, "test_train_perceptron", TRAIN_RIGHT[variant]))


# ---- Exercise 4: xor_net -----------------------------------------------------------------------

SIGNATURE = "def xor_net(X, w_nand=(1.5, -1.0, -1.0), w_or=(-0.5, 1.0, 1.0), w_and=(-1.5, 1.0, 1.0)):"

XOR_WRONG = {
    "output-reads-x": (f"""
{SIGNATURE}
    hidden = np.column_stack([predict(w_nand, X), predict(w_or, X)])
    return predict(w_and, X), hidden
""", "not X"),
    "hidden-columns-swapped": (f"""
{SIGNATURE}
    hidden = np.column_stack([predict(w_or, X), predict(w_nand, X)])
    return predict(w_and, hidden), hidden
""", "column 0"),
    "hidden-as-rows": (f"""
{SIGNATURE}
    hidden = np.array([predict(w_nand, X), predict(w_or, X)])
    return predict(w_and, hidden.T), hidden
""", "shape (4, 2)"),
    "hstack-flat": (f"""
{SIGNATURE}
    hidden = np.hstack([predict(w_nand, X), predict(w_or, X)])
    return predict(w_and, hidden.reshape(2, -1).T), hidden
""", "shape (4, 2)"),
    "returns-only-y": (f"""
{SIGNATURE}
    hidden = np.column_stack([predict(w_nand, X), predict(w_or, X)])
    return predict(w_and, hidden)
""", "(y, hidden)"),
    "returns-hidden-first": (f"""
{SIGNATURE}
    hidden = np.column_stack([predict(w_nand, X), predict(w_or, X)])
    return hidden, predict(w_and, hidden)
""", "shape (4, 2)"),
    "ignores-the-weights-given": (f"""
{SIGNATURE}
    hidden = np.column_stack([predict(NAND_WEIGHTS, X), predict(OR_WEIGHTS, X)])
    return predict(AND_WEIGHTS, hidden), hidden
""", "weights passed in"),
    "hard-coded-xor": (f"""
{SIGNATURE}
    X = np.asarray(X)
    hidden = np.column_stack([1 - (X[:, 0] & X[:, 1]), X[:, 0] | X[:, 1]])
    return X[:, 0] ^ X[:, 1], hidden
""", "weights passed in"),
}


@pytest.mark.parametrize("mistake", XOR_WRONG)
def test_xor_net_mistake_is_caught(mistake):
    answer, words = XOR_WRONG[mistake]
    caught(check(NB, "test_xor_net", answer, setup=GATE_WEIGHTS), says=words)


XOR_RIGHT = {
    "stack-axis-1": f"""
{SIGNATURE}
    hidden = np.stack([predict(w_nand, X), predict(w_or, X)], axis=1)
    return predict(w_and, hidden), hidden
""",
    "per-sample-loop": f"""
{SIGNATURE}
    rows = [[int(predict(w_nand, x)), int(predict(w_or, x))] for x in np.asarray(X)]
    hidden = np.array(rows, dtype=int).reshape(-1, 2)
    y = np.array([int(predict(w_and, h)) for h in hidden], dtype=int)
    return y, hidden
""",
}


@pytest.mark.parametrize("variant", XOR_RIGHT)
def test_xor_net_right_variant_is_accepted(variant):
    accepted(check(NB, "test_xor_net", XOR_RIGHT[variant], setup=GATE_WEIGHTS))


def test_the_swap_leaves_the_learners_functions_in_place():
    """The visible tests run inside `with swapped_in(globals(), **known_good)`, which in the
    student version swaps nothing; a failing check leaves step and predict as they were."""
    from tests.support.mistakes import right_answers, visible_test
    namespace = right_answers(NB)
    namespace.update(predict=lambda w, X: 0)  # a wrong predict: the test cell fails
    before = (namespace["step"], namespace["predict"])
    with pytest.raises(AssertionError):
        exec(compile(visible_test(NB, "test_train_perceptron"), "<visible>", "exec"), namespace)
    assert (namespace["step"], namespace["predict"]) == before
