"""09-sequences: wrong answers a beginner writes fail the visible tests with a sentence that names
the wrong part (dW[ids] += dout losing repeated ids, a flattened (N, T) lookup, a BPTT that
forgets to accumulate over time, the tanh derivative, the gradient from the next step or the
right h, a GRU that returns every row's state); right answers written differently (one-hot
products, loops, preallocated arrays, einsum after the loop, LSTM, stacked and bidirectional
layers) pass.

Each case is an answer cell's source; tests/support/mistakes.check runs it in place of the
solution's and then runs the exercise's visible test cell from handson/. No training, no data.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

from tests.support.mistakes import accepted, case_ids, caught, check  # noqa: E402

NB = "09-sequences"


def wrong(test_id, expected, source):
    """The visible tests fail, say EXPECTED, and end in the test cell."""
    return caught(check(NB, test_id, source), says=expected)


# ---- Exercise 1: Embedding -----------------------------------------------------------------------

def embedding_with(forward="self.ids = ids\n        return self.W[ids]",
                   backward="self.dW = np.zeros_like(self.W)\n        np.add.at(self.dW, self.ids, dout)",
                   init="self.ids, self.dW = None, None"):
    """The solution's Embedding with its forward or backward body replaced."""
    return f'''
class Embedding:
    def __init__(self, W):
        self.W = W
        {init}

    def forward(self, ids):
        {forward}

    def backward(self, dout):
        {backward}
        return None
'''


EMBEDDING_WRONG = [
    ("buffered-add-loses-repeats", "np.add.at",
     embedding_with(backward="self.dW = np.zeros_like(self.W)\n        self.dW[self.ids] += dout")),
    ("flattened-ids", "flattened", embedding_with(forward="self.ids = ids\n        return self.W[ids.ravel()]")),
    ("one-hot-for-1d-ids-only", "any shape", embedding_with(forward='''self.ids = ids
        one_hot = np.zeros((len(ids), self.W.shape[0]))
        one_hot[np.arange(len(ids)), ids] = 1.0
        return one_hot @ self.W''')),
    ("first-rows-not-the-ids", "first three rows",
     embedding_with(forward="self.ids = ids\n        return self.W[:len(ids)]")),
    ("dW-is-W-zeroed", "W changed",
     embedding_with(backward="self.dW = self.W\n        self.dW[...] = 0\n        np.add.at(self.dW, self.ids, dout)")),
    ("dW-kept-across-calls", "second backward", embedding_with(
        init="self.ids = None\n        self.dW = np.zeros_like(W)",
        backward="np.add.at(self.dW, self.ids, dout)")),
    ("float64-dW", "float32",
     embedding_with(backward="self.dW = np.zeros(self.W.shape)\n        np.add.at(self.dW, self.ids, dout)")),
    ("padding-zeroed-in-dout", "changed dout", embedding_with(
        backward="dout[self.ids == 0] = 0.0\n        self.dW = np.zeros_like(self.W)\n"
                 "        np.add.at(self.dW, self.ids, dout)")),
    ("dW-is-dout", "shaped like W", embedding_with(backward="self.dW = dout")),
    ("ids-not-kept", "keep the ids", embedding_with(forward="return self.W[ids]")),
]

EMBEDDING_RIGHT = [
    ("one-hot-products", '''
class Embedding:
    def __init__(self, W):
        self.W = W
        self.ids, self.dW = None, None

    def forward(self, ids):
        self.one_hot = np.eye(self.W.shape[0], dtype=self.W.dtype)[ids]     # S + (V,)
        return self.one_hot @ self.W

    def backward(self, dout):
        V, D = self.W.shape
        self.dW = self.one_hot.reshape(-1, V).T @ dout.reshape(-1, D)
'''),
    ("take-and-a-loop", '''
class Embedding:
    def __init__(self, W):
        self.W = W
        self.ids, self.dW = None, None

    def forward(self, ids):
        self.ids = np.asarray(ids)
        return np.take(self.W, self.ids, axis=0)

    def backward(self, dout):
        dW = np.zeros(self.W.shape, dtype=self.W.dtype)
        for index, row in zip(self.ids.ravel(), dout.reshape(-1, self.W.shape[1])):
            dW[index] += row
        self.dW = dW
        return None
'''),
]


@pytest.mark.parametrize("case", EMBEDDING_WRONG, ids=case_ids(EMBEDDING_WRONG))
def test_embedding_mistake_is_caught(case):
    _, expected, source = case
    wrong("test_Embedding", expected, source)


@pytest.mark.parametrize("case", EMBEDDING_RIGHT, ids=case_ids(EMBEDDING_RIGHT))
def test_embedding_right_variant_is_accepted(case):
    accepted(check(NB, "test_Embedding", case[1]))


# ---- Exercise 2: rnn_forward ---------------------------------------------------------------------

def rnn_forward_with(step="h = np.tanh(xs[:, t] @ Wx + h @ Wh + b)", start="h = h0", states="states = []",
                     result="np.stack(states, axis=1)"):
    """The solution's rnn_forward with one of its lines replaced."""
    return f'''
def rnn_forward(xs, h0, Wx, Wh, b):
    {start}
    {states}
    for t in range(xs.shape[1]):
        {step}
        states.append(h)
    return {result}
'''


RNN_FORWARD_WRONG = [
    ("no-tanh", "np.tanh is missing", rnn_forward_with(step="h = xs[:, t] @ Wx + h @ Wh + b")),
    ("h0-ignored", "as if h0 were zero", rnn_forward_with(start="h = np.zeros_like(h0)")),
    ("no-bias", "bias b is missing", rnn_forward_with(step="h = np.tanh(xs[:, t] @ Wx + h @ Wh)")),
    ("h0-at-every-step", "used h0 again", rnn_forward_with(step="h = np.tanh(xs[:, t] @ Wx + h0 @ Wh + b)")),
    ("no-recurrence", "as if h0 were zero", rnn_forward_with(step="h = np.tanh(xs[:, t] @ Wx + b)")),
    ("first-input-every-step", "read the first input again",
     rnn_forward_with(step="h = np.tanh(xs[:, 0] @ Wx + h @ Wh + b)")),
    ("last-state-only", "only the last state", rnn_forward_with(result="h")),
    ("stacked-along-axis-0", "axis 0", rnn_forward_with(result="np.stack(states)")),
    ("h0-included", "T + 1 states", rnn_forward_with(states="states = [h0]")),
    ("in-place-on-h0", "changed h0", rnn_forward_with(step="h[...] = np.tanh(xs[:, t] @ Wx + h @ Wh + b)")),
    ("float64-preallocated", "float32", '''
def rnn_forward(xs, h0, Wx, Wh, b):
    N, T, _ = xs.shape
    hs = np.zeros((N, T, Wh.shape[0]))
    h = h0
    for t in range(T):
        h = np.tanh(xs[:, t] @ Wx + h @ Wh + b)
        hs[:, t] = h
    return hs
'''),
]

RNN_FORWARD_RIGHT = [
    ("preallocated-in-the-input-dtype", '''
def rnn_forward(xs, h0, Wx, Wh, b):
    N, T, _ = xs.shape
    hs = np.empty((N, T, Wh.shape[0]), dtype=xs.dtype)
    previous = h0
    for t in range(T):
        hs[:, t] = np.tanh(xs[:, t] @ Wx + previous @ Wh + b)
        previous = hs[:, t]
    return hs
'''),
    ("time-major-then-transposed", '''
def rnn_forward(xs, h0, Wx, Wh, b):
    states, h = [], h0.copy()
    for x_t in xs.transpose(1, 0, 2):                 # (T, N, D): one step at a time
        a = np.einsum("nd,dh->nh", x_t, Wx) + h.dot(Wh) + b
        h = np.tanh(a)
        states.append(h)
    return np.array(states).transpose(1, 0, 2)
'''),
]


@pytest.mark.parametrize("case", RNN_FORWARD_WRONG, ids=case_ids(RNN_FORWARD_WRONG))
def test_rnn_forward_mistake_is_caught(case):
    _, expected, source = case
    wrong("test_rnn_forward", expected, source)


@pytest.mark.parametrize("case", RNN_FORWARD_RIGHT, ids=case_ids(RNN_FORWARD_RIGHT))
def test_rnn_forward_right_variant_is_accepted(case):
    accepted(check(NB, "test_rnn_forward", case[1]))


# ---- Exercise 3 (★): rnn_backward ----------------------------------------------------------------

def rnn_backward_with(h_prev="hs[:, t - 1] if t > 0 else h0", dh="dhs[:, t] + dh_next",
                      da="dh * (1.0 - hs[:, t] ** 2)", dWx="dWx += xs[:, t].T @ da",
                      dWh="dWh += h_prev.T @ da", db_line="db += da.sum(axis=0)",
                      db_start="np.zeros(Wh.shape[0], dtype=Wh.dtype)", loop="reversed(range(xs.shape[1]))",
                      dh0="dh_next"):
    """The solution's rnn_backward with one of its lines replaced."""
    return f'''
def rnn_backward(dhs, xs, h0, Wx, Wh, hs):
    dxs = np.zeros_like(xs)
    dWx, dWh = np.zeros_like(Wx), np.zeros_like(Wh)
    db = {db_start}
    dh_next = np.zeros_like(h0)
    for t in {loop}:
        h_prev = {h_prev}
        dh = {dh}
        da = {da}
        {dWx}
        {dWh}
        {db_line}
        dxs[:, t] = da @ Wx.T
        dh_next = da @ Wh.T
    return dxs, {dh0}, dWx, dWh, db
'''


RNN_BACKWARD_WRONG = [
    ("not-accumulated-over-time", "only the share of step",
     rnn_backward_with(dWx="dWx = xs[:, t].T @ da", dWh="dWh = h_prev.T @ da", db_line="db = da.sum(axis=0)")),
    ("dWx-not-accumulated", "only the share of step", rnn_backward_with(dWx="dWx = xs[:, t].T @ da")),
    ("dWh-not-accumulated", "add up every step's share", rnn_backward_with(dWh="dWh = h_prev.T @ da")),
    ("no-tanh-derivative", "tanh derivative is missing", rnn_backward_with(da="dh")),
    ("no-gradient-from-the-next-step", "carry dh_next", rnn_backward_with(dh="dhs[:, t]")),
    ("h_t-instead-of-h_t-1", "h_{t-1}", rnn_backward_with(h_prev="hs[:, t]")),
    ("h_t-1-wraps-around-at-t-0", "hs[:, -1]", rnn_backward_with(h_prev="hs[:, t - 1]")),
    ("in-place-on-dhs", "dhs[:, t] += dh_next", rnn_backward_with(dh="dhs[:, t]\n        dh += dh_next")),
    ("forwards-in-time", "step before", rnn_backward_with(loop="range(xs.shape[1])")),
    ("db-not-summed-over-the-batch", "da.sum(axis=0)", rnn_backward_with(db_line="db += da")),
    ("dh0-left-at-zero", "return dh_next", rnn_backward_with(dh0="np.zeros_like(h0)")),
    ("float64-db", "float32", rnn_backward_with(db_start="np.zeros(Wh.shape[0])")),
    ("four-results", "five arrays", '''
def rnn_backward(dhs, xs, h0, Wx, Wh, hs):
    dxs, dWx, dWh, db = np.zeros_like(xs), np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(Wh.shape[0], Wh.dtype)
    dh_next = np.zeros_like(h0)
    for t in reversed(range(xs.shape[1])):
        da = (dhs[:, t] + dh_next) * (1 - hs[:, t] ** 2)
        dWx += xs[:, t].T @ da
        dWh += (hs[:, t - 1] if t else h0).T @ da
        db += da.sum(axis=0)
        dxs[:, t] = da @ Wx.T
        dh_next = da @ Wh.T
    return dxs, dWx, dWh, db
'''),
]

RNN_BACKWARD_RIGHT = [
    ("shifted-states-and-einsum-after-the-loop", '''
def rnn_backward(dhs, xs, h0, Wx, Wh, hs):
    hs_before = np.concatenate([h0[:, None], hs[:, :-1]], axis=1)      # (N, T, H): h_{t-1} for every t
    das = np.zeros_like(hs)
    dh_next = np.zeros_like(h0)
    for t in range(xs.shape[1] - 1, -1, -1):
        das[:, t] = (dhs[:, t] + dh_next) * (1 - hs[:, t] ** 2)
        dh_next = das[:, t] @ Wh.T
    dWx = np.einsum("ntd,nth->dh", xs, das)
    dWh = np.einsum("ntk,nth->kh", hs_before, das)
    db = das.sum(axis=(0, 1))
    dxs = das @ Wx.T
    return dxs, dh_next, dWx, dWh, db
'''),
    ("one-step-function", '''
def backward_step(dh, x_t, h_prev, h_t, Wx, Wh):
    da = dh * (1 - h_t * h_t)
    return da @ Wx.T, da @ Wh.T, x_t.T @ da, h_prev.T @ da, np.sum(da, axis=0)


def rnn_backward(dhs, xs, h0, Wx, Wh, hs):
    T = xs.shape[1]
    dxs = np.empty_like(xs)
    dWx, dWh, db = 0 * Wx, 0 * Wh, 0 * Wh[0]
    carry = 0 * h0
    for t in reversed(range(T)):
        previous = h0 if t == 0 else hs[:, t - 1]
        dxs[:, t], carry, gx, gh, gb = backward_step(dhs[:, t] + carry, xs[:, t], previous, hs[:, t], Wx, Wh)
        dWx, dWh, db = dWx + gx, dWh + gh, db + gb
    return dxs, carry, dWx, dWh, db
'''),
]


@pytest.mark.parametrize("case", RNN_BACKWARD_WRONG, ids=case_ids(RNN_BACKWARD_WRONG))
def test_rnn_backward_mistake_is_caught(case):
    _, expected, source = case
    wrong("test_rnn_backward", expected, source)


@pytest.mark.parametrize("case", RNN_BACKWARD_RIGHT, ids=case_ids(RNN_BACKWARD_RIGHT))
def test_rnn_backward_right_variant_is_accepted(case):
    accepted(check(NB, "test_rnn_backward", case[1]))


def test_rnn_backward_says_to_finish_rnn_forward_first():
    outcome = check(NB, "test_rnn_backward", "def rnn_forward(xs, h0, Wx, Wh, b):\n    raise NotImplementedError()\n")
    caught(outcome, says="finish it first")


# ---- Exercise 4: build_row_reader ----------------------------------------------------------------

def row_reader(*middle, head='layers.Dense(10, activation="softmax")', first="keras.Input(shape=(28, 28))",
               compiled=False):
    """A build_row_reader() returning keras.Sequential([first, *middle, head])."""
    body = ",\n        ".join([first, *middle, head])
    compile_line = '\n    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")' if compiled else ""
    return f'''
def build_row_reader():
    model = keras.Sequential([
        {body},
    ]){compile_line}
    return model
'''


BUILD_ROW_READER_WRONG = [
    ("return-sequences-into-dense", "return_sequences", row_reader("layers.GRU(64, return_sequences=True)")),
    ("no-softmax", "add up to 1", row_reader("layers.GRU(64)", head="layers.Dense(10)")),
    ("simple-rnn", "SimpleRNN", row_reader("layers.SimpleRNN(64)")),
    ("dense-only", "no GRU or LSTM", row_reader("layers.Flatten()", 'layers.Dense(32, activation="relu")')),
    ("channel-axis-from-06", "without a channel axis",
     row_reader("layers.GRU(64)", first="keras.Input(shape=(28, 28, 1))")),
    ("flat-input", "(None, 28, 28)",
     row_reader("layers.Reshape((28, 28))", "layers.GRU(64)", first="keras.Input(shape=(784,))")),
    ("over-the-budget", "more than the budget", row_reader("layers.GRU(256)")),
    ("compiled-inside", "compiled", row_reader("layers.GRU(64)", compiled=True)),
    ("the-same-model-every-call", "same model twice", '''
_the_reader = keras.Sequential([keras.Input(shape=(28, 28)), layers.GRU(32), layers.Dense(10, activation="softmax")])

def build_row_reader():
    return _the_reader
'''),
]

BUILD_ROW_READER_RIGHT = [
    ("lstm-functional-api", '''
def build_row_reader():
    rows = keras.Input(shape=(28, 28))
    state = layers.LSTM(48)(rows)
    return keras.Model(rows, layers.Dense(10, activation="softmax")(state))
'''),
    ("two-stacked-grus-and-a-softmax-layer", row_reader(
        "layers.GRU(32, return_sequences=True)", "layers.GRU(32)", "layers.Dense(10)",
        head="layers.Softmax()")),
    ("bidirectional-gru", row_reader("layers.Bidirectional(layers.GRU(32))")),
]


@pytest.mark.parametrize("case", BUILD_ROW_READER_WRONG, ids=case_ids(BUILD_ROW_READER_WRONG))
def test_build_row_reader_mistake_is_caught(case):
    _, expected, source = case
    wrong("test_build_row_reader", expected, source)


@pytest.mark.parametrize("case", BUILD_ROW_READER_RIGHT, ids=case_ids(BUILD_ROW_READER_RIGHT))
def test_build_row_reader_right_variant_is_accepted(case):
    accepted(check(NB, "test_build_row_reader", case[1]))
