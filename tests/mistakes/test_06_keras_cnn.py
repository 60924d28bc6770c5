"""06-keras-cnn: wrong answers a beginner writes fail the visible tests with a sentence that names
the wrong part (a model without softmax no longer passes Validate and then trains to a third of
the target); right answers written differently (functional API, nested models, a Softmax layer,
tf.reduce_sum over rows, tape.watch) pass.

Each case is an answer cell's source; tests/support/mistakes.check runs it in place of the
solution's and then runs the exercise's visible test cell from handson/. No training, no data.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

from tests.support.mistakes import accepted, case_ids, caught, check  # noqa: E402

NB = "06-keras-cnn"


def wrong(test_id, expected, source):
    """The visible tests fail, say EXPECTED, and end in the test cell."""
    return caught(check(NB, test_id, source), says=expected)


# ---- Exercise 1 (★): neuron_gradient -------------------------------------------------------------

def neuron_gradient_with(dtype="np.float64", inside="0.5 * tf.reduce_sum((y - t) ** 2)",
                         a="tf.linalg.matvec(x, w) + b", returned="grad_w.numpy(), float(grad_b.numpy())",
                         b_maker="tf.Variable"):
    """The solution's neuron_gradient with one of its pieces changed."""
    return f'''
def neuron_gradient(w, b, x, t):
    w = tf.Variable(np.asarray(w, dtype={dtype}))
    b = {b_maker}(np.asarray(b, dtype={dtype}))
    x = tf.constant(np.asarray(x, dtype={dtype}))
    t = tf.constant(np.asarray(t, dtype={dtype}))
    with tf.GradientTape() as tape:
        y = tf.sigmoid({a})
        error = {inside}
    grad_w, grad_b = tape.gradient(error, [w, b])
    return {returned}
'''


NEURON_GRADIENT_WRONG = [
    ("float32-tensors", "float64", neuron_gradient_with(dtype="np.float32")),
    ("float32-then-cast-back", "float32 precision",
     neuron_gradient_with(dtype="np.float32", returned="grad_w.numpy().astype(np.float64), float(grad_b)")),
    ("mean-instead-of-sum", "1/N", neuron_gradient_with(inside="0.5 * tf.reduce_mean((y - t) ** 2)")),
    ("without-the-half", "twice", neuron_gradient_with(inside="tf.reduce_sum((y - t) ** 2)")),
    ("keras-mean-squared-error", "mean squared error",
     neuron_gradient_with(inside="keras.losses.MeanSquaredError()(t, y)")),
    ("negated-gradient", "wrong way", neuron_gradient_with(returned="-grad_w.numpy(), -float(grad_b)")),
    ("bias-not-watched", "not watching", neuron_gradient_with(b_maker="tf.constant")),
    ("matmul-of-a-vector", "tf.linalg.matvec", neuron_gradient_with(a="x @ w + b")),
    ("mixed-float32-and-float64", "two dtypes", '''
def neuron_gradient(w, b, x, t):
    w = tf.Variable(np.asarray(w, dtype=np.float64))
    b = tf.Variable(np.float64(b))
    x = tf.constant(x, dtype=tf.float32)
    t = tf.constant(t, dtype=tf.float32)
    with tf.GradientTape() as tape:
        y = tf.sigmoid(tf.linalg.matvec(x, w) + b)
        error = 0.5 * tf.reduce_sum((y - t) ** 2)
    grad_w, grad_b = tape.gradient(error, [w, b])
    return grad_w.numpy(), float(grad_b)
'''),
    ("tensors-not-arrays", "NumPy array", neuron_gradient_with(returned="grad_w, grad_b")),
    ("only-grad-w", "two things", neuron_gradient_with(returned="grad_w.numpy()")),
    ("integer-lists-stay-integers", "whole numbers", '''
def neuron_gradient(w, b, x, t):
    w = tf.Variable(w)
    b = tf.Variable(b, dtype=tf.float64)
    x = tf.constant(x)
    t = tf.constant(t)
    with tf.GradientTape() as tape:
        y = tf.sigmoid(tf.linalg.matvec(x, w) + b)
        error = 0.5 * tf.reduce_sum((y - t) ** 2)
    grad_w, grad_b = tape.gradient(error, [w, b])
    return grad_w.numpy(), float(grad_b)
'''),
    ("swapped-return-order", "grad_w first", neuron_gradient_with(returned="float(grad_b.numpy()), grad_w.numpy()")),
    ("first-example-only", "formula gives", neuron_gradient_with(a="tf.reduce_sum(x[0] * w) + b")),
]

NEURON_GRADIENT_RIGHT = [
    ("reduce-sum-over-rows-and-watch", '''
def neuron_gradient(w, b, x, t):
    w = tf.constant(np.asarray(w, dtype=np.float64))
    b = tf.constant(np.float64(b))
    x = tf.constant(np.asarray(x, dtype=np.float64))
    t = tf.constant(np.asarray(t, dtype=np.float64))
    with tf.GradientTape() as tape:
        tape.watch([w, b])
        y = 1.0 / (1.0 + tf.exp(-(tf.reduce_sum(x * w, axis=1) + b)))
        error = tf.reduce_sum(tf.square(y - t)) / 2.0
    grad_w, grad_b = tape.gradient(error, [w, b])
    return np.asarray(grad_w), np.float64(grad_b)
'''),
    ("matmul-of-a-column", '''
def neuron_gradient(w, b, x, t):
    w = tf.Variable(np.asarray(w, dtype=np.float64)[:, None])
    b = tf.Variable(float(b), dtype=tf.float64)
    x = tf.convert_to_tensor(np.asarray(x, dtype=np.float64))
    t = tf.convert_to_tensor(np.asarray(t, dtype=np.float64))
    with tf.GradientTape() as tape:
        y = tf.sigmoid(tf.matmul(x, w)[:, 0] + b)
        error = 0.5 * tf.reduce_sum((y - t) ** 2)
    grad_w, grad_b = tape.gradient(error, [w, b])
    return grad_w.numpy()[:, 0], grad_b.numpy().item()
'''),
]


@pytest.mark.parametrize("case", NEURON_GRADIENT_WRONG, ids=case_ids(NEURON_GRADIENT_WRONG))
def test_neuron_gradient_mistake_is_caught(case):
    _, expected, source = case
    wrong("test_neuron_gradient", expected, source)


@pytest.mark.parametrize("case", NEURON_GRADIENT_RIGHT, ids=case_ids(NEURON_GRADIENT_RIGHT))
def test_neuron_gradient_right_variant_is_accepted(case):
    accepted(check(NB, "test_neuron_gradient", case[1]))


# ---- Exercise 2: build_model ---------------------------------------------------------------------

def sequential(*middle, head='layers.Dense(10, activation="softmax")', first="keras.Input(shape=(28, 28, 1))",
               compiled=False):
    """A build_model() returning keras.Sequential([first, *middle, head])."""
    body = ",\n        ".join([first, *middle, head] if first else [*middle, head])
    compile_line = '\n    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")' if compiled else ""
    return f'''
def build_model():
    model = keras.Sequential([
        {body},
    ]){compile_line}
    return model
'''


SMALL = ('layers.Conv2D(16, 5, use_bias=False)', 'layers.BatchNormalization()', 'layers.ReLU()',
         'layers.MaxPooling2D()', 'layers.Conv2D(32, 3, use_bias=False)', 'layers.BatchNormalization()',
         'layers.ReLU()', 'layers.MaxPooling2D()', 'layers.Flatten()', 'layers.Dropout(0.25)')

BUILD_MODEL_WRONG = [
    ("no-softmax-on-the-last-layer", "add up to 1", sequential(*SMALL, head="layers.Dense(10)")),
    ("sigmoid-on-the-last-layer", "add up to 1", sequential(*SMALL, head='layers.Dense(10, activation="sigmoid")')),
    ("relu-on-the-last-layer", "add up to 1", sequential(*SMALL, head='layers.Dense(10, activation="relu")')),
    ("no-input-layer", "keras.Input", sequential(*SMALL, first="")),
    ("flat-input-shape", "(None, 28, 28, 1)",
     sequential("layers.Flatten()", "layers.Reshape((28, 28, 1))", *SMALL, first="keras.Input(shape=(784,))")),
    ("fixed-batch-size", "no batch size", sequential(*SMALL, first="keras.Input(shape=(28, 28, 1), batch_size=32)")),
    ("over-the-parameter-budget", "more than the budget",
     sequential('layers.Conv2D(32, 3)', 'layers.BatchNormalization()', 'layers.ReLU()', 'layers.Flatten()',
                'layers.Dropout(0.5)')),
    ("no-batch-normalisation", "BatchNormalization",
     sequential(*[layer for layer in SMALL if "BatchNormalization" not in layer])),
    ("no-dropout", "Dropout", sequential(*[layer for layer in SMALL if "Dropout" not in layer])),
    ("dense-only", "Conv2D",
     sequential('layers.Flatten()', 'layers.BatchNormalization()', 'layers.Dense(48, activation="relu")',
                'layers.Dropout(0.25)')),
    ("compiled-inside", "compiled", sequential(*SMALL, compiled=True)),
    ("two-outputs-only", "(None, 10)", sequential(*SMALL, head='layers.Dense(2, activation="softmax")')),
    ("the-same-model-every-call", "same model twice", '''
_the_model = keras.Sequential([keras.Input(shape=(28, 28, 1)), layers.Conv2D(16, 5), layers.BatchNormalization(),
                               layers.ReLU(), layers.MaxPooling2D(4), layers.Flatten(), layers.Dropout(0.25),
                               layers.Dense(10, activation="softmax")])

def build_model():
    return _the_model
'''),
]

BUILD_MODEL_RIGHT = [
    ("functional-api", '''
def build_model():
    inputs = keras.Input(shape=(28, 28, 1))
    h = layers.Conv2D(16, 5, use_bias=False)(inputs)
    h = layers.BatchNormalization()(h)
    h = layers.Activation("relu")(h)
    h = layers.MaxPooling2D()(h)
    h = layers.Conv2D(32, 3, padding="same", activation="relu")(h)
    h = layers.MaxPooling2D()(h)
    h = layers.Flatten()(h)
    h = layers.Dropout(0.3)(h)
    outputs = layers.Dense(10, activation="softmax")(h)
    return keras.Model(inputs, outputs)
'''),
    ("nested-feature-block-and-softmax-layer", '''
def build_model():
    features = keras.Sequential([layers.Conv2D(8, 3), layers.BatchNormalization(), layers.ReLU(),
                                 layers.MaxPooling2D(), layers.Dropout(0.2)], name="features")
    inputs = keras.Input(shape=(28, 28, 1))
    scores = layers.Dense(10)(layers.Flatten()(layers.MaxPooling2D()(features(inputs))))
    return keras.Model(inputs, layers.Softmax()(scores))
'''),
    ("sequential-with-add", '''
def build_model():
    model = keras.Sequential(name="mine")
    model.add(keras.Input(shape=(28, 28, 1)))
    for filters in (16, 32):
        model.add(layers.Conv2D(filters, 3, activation="relu"))
        model.add(layers.BatchNormalization())
        model.add(layers.MaxPooling2D())
    model.add(layers.GlobalAveragePooling2D())
    model.add(layers.Dropout(0.25))
    model.add(layers.Dense(10, activation="softmax"))
    return model
'''),
]


@pytest.mark.parametrize("case", BUILD_MODEL_WRONG, ids=case_ids(BUILD_MODEL_WRONG))
def test_build_model_mistake_is_caught(case):
    _, expected, source = case
    wrong("test_build_model", expected, source)


@pytest.mark.parametrize("case", BUILD_MODEL_RIGHT, ids=case_ids(BUILD_MODEL_RIGHT))
def test_build_model_right_variant_is_accepted(case):
    accepted(check(NB, "test_build_model", case[1]))
