"""03-backprop: wrong answers a beginner writes fail the visible tests with a sentence that names
the wrong part (and the traceback ends at that check, not in the clean-up that puts the learner's
sigmoid back); right answers written differently (masks, loops, logaddexp, flat indices) pass.

Each case is an answer cell's source; tests/support/mistakes.check runs it in place of the
solution's and then runs the exercise's visible test cell from handson/.
"""

import pytest

from tests.support.mistakes import accepted, case_ids, caught, check

NB = "03-backprop"
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # wrong answers may overflow


def wrong(test_id, expected, source):
    """The visible tests fail, say EXPECTED, and end in the test cell (not in its clean-up)."""
    return caught(check(NB, test_id, source), says=None if expected == "*" else expected)


# ---- Exercise 1: sigmoid ------------------------------------------------------------------------

SIGMOID_WRONG = [
    ("naive-formula-overflows", "overflowed", '''
def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))
'''),
    ("np-where-evaluates-both-branches", "both branches", '''
def sigmoid(x):
    x = np.asarray(x, dtype=float)
    return np.where(x >= 0, 1.0 / (1.0 + np.exp(-x)), np.exp(x) / (1.0 + np.exp(x)))
'''),
    ("z-without-abs", "z = e^(-|x|)", '''
def sigmoid(x):
    x = np.asarray(x, dtype=float)
    z = np.exp(-x)
    return np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))
'''),
    ("wrong-sign", "expected", '''
def sigmoid(x):
    x = np.asarray(x, dtype=float)
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, z / (1.0 + z), 1.0 / (1.0 + z))
'''),
    ("one-minus-loses-small-values", "tiny values must keep their digits", '''
def sigmoid(x):
    x = np.asarray(x, dtype=float)
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + z), 1.0 - 1.0 / (1.0 + z))
'''),
    ("mask-in-place-changes-input", "changed the array", '''
def sigmoid(x):
    if np.ndim(x) == 0:
        x = np.array(x, dtype=float)
    z = np.exp(-np.abs(x))
    negative = x < 0
    x[...] = 1.0 / (1.0 + z)
    x[negative] = (z / (1.0 + z))[negative]
    return x
'''),
    ("empty-like-keeps-integers", "integer", '''
def sigmoid(x):
    x = np.asarray(x)
    out = np.empty_like(x)
    z = np.exp(-np.abs(x))
    out[...] = np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))
    return out
'''),
    ("tanh-identity-loses-small-values", "tiny values must keep their digits", '''
def sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=float)))
'''),
    ("rows-only-one-dimensional", "any shape", '''
import math

def sigmoid(x):
    if np.ndim(x) == 0:
        x = float(x)
        return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))
    return np.array([1.0 / (1.0 + math.exp(-v)) if v >= 0 else math.exp(v) / (1.0 + math.exp(v)) for v in x])
'''),
]

SIGMOID_RIGHT = [
    ("clipped-exponent", '''
def sigmoid(x):
    x = np.clip(np.asarray(x, dtype=float), -500.0, 500.0)
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))
'''),
    ("boolean-mask", '''
def sigmoid(x):
    x = np.asarray(x, dtype=float)
    out = np.empty_like(x)
    positive = x >= 0
    out[positive] = 1.0 / (1.0 + np.exp(-x[positive]))
    e = np.exp(x[~positive])
    out[~positive] = e / (1.0 + e)
    return out
'''),
    ("logaddexp", '''
def sigmoid(x):
    return np.exp(-np.logaddexp(0.0, -np.asarray(x, dtype=float)))
'''),
    ("vectorised-python-loop", '''
import math

def _one(v):
    return 1.0 / (1.0 + math.exp(-v)) if v >= 0 else math.exp(v) / (1.0 + math.exp(v))

sigmoid = np.vectorize(_one, otypes=[float])
'''),
]


@pytest.mark.parametrize("case", SIGMOID_WRONG, ids=case_ids(SIGMOID_WRONG))
def test_sigmoid_mistake_is_caught(case):
    _, expected, source = case
    wrong("test_sigmoid", expected, source)


@pytest.mark.parametrize("case", SIGMOID_RIGHT, ids=case_ids(SIGMOID_RIGHT))
def test_sigmoid_right_variant_is_accepted(case):
    accepted(check(NB, "test_sigmoid", case[1]))


# ---- Exercise 2: sigmoid_grad --------------------------------------------------------------------

SIGMOID_GRAD_WRONG = [
    ("x-times-one-minus-x", "x * (1 - x)", '''
def sigmoid_grad(x):
    return x * (1.0 - x)
'''),
    ("mixes-s-and-x", "s * (1 - s)", '''
def sigmoid_grad(x):
    return sigmoid(x) * (1.0 - x)
'''),
    ("forgot-the-derivative", "s * (1 - s)", '''
def sigmoid_grad(x):
    return sigmoid(x)
'''),
    ("exp-formula-overflows", "overflowed", '''
def sigmoid_grad(x):
    e = np.exp(-np.asarray(x, dtype=float))
    return e / (1.0 + e) ** 2
'''),
    ("sigmoid-of-sigmoid", "s * (1 - s)", '''
def sigmoid_grad(x):
    s = sigmoid(sigmoid(x))
    return s * (1.0 - s)
'''),
    ("no-return", "None", '''
def sigmoid_grad(x):
    s = sigmoid(x)
    s * (1.0 - s)
'''),
]

SIGMOID_GRAD_RIGHT = [
    ("sigmoid-of-minus-x", '''
def sigmoid_grad(x):
    x = np.asarray(x, dtype=float)
    return sigmoid(x) * sigmoid(-x)
'''),
    ("s-minus-s-squared", '''
def sigmoid_grad(x):
    s = sigmoid(x)
    return s - s ** 2
'''),
    ("even-exp-form", '''
def sigmoid_grad(x):
    z = np.exp(-np.abs(np.asarray(x, dtype=float)))
    return z / (1.0 + z) ** 2
'''),
]


@pytest.mark.parametrize("case", SIGMOID_GRAD_WRONG, ids=case_ids(SIGMOID_GRAD_WRONG))
def test_sigmoid_grad_mistake_is_caught(case):
    _, expected, source = case
    wrong("test_sigmoid_grad", expected, source)


@pytest.mark.parametrize("case", SIGMOID_GRAD_RIGHT, ids=case_ids(SIGMOID_GRAD_RIGHT))
def test_sigmoid_grad_right_variant_is_accepted(case):
    accepted(check(NB, "test_sigmoid_grad", case[1]))


def test_a_wrong_sigmoid_grad_is_not_blamed_on_sigmoid():
    """The old test cell restored the learner's sigmoid in a `finally:` block, so a wrong
    sigmoid_grad's traceback ended at that clean-up line; now it ends at the failing check."""
    outcome = wrong("test_sigmoid_grad", "expected 0.25", '''
def sigmoid_grad(x):
    return x * (1.0 - x)
''')
    assert outcome.last_line.startswith("assert") and "finally" not in outcome.last_line, outcome


def test_the_learners_sigmoid_is_back_after_the_sigmoid_grad_tests():
    from tests.support import mistakes
    namespace = mistakes.right_answers(NB)
    yours = namespace["sigmoid"]
    exec(mistakes.visible_test(NB, "test_sigmoid_grad"), namespace)
    assert namespace["sigmoid"] is yours


# ---- Exercise 3: numerical_gradient --------------------------------------------------------------

NUMERICAL_GRADIENT_WRONG = [
    ("forward-difference", "one-sided", '''
def numerical_gradient(f, x, h=1e-5):
    x = np.array(x, dtype=float)
    gradient = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        f_here = f(x)
        original = x[index]
        x[index] = original + h
        gradient[index] = (f(x) - f_here) / h
        x[index] = original
    return gradient
'''),
    ("h-ignored", "h = 0.1 was ignored", '''
def numerical_gradient(f, x, h=1e-5):
    x = np.array(x, dtype=float)
    gradient = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + 1e-5
        f_plus = f(x)
        x[index] = original - 1e-5
        f_minus = f(x)
        x[index] = original
        gradient[index] = (f_plus - f_minus) / 2e-5
    return gradient
'''),
    ("nudges-caller-x-and-drifts", "changed x", '''
def numerical_gradient(f, x, h=1e-5):
    gradient = np.zeros(x.shape)
    for index in np.ndindex(x.shape):
        x[index] += h
        f_plus = f(x)
        x[index] -= 2 * h
        f_minus = f(x)
        x[index] += h
        gradient[index] = (f_plus - f_minus) / (2 * h)
    return gradient
'''),
    ("one-dimensional-only-nudges-rows", "np.ndindex", '''
def numerical_gradient(f, x, h=1e-5):
    x = np.array(x, dtype=float)
    gradient = np.zeros(len(x))
    for i in range(len(x)):
        original = x[i].copy()
        x[i] = original + h
        f_plus = f(x)
        x[i] = original - h
        f_minus = f(x)
        x[i] = original
        gradient[i] = np.sum(f_plus - f_minus) / (2 * h)
    return gradient
'''),
    ("flat-index-into-a-2d-array", "any shape", '''
def numerical_gradient(f, x, h=1e-5):
    x = np.array(x, dtype=float)
    gradient = np.zeros_like(x)
    for i in range(x.size):
        original = x[i]
        x[i] = original + h
        f_plus = f(x)
        x[i] = original - h
        f_minus = f(x)
        x[i] = original
        gradient[i] = (f_plus - f_minus) / (2 * h)
    return gradient
'''),
    ("flattened-x-passed-to-f", "shaped like x", '''
def numerical_gradient(f, x, h=1e-5):
    flat = np.array(x, dtype=float).ravel()
    gradient = np.zeros_like(flat)
    for i in range(flat.size):
        original = flat[i]
        flat[i] = original + h
        f_plus = f(flat)
        flat[i] = original - h
        f_minus = f(flat)
        flat[i] = original
        gradient[i] = (f_plus - f_minus) / (2 * h)
    return gradient.reshape(np.shape(x))
'''),
    ("no-float-copy-integers-round-the-nudge", "integer", '''
def numerical_gradient(f, x, h=1e-5):
    gradient = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + h
        f_plus = f(x)
        x[index] = original - h
        f_minus = f(x)
        x[index] = original
        gradient[index] = (f_plus - f_minus) / (2 * h)
    return gradient
'''),
    ("forgot-to-divide-by-two", "expected", '''
def numerical_gradient(f, x, h=1e-5):
    x = np.array(x, dtype=float)
    gradient = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + h
        f_plus = f(x)
        x[index] = original - h
        f_minus = f(x)
        x[index] = original
        gradient[index] = (f_plus - f_minus) / h
    return gradient
'''),
]

NUMERICAL_GRADIENT_RIGHT = [
    ("two-copies-per-entry", '''
def numerical_gradient(f, x, h=1e-5):
    x = np.asarray(x, dtype=float)
    gradient = np.zeros(x.shape)
    for index in np.ndindex(x.shape):
        x_plus, x_minus = x.copy(), x.copy()
        x_plus[index] += h
        x_minus[index] -= h
        gradient[index] = (f(x_plus) - f(x_minus)) / (2 * h)
    return gradient
'''),
    ("flat-view-of-a-copy", '''
def numerical_gradient(f, x, h=1e-5):
    nudged = np.array(x, dtype=float)
    flat = nudged.reshape(-1)
    gradient = np.zeros(nudged.size)
    for i in range(nudged.size):
        original = flat[i]
        flat[i] = original + h
        f_plus = f(nudged)
        flat[i] = original - h
        f_minus = f(nudged)
        flat[i] = original
        gradient[i] = (f_plus - f_minus) / (2 * h)
    return gradient.reshape(nudged.shape)
'''),
    ("add-subtract-on-a-copy", '''
def numerical_gradient(f, x, h=1e-5):
    x = np.array(x, dtype=float)
    gradient = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        x[index] += h
        f_plus = f(x)
        x[index] -= 2 * h
        f_minus = f(x)
        x[index] += h
        gradient[index] = (f_plus - f_minus) / (2 * h)
    return gradient
'''),
]


@pytest.mark.parametrize("case", NUMERICAL_GRADIENT_WRONG, ids=case_ids(NUMERICAL_GRADIENT_WRONG))
def test_numerical_gradient_mistake_is_caught(case):
    _, expected, source = case
    wrong("test_numerical_gradient", expected, source)


@pytest.mark.parametrize("case", NUMERICAL_GRADIENT_RIGHT, ids=case_ids(NUMERICAL_GRADIENT_RIGHT))
def test_numerical_gradient_right_variant_is_accepted(case):
    accepted(check(NB, "test_numerical_gradient", case[1]))


# ---- Exercise 4: backward ------------------------------------------------------------------------

def backward_with(delta_out, delta_hidden, grads):
    """A backward() built from the solution's lines with one of them changed."""
    return f'''
def backward(params, cache, y, t):
    x, hidden = cache["x"], cache["h"]
    delta_out = {delta_out}
    delta_hidden = {delta_hidden}
    return {grads}
'''


RIGHT_OUT = "(y - t) * y * (1.0 - y)"
RIGHT_HIDDEN = '(delta_out @ params["W2"].T) * hidden * (1.0 - hidden)'
RIGHT_GRADS = ('{"W1": x.T @ delta_hidden, "b1": delta_hidden.sum(axis=0), '
               '"W2": hidden.T @ delta_out, "b2": delta_out.sum(axis=0)}')

BACKWARD_WRONG = [
    ("output-slope-missing", "gradient of b2",
     backward_with("y - t", RIGHT_HIDDEN, RIGHT_GRADS)),
    ("hidden-slope-missing", "gradient of b1",
     backward_with(RIGHT_OUT, '(delta_out @ params["W2"].T)', RIGHT_GRADS)),
    ("sigmoid-grad-of-an-output", "not sigmoid_grad(h)",
     backward_with(RIGHT_OUT, '(delta_out @ params["W2"].T) * sigmoid_grad(hidden)', RIGHT_GRADS)),
    ("w2-transposed", "gradient of W2 has shape",
     backward_with(RIGHT_OUT, RIGHT_HIDDEN, RIGHT_GRADS.replace("hidden.T @ delta_out", "delta_out.T @ hidden"))),
    ("w1-transposed", "gradient of W1 has shape",
     backward_with(RIGHT_OUT, RIGHT_HIDDEN, RIGHT_GRADS.replace("x.T @ delta_hidden", "delta_hidden.T @ x"))),
    ("bias-not-summed", "gradient of b2 has shape",
     backward_with(RIGHT_OUT, RIGHT_HIDDEN, RIGHT_GRADS.replace("delta_out.sum(axis=0)", "delta_out"))),
    ("bias-summed-over-the-wrong-axis", "gradient of b1 has shape",
     backward_with(RIGHT_OUT, RIGHT_HIDDEN,
                   RIGHT_GRADS.replace("delta_hidden.sum(axis=0)", "delta_hidden.sum(axis=1)"))),
    ("mean-instead-of-sum", "1/N",
     backward_with(f"{RIGHT_OUT} / len(y)", RIGHT_HIDDEN, RIGHT_GRADS)),
    ("w2-broadcast-instead-of-matmul", "gradient of b1",
     backward_with(RIGHT_OUT, '(delta_out[:, :1] * params["W2"][:, 0]) * hidden * (1.0 - hidden)', RIGHT_GRADS)),
    ("changes-y-in-place", "changed y", '''
def backward(params, cache, y, t):
    x, hidden = cache["x"], cache["h"]
    delta_out = y                                                # not a copy: the same array as y
    delta_out -= t                                               # y now holds y - t
    delta_out *= (delta_out + t) * (1.0 - delta_out - t)         # times y (1 - y): right values, y is gone
    delta_hidden = (delta_out @ params["W2"].T) * hidden * (1.0 - hidden)
    return {"W1": x.T @ delta_hidden, "b1": delta_hidden.sum(axis=0),
            "W2": hidden.T @ delta_out, "b2": delta_out.sum(axis=0)}
'''),
    ("updates-params-instead-of-returning-grads", "changed params", '''
def backward(params, cache, y, t):
    x, hidden = cache["x"], cache["h"]
    delta_out = (y - t) * y * (1.0 - y)
    delta_hidden = (delta_out @ params["W2"].T) * hidden * (1.0 - hidden)
    params["W2"] = hidden.T @ delta_out
    params["b2"] = delta_out.sum(axis=0)
    params["W1"] = x.T @ delta_hidden
    params["b1"] = delta_hidden.sum(axis=0)
    return params
'''),
    ("one-example-only", "gradient of b2", '''
def backward(params, cache, y, t):
    x, hidden = cache["x"][0], cache["h"][0]
    delta_out = (y[0] - t[0]) * y[0] * (1.0 - y[0])
    delta_hidden = (params["W2"] @ delta_out) * hidden * (1.0 - hidden)
    return {"W1": np.outer(x, delta_hidden), "b1": delta_hidden, "W2": np.outer(hidden, delta_out), "b2": delta_out}
'''),
    ("w2-not-transposed-in-hidden-errors", "shapes do not fit",
     backward_with(RIGHT_OUT, '(delta_out @ params["W2"]) * hidden * (1.0 - hidden)', RIGHT_GRADS)),
    ("wrong-key-names", "keys", '''
def backward(params, cache, y, t):
    x, hidden = cache["x"], cache["h"]
    delta_out = (y - t) * y * (1.0 - y)
    delta_hidden = (delta_out @ params["W2"].T) * hidden * (1.0 - hidden)
    return {"dW1": x.T @ delta_hidden, "db1": delta_hidden.sum(axis=0),
            "dW2": hidden.T @ delta_out, "db2": delta_out.sum(axis=0)}
'''),
]

BACKWARD_RIGHT = [
    ("loops-over-examples", '''
def backward(params, cache, y, t):
    grads = {name: np.zeros_like(value) for name, value in params.items()}
    for x_n, h_n, y_n, t_n in zip(cache["x"], cache["h"], y, t):
        delta_out = (y_n - t_n) * y_n * (1.0 - y_n)
        delta_hidden = (params["W2"] @ delta_out) * h_n * (1.0 - h_n)
        grads["W2"] += np.outer(h_n, delta_out)
        grads["b2"] += delta_out
        grads["W1"] += np.outer(x_n, delta_hidden)
        grads["b1"] += delta_hidden
    return grads
'''),
    ("einsum-and-np-sum", '''
def backward(params, cache, y, t):
    x, h = cache["x"], cache["h"]
    d_out = (y - t) * (y - y ** 2)
    d_hid = np.einsum("nk,jk->nj", d_out, params["W2"]) * (h - h ** 2)
    return {"W2": np.einsum("nj,nk->jk", h, d_out), "b2": np.sum(d_out, axis=0),
            "W1": np.einsum("ni,nj->ij", x, d_hid), "b1": np.sum(d_hid, axis=0)}
'''),
]


@pytest.mark.parametrize("case", BACKWARD_WRONG, ids=case_ids(BACKWARD_WRONG))
def test_backward_mistake_is_caught(case):
    _, expected, source = case
    wrong("test_backward", expected, source)


@pytest.mark.parametrize("case", BACKWARD_RIGHT, ids=case_ids(BACKWARD_RIGHT))
def test_backward_right_variant_is_accepted(case):
    accepted(check(NB, "test_backward", case[1]))


@pytest.mark.parametrize("name, source", [
    ("W1", backward_with(RIGHT_OUT, RIGHT_HIDDEN, RIGHT_GRADS.replace('"W1": x.T @ delta_hidden',
                                                                      '"W1": x.T @ delta_hidden * 2'))),
    ("W2", backward_with(RIGHT_OUT, RIGHT_HIDDEN, RIGHT_GRADS.replace('"W2": hidden.T @ delta_out',
                                                                      '"W2": -(hidden.T @ delta_out)'))),
    ("b1", backward_with(RIGHT_OUT, RIGHT_HIDDEN, RIGHT_GRADS.replace('"b1": delta_hidden.sum(axis=0)',
                                                                      '"b1": delta_hidden.mean(axis=0)'))),
    ("b2", backward_with(RIGHT_OUT, RIGHT_HIDDEN, RIGHT_GRADS.replace('"b2": delta_out.sum(axis=0)',
                                                                      '"b2": delta_out[0]'))),
], ids=["W1", "W2", "b1", "b2"])
def test_backward_names_the_wrong_gradient(name, source):
    outcome = wrong("test_backward", f"gradient of {name} ", source)
    others = {"W1", "W2", "b1", "b2"} - {name}
    assert not any(f"gradient of {other} " in outcome.message for other in others), outcome
