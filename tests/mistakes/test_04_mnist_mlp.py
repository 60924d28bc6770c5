"""04-mnist-mlp: wrong answers a beginner writes fail the visible tests with a sentence that names
the wrong part; right answers written differently (float32, loops, np.eye, in-place variants) pass.

Each case is an answer cell's source; tests/support/mistakes.check runs it in place of the
solution's and then runs the exercise's visible test cell from handson/.
"""

import textwrap

import pytest

from tests.support import mistakes
from tests.support.mistakes import accepted, case_ids, caught, check

NB = "04-mnist-mlp"
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # wrong answers may divide by zero


def run(test_id, source):
    return check(NB, test_id, source)


# ---- Exercise 1: softmax -------------------------------------------------------------------------

SOFTMAX_WRONG = [
    ("no-max-subtracted-overflows", "overflow", '''
def softmax(a):
    e = np.exp(a)
    return e / np.sum(e, axis=-1, keepdims=True)
'''),
    ("max-of-whole-batch", "of each row", '''
def softmax(a):
    e = np.exp(a - np.max(a))
    return e / np.sum(e, axis=-1, keepdims=True)
'''),
    ("sum-over-axis-0", "sum to", '''
def softmax(a):
    e = np.exp(a - np.max(a, axis=-1, keepdims=True))
    return e / np.sum(e, axis=0)
'''),
    ("sum-of-everything", "sum to", '''
def softmax(a):
    e = np.exp(a - np.max(a, axis=-1, keepdims=True))
    return e / np.sum(e)
'''),
    ("max-per-column", "own", '''
def softmax(a):
    e = np.exp(a - np.max(a, axis=0))
    return e / np.sum(e, axis=-1, keepdims=True)
'''),
    ("mutates-its-input", "in place", '''
def softmax(a):
    a -= np.max(a, axis=-1, keepdims=True)
    e = np.exp(a)
    return e / np.sum(e, axis=-1, keepdims=True)
'''),
    ("integer-result-for-integer-scores", "integer", '''
def softmax(a):
    a = np.asarray(a)
    out = np.zeros_like(a)
    e = np.exp(a - np.max(a, axis=-1, keepdims=True))
    out[...] = e / np.sum(e, axis=-1, keepdims=True)
    return out
'''),
    ("max-without-keepdims", "keepdims=True", '''
def softmax(a):
    e = np.exp(a - np.max(a, axis=-1))
    return e / np.sum(e, axis=-1, keepdims=True)
'''),
    ("returns-a-list", "NumPy array", '''
def softmax(a):
    e = np.exp(a - np.max(a, axis=-1, keepdims=True))
    return (e / np.sum(e, axis=-1, keepdims=True)).tolist()
'''),
]

SOFTMAX_RIGHT = [
    ("float32", '''
def softmax(a):
    a = np.asarray(a, dtype=np.float32)
    e = np.exp(a - a.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
'''),
    ("row-by-row-loop", '''
def softmax(a):
    a = np.asarray(a, dtype=float)
    rows = a.reshape(-1, a.shape[-1])
    out = np.empty_like(rows)
    for i, row in enumerate(rows):
        e = np.exp(row - row.max())
        out[i] = e / e.sum()
    return out.reshape(a.shape)
'''),
    ("log-sum-exp", '''
def softmax(a):
    a = np.asarray(a, dtype=float)
    top = a.max(axis=-1, keepdims=True)
    return np.exp(a - top - np.log(np.exp(a - top).sum(axis=-1, keepdims=True)))
'''),
]


@pytest.mark.parametrize("name, says, source", SOFTMAX_WRONG, ids=case_ids(SOFTMAX_WRONG))
def test_softmax_mistake_is_caught(name, says, source):
    caught(run("test_softmax", source), says=says)


@pytest.mark.parametrize("name, source", SOFTMAX_RIGHT, ids=case_ids(SOFTMAX_RIGHT))
def test_softmax_right_variant_passes(name, source):
    accepted(run("test_softmax", source))


# ---- Exercise 2: one_hot -------------------------------------------------------------------------

ONE_HOT_WRONG = [
    ("no-n_classes-parameter", "n_classes", '''
def one_hot(labels):
    labels = np.asarray(labels, dtype=int)
    encoded = np.zeros((len(labels), 10))
    encoded[np.arange(len(labels)), labels] = 1.0
    return encoded
'''),
    ("n_classes-without-default", "default", '''
def one_hot(labels, n_classes):
    labels = np.asarray(labels, dtype=int)
    encoded = np.zeros((len(labels), n_classes))
    encoded[np.arange(len(labels)), labels] = 1.0
    return encoded
'''),
    ("columns-from-largest-label", "largest label", '''
def one_hot(labels, n_classes=10):
    labels = np.asarray(labels, dtype=int)
    encoded = np.zeros((len(labels), labels.max() + 1))
    encoded[np.arange(len(labels)), labels] = 1.0
    return encoded
'''),
    ("integer-dtype", "floats", '''
def one_hot(labels, n_classes=10):
    labels = np.asarray(labels, dtype=int)
    encoded = np.zeros((len(labels), n_classes), dtype=int)
    encoded[np.arange(len(labels)), labels] = 1
    return encoded
'''),
    ("whole-columns", "one 1.0 per row", '''
def one_hot(labels, n_classes=10):
    labels = np.asarray(labels, dtype=int)
    encoded = np.zeros((len(labels), n_classes))
    encoded[:, labels] = 1.0
    return encoded
'''),
    ("transposed", "shape", '''
def one_hot(labels, n_classes=10):
    labels = np.asarray(labels, dtype=int)
    encoded = np.zeros((n_classes, len(labels)))
    encoded[labels, np.arange(len(labels))] = 1.0
    return encoded
'''),
    ("ignores-n_classes", "shape", '''
def one_hot(labels, n_classes=10):
    labels = np.asarray(labels, dtype=int)
    encoded = np.zeros((len(labels), 10))
    encoded[np.arange(len(labels)), labels] = 1.0
    return encoded
'''),
]

ONE_HOT_RIGHT = [
    ("np-eye", '''
def one_hot(labels, n_classes=10):
    return np.eye(n_classes)[np.asarray(labels, dtype=int)]
'''),
    ("loop", '''
def one_hot(labels, n_classes=10):
    rows = []
    for label in labels:
        row = [0.0] * n_classes
        row[int(label)] = 1.0
        rows.append(row)
    return np.array(rows, dtype=float).reshape(len(rows), n_classes)
'''),
    ("default-None-means-10", '''
def one_hot(labels, n_classes=None):
    n_classes = 10 if n_classes is None else n_classes
    labels = np.asarray(labels).astype(int)
    return (labels[:, None] == np.arange(n_classes)).astype(float)
'''),
]


@pytest.mark.parametrize("name, says, source", ONE_HOT_WRONG, ids=case_ids(ONE_HOT_WRONG))
def test_one_hot_mistake_is_caught(name, says, source):
    caught(run("test_one_hot", source), says=says)


@pytest.mark.parametrize("name, source", ONE_HOT_RIGHT, ids=case_ids(ONE_HOT_RIGHT))
def test_one_hot_right_variant_passes(name, source):
    accepted(run("test_one_hot", source))


# ---- Exercise 3: cross_entropy -------------------------------------------------------------------

CROSS_ENTROPY_WRONG = [
    ("sum-not-mean", "sum over the batch", '''
def cross_entropy(y, t):
    y = np.asarray(y, dtype=float).reshape(-1, np.shape(y)[-1])
    t = np.asarray(t)
    labels = t.reshape(len(y), -1).argmax(axis=1) if t.size == y.size else t.reshape(-1).astype(int)
    return float(-np.sum(np.log(y[np.arange(len(y)), labels] + 1e-7)))
'''),
    ("no-guard-against-log-0", "1e-7", '''
def cross_entropy(y, t):
    y = np.asarray(y, dtype=float).reshape(-1, np.shape(y)[-1])
    t = np.asarray(t)
    labels = t.reshape(len(y), -1).argmax(axis=1) if t.size == y.size else t.reshape(-1).astype(int)
    return float(-np.mean(np.log(y[np.arange(len(y)), labels])))
'''),
    ("one-hot-only", "integer labels", '''
def cross_entropy(y, t):
    y = np.asarray(y, dtype=float).reshape(-1, np.shape(y)[-1])
    t = np.asarray(t).reshape(y.shape)
    return float(-np.sum(t * np.log(y + 1e-7)) / y.shape[0])
'''),
    ("labels-only", "one-hot", '''
def cross_entropy(y, t):
    y = np.asarray(y, dtype=float).reshape(-1, np.shape(y)[-1])
    labels = np.asarray(t).reshape(-1)
    return float(-np.mean(np.log(y[np.arange(y.shape[0]), labels] + 1e-7)))
'''),
    ("loss-per-example", "one float", '''
def cross_entropy(y, t):
    y = np.asarray(y, dtype=float).reshape(-1, np.shape(y)[-1])
    t = np.asarray(t)
    labels = t.reshape(len(y), -1).argmax(axis=1) if t.size == y.size else t.reshape(-1).astype(int)
    return -np.log(y[np.arange(len(y)), labels] + 1e-7)
'''),
    ("mean-over-all-entries", "all 6 entries", '''
def cross_entropy(y, t):
    y = np.asarray(y, dtype=float)
    return float(-np.mean(np.log(y + 1e-7)))
'''),
    ("no-single-example", "batch of one", '''
def cross_entropy(y, t):
    t = np.asarray(t)
    if t.size == y.size:
        t = t.argmax(axis=1)
    return float(-np.mean(np.log(y[np.arange(y.shape[0]), t] + 1e-7)))
'''),
    ("changes-y-in-place", "in place", '''
def cross_entropy(y, t):
    y += 1e-7
    y2 = y.reshape(-1, y.shape[-1])
    t = np.asarray(t)
    labels = t.reshape(len(y2), -1).argmax(axis=1) if t.size == y2.size else t.reshape(-1).astype(int)
    return float(-np.mean(np.log(y2[np.arange(len(y2)), labels])))
'''),
]

CROSS_ENTROPY_RIGHT = [
    ("clip-instead-of-delta", '''
def cross_entropy(y, t):
    y = np.asarray(y, dtype=float).reshape(-1, np.shape(y)[-1])
    t = np.asarray(t)
    if t.size != y.size:
        t = np.eye(y.shape[1])[t.reshape(-1).astype(int)]
    return float(-np.sum(t.reshape(y.shape) * np.log(np.clip(y, 1e-7, 1.0))) / y.shape[0])
'''),
    ("loop-over-examples", '''
def cross_entropy(y, t):
    y = np.atleast_2d(np.asarray(y, dtype=float))
    t = np.asarray(t)
    labels = np.atleast_2d(t).argmax(axis=1) if t.size == y.size else np.atleast_1d(t)
    total = 0.0
    for row, label in zip(y, labels):
        total += -np.log(row[int(label)] + 1e-7)
    return total / len(y)
'''),
]


@pytest.mark.parametrize("name, says, source", CROSS_ENTROPY_WRONG, ids=case_ids(CROSS_ENTROPY_WRONG))
def test_cross_entropy_mistake_is_caught(name, says, source):
    caught(run("test_cross_entropy", source), says=says)


@pytest.mark.parametrize("name, source", CROSS_ENTROPY_RIGHT, ids=case_ids(CROSS_ENTROPY_RIGHT))
def test_cross_entropy_right_variant_passes(name, source):
    accepted(run("test_cross_entropy", source))


# ---- Layers and optimisers: one class, its methods written out as a learner would -------------------

def body(source):
    """A method body written at any indentation, indented for a method."""
    return textwrap.indent(textwrap.dedent(source).strip("\n"), " " * 8)


def layer(name, init, **methods):
    """class NAME with __init__(INIT) and the methods given as {"forward(self, x)": body}."""
    lines = [f"class {name}:", f"    def __init__({init[0]}):", body(init[1])]
    for signature, source in methods.items():
        lines += ["", f"    def {signature}:", body(source)]
    return "\n".join(lines) + "\n"


# ---- Exercise 4: Affine --------------------------------------------------------------------------

AFFINE_INIT = ("self, W, b", "self.W = W\nself.b = b\nself.x = None\nself.dW = None\nself.db = None")
AFFINE_FORWARD = """
    self.x = x
    return x @ self.W + self.b
"""
AFFINE_BACKWARD = """
    self.dW = self.x.T @ dout
    self.db = dout.sum(axis=0)
    return dout @ self.W.T
"""


def affine(forward=AFFINE_FORWARD, backward=AFFINE_BACKWARD):
    return layer("Affine", AFFINE_INIT, **{"forward(self, x)": forward, "backward(self, dout)": backward})


AFFINE_WRONG = [
    ("bias-missing", "bias b is missing", affine(forward="""
        self.x = x
        return x @ self.W
    """)),
    ("dW-transposed", "self.dW", affine(backward=AFFINE_BACKWARD.replace("self.x.T @ dout", "dout.T @ self.x"))),
    ("db-mean-not-sum", "that is the mean", affine(backward=AFFINE_BACKWARD.replace("sum(axis=0)", "mean(axis=0)"))),
    ("db-summed-over-axis-1", "self.db", affine(backward=AFFINE_BACKWARD.replace("axis=0", "axis=1"))),
    ("db-summed-over-everything", "self.db", affine(backward=AFFINE_BACKWARD.replace("(axis=0)", "()"))),
    ("db-not-summed", "self.db", affine(backward=AFFINE_BACKWARD.replace("dout.sum(axis=0)", "dout"))),
    ("dx-without-transpose", "dx", affine(backward=AFFINE_BACKWARD.replace("dout @ self.W.T", "dout @ self.W"))),
    ("dx-wrong-order", "dx", affine(backward=AFFINE_BACKWARD.replace("dout @ self.W.T", "self.W.T @ dout.T"))),
    ("W-replaced-by-a-copy", "never replace self.W", affine(forward="""
        self.W = self.W.astype(x.dtype)
        self.x = x
        return x @ self.W + self.b
    """)),
    ("dW-from-a-wrong-x", "dW", affine(forward="""
        self.x = np.ones_like(x)
        return x @ self.W + self.b
    """)),
]

AFFINE_RIGHT = [
    ("np-dot-and-einsum", affine(forward="""
        self.x = x
        return np.dot(x, self.W) + self.b
    """, backward="""
        self.dW = np.einsum("nd,nm->dm", self.x, dout)
        self.db = np.sum(dout, axis=0)
        return np.dot(dout, self.W.T)
    """)),
    ("loops-over-the-batch", affine(forward="""
        self.x = x
        out = np.empty((x.shape[0], self.W.shape[1]))
        for n in range(x.shape[0]):
            out[n] = x[n] @ self.W + self.b
        return out
    """, backward="""
        self.dW = np.zeros_like(self.W)
        self.db = np.zeros_like(self.b)
        dx = np.empty_like(self.x)
        for n in range(dout.shape[0]):
            self.dW += np.outer(self.x[n], dout[n])
            self.db += dout[n]
            dx[n] = self.W @ dout[n]
        return dx
    """)),
]


@pytest.mark.parametrize("name, says, source", AFFINE_WRONG, ids=case_ids(AFFINE_WRONG))
def test_affine_mistake_is_caught(name, says, source):
    caught(run("test_Affine", source), says=says)


@pytest.mark.parametrize("name, source", AFFINE_RIGHT, ids=case_ids(AFFINE_RIGHT))
def test_affine_right_variant_passes(name, source):
    accepted(run("test_Affine", source))


# ---- Exercise 5: ReLU ----------------------------------------------------------------------------

RELU_INIT = ("self", "self.mask = None")
RELU_FORWARD = """
    self.mask = x <= 0
    return np.where(self.mask, 0.0, x)
"""
RELU_BACKWARD = "return np.where(self.mask, 0.0, dout)"


def relu(forward=RELU_FORWARD, backward=RELU_BACKWARD):
    return layer("ReLU", RELU_INIT, **{"forward(self, x)": forward, "backward(self, dout)": backward})


RELU_WRONG = [
    ("forward-changes-x", "forward changed its input", relu(forward="""
        self.mask = x <= 0
        x[self.mask] = 0
        return x
    """)),
    ("backward-changes-dout", "backward changed dout", relu(backward="""
        dout[self.mask] = 0
        return dout
    """)),
    ("mask-from-dout", "not from the signs of dout", relu(backward="return np.where(dout > 0, dout, 0.0)")),
    ("strict-mask-at-zero", "x <= 0", relu(forward=RELU_FORWARD.replace("x <= 0", "x < 0"))),
    ("mask-shared-by-all-layers", "own mask", relu(forward="""
        ReLU.shared = x <= 0
        return np.where(ReLU.shared, 0.0, x)
    """, backward="return np.where(ReLU.shared, 0.0, dout)")),
    ("two-d-loops-only", "any shape", relu(forward="""
        self.mask = x <= 0
        out = x.copy()
        for i in range(x.shape[0]):
            for j in range(x.shape[1]):
                if out[i, j] <= 0:
                    out[i, j] = 0.0
        return out
    """)),
    ("returns-the-mask", "expected [[0, 0, 2]", relu(forward="""
        self.mask = x <= 0
        return (x > 0).astype(float)
    """)),
]

RELU_RIGHT = [
    ("maximum-and-multiply", relu(forward="""
        self.mask = x <= 0
        return np.maximum(x, 0.0)
    """, backward="return dout * ~self.mask")),
    ("mask-from-output", relu(forward="""
        self.out = np.maximum(0.0, x)
        return self.out
    """, backward="return dout * (self.out > 0)")),
    ("copy-then-zero", relu(forward="""
        self.mask = x <= 0
        out = x.copy()
        out[self.mask] = 0
        return out
    """, backward="""
        dx = dout.copy()
        dx[self.mask] = 0
        return dx
    """)),
]


@pytest.mark.parametrize("name, says, source", RELU_WRONG, ids=case_ids(RELU_WRONG))
def test_relu_mistake_is_caught(name, says, source):
    caught(run("test_ReLU", source), says=says)


@pytest.mark.parametrize("name, source", RELU_RIGHT, ids=case_ids(RELU_RIGHT))
def test_relu_right_variant_passes(name, source):
    accepted(run("test_ReLU", source))


# ---- Exercise 6: SoftmaxWithLoss -----------------------------------------------------------------

LOSS_INIT = ("self", "self.y = None\nself.t = None")
LOSS_FORWARD = """
    t = np.asarray(t)
    self.y = softmax(x)
    self.t = t if t.shape == self.y.shape else one_hot(t, self.y.shape[1])
    return cross_entropy(self.y, self.t)
"""
LOSS_BACKWARD = "return dout * (self.y - self.t) / self.y.shape[0]"


def loss_layer(forward=LOSS_FORWARD, backward=LOSS_BACKWARD, signature="backward(self, dout=1.0)"):
    return layer("SoftmaxWithLoss", LOSS_INIT, **{"forward(self, x, t)": forward, signature: backward})


LOSS_WRONG = [
    ("no-division-by-batch-size", "divide by the batch size", loss_layer(backward="return dout * (self.y - self.t)")),
    ("divides-by-classes", "not by the number of classes",
     loss_layer(backward="return dout * (self.y - self.t) / self.y.shape[1]")),
    ("ignores-dout", "multiply by dout", loss_layer(backward="return (self.y - self.t) / self.y.shape[0]")),
    ("integer-labels-kept", "one-hot", loss_layer(forward="""
        self.y = softmax(x)
        self.t = t
        return cross_entropy(self.y, t)
    """)),
    ("one-hot-without-class-count", "one_hot(t, K)",
     loss_layer(forward=LOSS_FORWARD.replace("one_hot(t, self.y.shape[1])", "one_hot(t)"))),
    ("one-hot-labels-encoded-again", "keep one-hot labels as they are", loss_layer(forward="""
        self.y = softmax(x)
        self.t = one_hot(t, self.y.shape[1])
        return cross_entropy(self.y, self.t)
    """)),
    ("no-default-dout", "default", loss_layer(signature="backward(self, dout)")),
    ("stores-scores-not-probabilities", "probabilities", loss_layer(forward="""
        t = np.asarray(t)
        self.y = x
        self.t = t if t.shape == x.shape else one_hot(t, x.shape[1])
        return cross_entropy(softmax(x), self.t)
    """)),
    ("changes-x-in-place", "in place", loss_layer(forward="    x -= x.max(axis=1, keepdims=True)" + LOSS_FORWARD)),
]

LOSS_RIGHT = [
    ("labels-kept-and-subtract-one", loss_layer(forward="""
        self.t = np.asarray(t)
        self.y = softmax(x)
        return cross_entropy(self.y, self.t)
    """, backward="""
        n = self.y.shape[0]
        if self.t.shape == self.y.shape:
            return dout * (self.y - self.t) / n
        dx = self.y.copy()
        dx[np.arange(n), self.t] -= 1
        return dout * dx / n
    """)),
    ("np-eye-inline", loss_layer(forward="""
        t = np.asarray(t)
        self.y = softmax(x)
        self.t = np.eye(x.shape[1])[t] if t.ndim == 1 else t
        return float(-np.mean(np.log(np.sum(self.y * self.t, axis=1) + 1e-7)))
    """)),
]


@pytest.mark.parametrize("name, says, source", LOSS_WRONG, ids=case_ids(LOSS_WRONG))
def test_softmax_with_loss_mistake_is_caught(name, says, source):
    caught(run("test_SoftmaxWithLoss", source), says=says)


@pytest.mark.parametrize("name, source", LOSS_RIGHT, ids=case_ids(LOSS_RIGHT))
def test_softmax_with_loss_right_variant_passes(name, source):
    accepted(run("test_SoftmaxWithLoss", source))


def test_softmax_with_loss_tests_give_back_the_learners_functions():
    """Leaving the test's `with` block, failed or not, puts the learner's softmax() back."""
    namespace = mistakes.right_answers(NB)
    mine = namespace["softmax"]
    exec(loss_layer(backward="return dout * (self.y - self.t)"), namespace)
    with pytest.raises(AssertionError):
        exec(mistakes.visible_test(NB, "test_SoftmaxWithLoss"), namespace)
    assert namespace["softmax"] is mine, "the test cell left its reference softmax() in the learner's notebook"


# ---- Exercises 7 to 11: the optimisers -----------------------------------------------------------

def sgd(update):
    return layer("SGD", ("self, lr=0.01", "self.lr = lr"), **{"update(self, params, grads)": update})


def momentum(update):
    init = ("self, lr=0.01, momentum=0.9", "self.lr = lr\nself.momentum = momentum\nself.velocity = {}")
    return layer("Momentum", init, **{"update(self, params, grads)": update})


def adagrad(update):
    init = ("self, lr=0.01", "self.lr = lr\nself.eps = 1e-7\nself.h = {}")
    return layer("AdaGrad", init, **{"update(self, params, grads)": update})


def rmsprop(update):
    init = ("self, lr=0.001, decay_rate=0.99",
            "self.lr = lr\nself.decay_rate = decay_rate\nself.eps = 1e-7\nself.h = {}")
    return layer("RMSProp", init, **{"update(self, params, grads)": update})


def adam(update):
    init = ("self, lr=0.001, beta1=0.9, beta2=0.999",
            "self.lr = lr\nself.beta1 = beta1\nself.beta2 = beta2\nself.eps = 1e-8\n"
            "self.t = 0\nself.m = {}\nself.v = {}")
    return layer("Adam", init, **{"update(self, params, grads)": update})


REBOUND = "rebound params"
ADAM_MOMENTS = """
            self.m[key] = self.beta1 * self.m.get(key, 0.0) + (1 - self.beta1) * grads[key]
            self.v[key] = self.beta2 * self.v.get(key, 0.0) + (1 - self.beta2) * grads[key] ** 2
"""

OPTIMIZER_WRONG = [
    # SGD
    ("test_SGD", "sgd-rebinds-params", REBOUND, sgd("""
        for key in params:
            params[key] = params[key] - self.lr * grads[key]
    """)),
    ("test_SGD", "sgd-fixed-learning-rate", "self.lr", sgd("""
        for key in params:
            params[key] -= 0.01 * grads[key]
    """)),
    ("test_SGD", "sgd-changes-grads", "changed grads", sgd("""
        for key in params:
            grads[key] *= self.lr
            params[key] -= grads[key]
    """)),
    ("test_SGD", "sgd-wrong-sign", "param -= lr * grad", sgd("""
        for key in params:
            params[key] += self.lr * grads[key]
    """)),
    ("test_SGD", "sgd-returns-after-first-key", "'b'", sgd("""
        for key in params:
            params[key] -= self.lr * grads[key]
            return
    """)),
    # Momentum: the rebinding one learned nothing in the race (9 %) and passed its test before
    ("test_Momentum", "momentum-rebinds-params", REBOUND, momentum("""
        for key in params:
            v = self.velocity.get(key, np.zeros_like(params[key]))
            self.velocity[key] = self.momentum * v - self.lr * grads[key]
            params[key] = params[key] + self.velocity[key]
    """)),
    ("test_Momentum", "momentum-one-velocity-for-all-keys", "per key", momentum("""
        if not hasattr(self, "v"):
            self.v = 0.0
        for key in params:
            self.v = self.momentum * self.v - self.lr * grads[key]
            params[key] += self.v
    """)),
    ("test_Momentum", "momentum-forgets-velocity", "kept between calls", momentum("""
        for key in params:
            self.velocity[key] = -self.lr * grads[key]
            params[key] += self.velocity[key]
    """)),
    ("test_Momentum", "momentum-fixed-0.9", "0.5 here", momentum("""
        for key in params:
            v = self.velocity.get(key, np.zeros_like(params[key]))
            self.velocity[key] = 0.9 * v - self.lr * grads[key]
            params[key] += self.velocity[key]
    """)),
    ("test_Momentum", "momentum-velocity-aliases-grads", "changed grads", momentum("""
        for key in params:
            if key not in self.velocity:
                self.velocity[key] = grads[key]
                self.velocity[key] *= -self.lr
            else:
                self.velocity[key] = self.momentum * self.velocity[key] - self.lr * grads[key]
            params[key] += self.velocity[key]
    """)),
    # AdaGrad
    ("test_AdaGrad", "adagrad-rebinds-params", REBOUND, adagrad("""
        for key in params:
            self.h[key] = self.h.get(key, 0.0) + grads[key] ** 2
            params[key] = params[key] - self.lr * grads[key] / (np.sqrt(self.h[key]) + self.eps)
    """)),
    ("test_AdaGrad", "adagrad-h-not-accumulated", "adding up", adagrad("""
        for key in params:
            self.h[key] = grads[key] ** 2
            params[key] -= self.lr * grads[key] / (np.sqrt(self.h[key]) + self.eps)
    """)),
    ("test_AdaGrad", "adagrad-no-square-root", "sqrt(h)", adagrad("""
        for key in params:
            self.h[key] = self.h.get(key, 0.0) + grads[key] ** 2
            params[key] -= self.lr * grads[key] / (self.h[key] + self.eps)
    """)),
    ("test_AdaGrad", "adagrad-one-h-for-all-keys", "per key", adagrad("""
        if not isinstance(self.h, np.ndarray):
            self.h = np.zeros((2, 3))
        for key in params:
            self.h += grads[key] ** 2
            params[key] -= self.lr * grads[key] / (np.sqrt(self.h) + self.eps)
    """)),
    ("test_AdaGrad", "adagrad-eps-inside-the-square-root", "outside the square root", adagrad("""
        for key in params:
            self.h[key] = self.h.get(key, 0.0) + grads[key] ** 2
            params[key] -= self.lr * grads[key] / np.sqrt(self.h[key] + self.eps)
    """)),
    ("test_AdaGrad", "adagrad-changes-grads", "changed grads", adagrad("""
        for key in params:
            self.h[key] = self.h.get(key, 0.0) + grads[key] ** 2
            grads[key] /= np.sqrt(self.h[key]) + self.eps
            params[key] -= self.lr * grads[key]
    """)),
    # RMSProp
    ("test_RMSProp", "rmsprop-rebinds-params", REBOUND, rmsprop("""
        for key in params:
            h = self.h.get(key, 0.0)
            self.h[key] = self.decay_rate * h + (1 - self.decay_rate) * grads[key] ** 2
            params[key] = params[key] - self.lr * grads[key] / (np.sqrt(self.h[key]) + self.eps)
    """)),
    ("test_RMSProp", "rmsprop-fixed-0.99", "decay_rate", rmsprop("""
        for key in params:
            self.h[key] = 0.99 * self.h.get(key, 0.0) + 0.01 * grads[key] ** 2
            params[key] -= self.lr * grads[key] / (np.sqrt(self.h[key]) + self.eps)
    """)),
    ("test_RMSProp", "rmsprop-without-one-minus-rho", "decay_rate", rmsprop("""
        for key in params:
            self.h[key] = self.decay_rate * self.h.get(key, 0.0) + grads[key] ** 2
            params[key] -= self.lr * grads[key] / (np.sqrt(self.h[key]) + self.eps)
    """)),
    ("test_RMSProp", "rmsprop-is-adagrad", "decay_rate", rmsprop("""
        for key in params:
            self.h[key] = self.h.get(key, 0.0) + grads[key] ** 2
            params[key] -= self.lr * grads[key] / (np.sqrt(self.h[key]) + self.eps)
    """)),
    ("test_RMSProp", "rmsprop-one-h-for-all-keys", "per key", rmsprop("""
        for key in params:
            previous = 0.0 if isinstance(self.h, dict) else self.h
            self.h = self.decay_rate * previous + (1 - self.decay_rate) * grads[key] ** 2
            params[key] -= self.lr * grads[key] / (np.sqrt(self.h) + self.eps)
    """)),
    # Adam
    ("test_Adam", "adam-step-count-per-key", "not one per key", adam("""
        for key in params:
            self.t += 1""" + ADAM_MOMENTS + """
            m_hat = self.m[key] / (1 - self.beta1 ** self.t)
            v_hat = self.v[key] / (1 - self.beta2 ** self.t)
            params[key] -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
    """)),
    ("test_Adam", "adam-step-count-per-key-elsewhere", "t = 1", adam("""
        self.steps = getattr(self, "steps", {})
        for key in params:
            self.steps[key] = self.steps.get(key, 0) + len(params)
            t = self.steps[key]""" + ADAM_MOMENTS + """
            m_hat = self.m[key] / (1 - self.beta1 ** t)
            v_hat = self.v[key] / (1 - self.beta2 ** t)
            params[key] -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
    """)),
    ("test_Adam", "adam-no-bias-correction", "bias correction", adam("""
        self.t += 1
        for key in params:""" + ADAM_MOMENTS + """
            params[key] -= self.lr * self.m[key] / (np.sqrt(self.v[key]) + self.eps)
    """)),
    ("test_Adam", "adam-correction-stored-in-m-and-v", "kept between calls", adam("""
        self.t += 1
        for key in params:""" + ADAM_MOMENTS + """
            self.m[key] = self.m[key] / (1 - self.beta1 ** self.t)
            self.v[key] = self.v[key] / (1 - self.beta2 ** self.t)
            params[key] -= self.lr * self.m[key] / (np.sqrt(self.v[key]) + self.eps)
    """)),
    ("test_Adam", "adam-counts-after-the-step", "t = 1", adam("""
        for key in params:""" + ADAM_MOMENTS + """
            m_hat = self.m[key] / (1 - self.beta1 ** self.t)
            v_hat = self.v[key] / (1 - self.beta2 ** self.t)
            params[key] -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
        self.t += 1
    """)),
    ("test_Adam", "adam-rebinds-params", REBOUND, adam("""
        self.t += 1
        for key in params:""" + ADAM_MOMENTS + """
            m_hat = self.m[key] / (1 - self.beta1 ** self.t)
            v_hat = self.v[key] / (1 - self.beta2 ** self.t)
            params[key] = params[key] - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
    """)),
    ("test_Adam", "adam-fixed-betas", "beta1 and beta2", adam("""
        self.t += 1
        for key in params:
            self.m[key] = 0.9 * self.m.get(key, 0.0) + 0.1 * grads[key]
            self.v[key] = 0.999 * self.v.get(key, 0.0) + 0.001 * grads[key] ** 2
            m_hat = self.m[key] / (1 - 0.9 ** self.t)
            v_hat = self.v[key] / (1 - 0.999 ** self.t)
            params[key] -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
    """)),
]

OPTIMIZER_RIGHT = [
    ("test_SGD", "sgd-items-in-place", sgd("""
        for key, value in params.items():
            value -= self.lr * grads[key]
    """)),
    ("test_SGD", "sgd-np-subtract-out", sgd("""
        for key in grads:
            np.subtract(params[key], self.lr * grads[key], out=params[key])
    """)),
    ("test_Momentum", "momentum-velocity-with-opposite-sign", momentum("""
        for key in params:
            v = self.velocity.setdefault(key, np.zeros_like(params[key]))
            v *= self.momentum
            v += self.lr * grads[key]
            params[key] -= v
    """)),
    ("test_AdaGrad", "adagrad-state-in-place", adagrad("""
        for key in params:
            h = self.h.setdefault(key, np.zeros_like(params[key]))
            np.add(h, grads[key] ** 2, out=h)
            params[key] -= self.lr / (np.sqrt(h) + self.eps) * grads[key]
    """)),
    ("test_RMSProp", "rmsprop-in-place-state", rmsprop("""
        for key in params:
            h = self.h.setdefault(key, np.zeros_like(params[key]))
            h *= self.decay_rate
            h += (1 - self.decay_rate) * grads[key] ** 2
            params[key] -= self.lr * grads[key] / (np.sqrt(h) + self.eps)
    """)),
    ("test_Adam", "adam-learning-rate-folded-as-in-the-book", adam("""
        self.t += 1
        lr_t = self.lr * np.sqrt(1 - self.beta2 ** self.t) / (1 - self.beta1 ** self.t)
        for key in params:
            if key not in self.m:
                self.m[key], self.v[key] = np.zeros_like(params[key]), np.zeros_like(params[key])
            self.m[key] += (1 - self.beta1) * (grads[key] - self.m[key])
            self.v[key] += (1 - self.beta2) * (grads[key] ** 2 - self.v[key])
            params[key] -= lr_t * self.m[key] / (np.sqrt(self.v[key]) + 1e-7)
    """)),
    ("test_Adam", "adam-own-step-counter", adam("""
        self.calls = getattr(self, "calls", 0) + 1
        for key in params:""" + ADAM_MOMENTS + """
            m_hat = self.m[key] / (1 - self.beta1 ** self.calls)
            v_hat = self.v[key] / (1 - self.beta2 ** self.calls)
            params[key] -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
    """)),
]


@pytest.mark.parametrize("test_id, name, says, source", OPTIMIZER_WRONG, ids=[case[1] for case in OPTIMIZER_WRONG])
def test_optimizer_mistake_is_caught(test_id, name, says, source):
    caught(run(test_id, source), says=says)


@pytest.mark.parametrize("test_id, name, source", OPTIMIZER_RIGHT, ids=[case[1] for case in OPTIMIZER_RIGHT])
def test_optimizer_right_variant_passes(test_id, name, source):
    accepted(run(test_id, source))
