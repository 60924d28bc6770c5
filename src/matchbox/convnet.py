"""A small convolutional network in plain NumPy: the reference for 05-cnn-scratch.

The layers follow the notebook's conventions: images are (N, C, H, W) arrays, every layer has
``forward(x)`` and ``backward(dout)``, and a layer with parameters keeps its gradients in
``grads`` (same keys as ``params``) after ``backward``. Convolution and pooling go through
``im2col``/``col2im``, which loop over filter positions (at most FH·FW steps), never over pixels.

    from matchbox.convnet import ConvNet, train
    net = ConvNet(rng=np.random.default_rng(0))
"""

import time

import numpy as np

__all__ = ["Adam", "Affine", "Conv2D", "ConvNet", "Flatten", "MaxPool2D", "ReLU", "SoftmaxWithLoss",
           "col2im", "conv_output_size", "im2col", "train"]


def conv_output_size(input_size, filter_size, stride=1, pad=0):
    """Output length along one axis: (input + 2 pad - filter) // stride + 1."""
    return (input_size + 2 * pad - filter_size) // stride + 1


def im2col(x, filter_h, filter_w, stride=1, pad=0):
    """(N, C, H, W) images -> (N·OH·OW, C·FH·FW): one row per filter position, one column per weight."""
    n, c, h, w = x.shape
    out_h = conv_output_size(h, filter_h, stride, pad)
    out_w = conv_output_size(w, filter_w, stride, pad)
    padded = np.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)])
    col = np.empty((n, c, filter_h, filter_w, out_h, out_w), dtype=x.dtype)
    for i in range(filter_h):
        i_end = i + stride * out_h
        for j in range(filter_w):
            j_end = j + stride * out_w
            col[:, :, i, j] = padded[:, :, i:i_end:stride, j:j_end:stride]
    return col.transpose(0, 4, 5, 1, 2, 3).reshape(n * out_h * out_w, c * filter_h * filter_w)


def col2im(col, input_shape, filter_h, filter_w, stride=1, pad=0):
    """The adjoint of im2col: scatter-add every row of col back onto the (N, C, H, W) image."""
    n, c, h, w = input_shape
    out_h = conv_output_size(h, filter_h, stride, pad)
    out_w = conv_output_size(w, filter_w, stride, pad)
    col = col.reshape(n, out_h, out_w, c, filter_h, filter_w).transpose(0, 3, 4, 5, 1, 2)
    padded = np.zeros((n, c, h + 2 * pad, w + 2 * pad), dtype=col.dtype)
    for i in range(filter_h):
        i_end = i + stride * out_h
        for j in range(filter_w):
            j_end = j + stride * out_w
            padded[:, :, i:i_end:stride, j:j_end:stride] += col[:, :, i, j]
    return padded[:, :, pad:pad + h, pad:pad + w]


class Conv2D:
    """Convolution: W (FN, C, FH, FW), b (FN,); (N, C, H, W) -> (N, FN, OH, OW)."""

    def __init__(self, W, b, stride=1, pad=0):
        self.params = {"W": W, "b": b}
        self.grads = {"W": None, "b": None}
        self.stride, self.pad = stride, pad
        self.need_dx = True           # the first layer can skip the input's gradient

    def forward(self, x):
        W, b = self.params["W"], self.params["b"]
        n_filters, _, filter_h, filter_w = W.shape
        n, _, h, w = x.shape
        out_h = conv_output_size(h, filter_h, self.stride, self.pad)
        out_w = conv_output_size(w, filter_w, self.stride, self.pad)
        col = im2col(x, filter_h, filter_w, self.stride, self.pad)   # (N·OH·OW, C·FH·FW)
        out = col @ W.reshape(n_filters, -1).T + b                    # (N·OH·OW, FN)
        self.x_shape, self.col = x.shape, col
        return out.reshape(n, out_h, out_w, n_filters).transpose(0, 3, 1, 2)

    def backward(self, dout):
        W = self.params["W"]
        n_filters, _, filter_h, filter_w = W.shape
        dout_rows = dout.transpose(0, 2, 3, 1).reshape(-1, n_filters)  # (N·OH·OW, FN)
        self.grads["W"] = (dout_rows.T @ self.col).reshape(W.shape)
        self.grads["b"] = dout_rows.sum(axis=0)
        if not self.need_dx:
            return None
        dcol = dout_rows @ W.reshape(n_filters, -1)                     # (N·OH·OW, C·FH·FW)
        return col2im(dcol, self.x_shape, filter_h, filter_w, self.stride, self.pad)


class MaxPool2D:
    """Max pooling over pool_h × pool_w windows, moved by stride; no parameters."""

    def __init__(self, pool_h, pool_w, stride=None):
        self.params, self.grads = {}, {}
        self.pool_h, self.pool_w = pool_h, pool_w
        self.stride = pool_h if stride is None else stride

    def forward(self, x):
        n, c, h, w = x.shape
        out_h = conv_output_size(h, self.pool_h, self.stride)
        out_w = conv_output_size(w, self.pool_w, self.stride)
        col = im2col(x, self.pool_h, self.pool_w, self.stride).reshape(-1, self.pool_h * self.pool_w)
        self.argmax = col.argmax(axis=1)                                 # (N·OH·OW·C,)
        self.x_shape = x.shape
        out = col[np.arange(len(col)), self.argmax]
        return out.reshape(n, out_h, out_w, c).transpose(0, 3, 1, 2)

    def backward(self, dout):
        window = self.pool_h * self.pool_w
        dout_rows = dout.transpose(0, 2, 3, 1).ravel()                   # (N·OH·OW·C,)
        dcol = np.zeros((dout_rows.size, window), dtype=dout.dtype)
        dcol[np.arange(dout_rows.size), self.argmax] = dout_rows
        return col2im(dcol.reshape(-1, self.x_shape[1] * window), self.x_shape,
                      self.pool_h, self.pool_w, self.stride)


class ReLU:
    def __init__(self):
        self.params, self.grads = {}, {}

    def forward(self, x):
        self.mask = x <= 0
        return np.where(self.mask, 0, x)

    def backward(self, dout):
        return np.where(self.mask, 0, dout)


class Flatten:
    def __init__(self):
        self.params, self.grads = {}, {}

    def forward(self, x):
        self.x_shape = x.shape
        return x.reshape(len(x), -1)

    def backward(self, dout):
        return dout.reshape(self.x_shape)


class Affine:
    def __init__(self, W, b):
        self.params = {"W": W, "b": b}
        self.grads = {"W": None, "b": None}

    def forward(self, x):
        self.x = x
        return x @ self.params["W"] + self.params["b"]

    def backward(self, dout):
        self.grads["W"] = self.x.T @ dout
        self.grads["b"] = dout.sum(axis=0)
        return dout @ self.params["W"].T


class SoftmaxWithLoss:
    """Softmax and mean cross-entropy over a batch of integer labels."""

    def forward(self, scores, labels):
        shifted = scores - scores.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        self.probs = exp / exp.sum(axis=1, keepdims=True)
        self.labels = labels
        picked = self.probs[np.arange(len(labels)), labels]
        return float(-np.mean(np.log(picked + 1e-7)))

    def backward(self):
        dscores = self.probs.copy()
        dscores[np.arange(len(self.labels)), self.labels] -= 1
        return dscores / len(self.labels)


class Adam:
    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.m, self.v, self.steps = {}, {}, 0

    def update(self, layers):
        self.steps += 1
        correction = np.sqrt(1 - self.beta2 ** self.steps) / (1 - self.beta1 ** self.steps)
        for index, layer in enumerate(layers):
            for name, grad in layer.grads.items():
                key = (index, name)
                if key not in self.m:
                    self.m[key], self.v[key] = np.zeros_like(grad), np.zeros_like(grad)
                self.m[key] += (1 - self.beta1) * (grad - self.m[key])
                self.v[key] += (1 - self.beta2) * (grad * grad - self.v[key])
                step = self.lr * correction * self.m[key] / (np.sqrt(self.v[key]) + self.eps)
                layer.params[name] = layer.params[name] - step.astype(layer.params[name].dtype)


class ConvNet:
    """conv 5×5 (FN filters) - max pool 2×2 - ReLU - affine (hidden) - ReLU - affine (10).

    Pooling before the ReLU gives the same outputs as after it (both are monotone), on a
    quarter of the values.
    """

    def __init__(self, n_filters=16, hidden=100, rng=None, dtype=np.float32):
        rng = np.random.default_rng(0) if rng is None else rng
        conv_W = rng.normal(0, np.sqrt(2 / 25), (n_filters, 1, 5, 5)).astype(dtype)
        flat = n_filters * 12 * 12
        self.layers = [
            Conv2D(conv_W, np.zeros(n_filters, dtype)),
            MaxPool2D(2, 2), ReLU(), Flatten(),
            Affine(rng.normal(0, np.sqrt(2 / flat), (flat, hidden)).astype(dtype), np.zeros(hidden, dtype)),
            ReLU(),
            Affine(rng.normal(0, np.sqrt(1 / hidden), (hidden, 10)).astype(dtype), np.zeros(10, dtype)),
        ]
        self.layers[0].need_dx = False
        self.loss_layer = SoftmaxWithLoss()

    def scores(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def loss(self, x, labels):
        return self.loss_layer.forward(self.scores(x), labels)

    def backward(self):
        dout = self.loss_layer.backward()
        for layer in reversed(self.layers):
            dout = layer.backward(dout)

    def accuracy(self, x, labels, batch_size=1000):
        correct = 0
        for start in range(0, len(x), batch_size):
            scores = self.scores(x[start:start + batch_size])
            correct += int(np.sum(scores.argmax(axis=1) == labels[start:start + batch_size]))
        return correct / len(x)


def train(net, x_train, t_train, x_test, t_test, epochs=2, batch_size=100, lr=1e-3,
          check_every=100, target=None, rng=None, log=print):
    """Mini-batch Adam; every check_every steps (and at each epoch's end) the test accuracy.

    Returns a list of (seconds, step, test accuracy); stops early once target is reached.
    """
    rng = np.random.default_rng(0) if rng is None else rng
    optimizer = Adam(lr)
    history, started, step = [], time.perf_counter(), 0
    steps_per_epoch = len(x_train) // batch_size
    for epoch in range(epochs):
        order = rng.permutation(len(x_train))
        for batch in range(steps_per_epoch):
            chosen = order[batch * batch_size:(batch + 1) * batch_size]
            net.loss(x_train[chosen], t_train[chosen])
            net.backward()
            optimizer.update(net.layers)
            step += 1
            if step % check_every == 0 or batch == steps_per_epoch - 1:
                accuracy = net.accuracy(x_test, t_test)
                seconds = time.perf_counter() - started
                history.append((seconds, step, accuracy))
                log(f"epoch {epoch + 1} step {step:5d}  {seconds:6.1f} s  test accuracy {accuracy:.4f}")
                if target is not None and accuracy >= target:
                    return history
    return history
