"""07-transfer-learning: wrong answers a beginner writes fail the visible tests with a sentence that
names the wrong part (a clone instead of shared layers, labels 5-9 left unshifted, a body left
unfrozen, the old 0-4 head reused, a head of 10 outputs, `model.trainable = True` on layers frozen
one by one, no new compile, flips in the augmentation); right answers written differently pass.

Each case is an answer cell's source; tests/support/mistakes.check runs it in place of the
solution's and then runs the exercise's visible test cell from handson/. No training beyond the
one-batch steps the visible tests take.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

from tests.support.mistakes import accepted, case_ids, caught, check  # noqa: E402

NB = "07-transfer-learning"


@pytest.fixture(autouse=True)
def mnist_here(monkeypatch, data_root):
    """build_augmentation's visible test reads MNIST's test digits: from the fetched data root (a
    fresh machine has them nowhere else)."""
    monkeypatch.setenv("MATCHBOX_DATA", str(data_root))


def wrong(test_id, expected, source):
    """The visible tests fail, say EXPECTED, and end in the test cell."""
    return caught(check(NB, test_id, source), says=expected)


# ---- Exercise 1: feature_extractor -----------------------------------------------------------------

FEATURE_EXTRACTOR_WRONG = [
    ("model-input-of-a-sequential", "model.inputs (with an s)", '''
def feature_extractor(model, layer_name="features"):
    return keras.Model(model.input, model.get_layer(layer_name).output)
'''),
    ("the-layer-not-a-model", "keras.Model", '''
def feature_extractor(model, layer_name="features"):
    return model.get_layer(layer_name)
'''),
    ("stops-at-the-head", "head's output", '''
def feature_extractor(model, layer_name="features"):
    return keras.Model(model.inputs, model.layers[-1].output)
'''),
    ("pops-the-head", "changed the network", '''
def feature_extractor(model, layer_name="features"):
    model.pop()
    return model
'''),
    ("a-clone-with-random-weights", "clone_model", '''
def feature_extractor(model, layer_name="features"):
    copy = keras.models.clone_model(model)
    return keras.Model(copy.inputs, copy.get_layer(layer_name).output)
'''),
    ("a-copy-with-the-same-weights", "it is a copy", '''
def feature_extractor(model, layer_name="features"):
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return keras.Model(copy.inputs, copy.get_layer(layer_name).output)
'''),
    ("ignores-layer-name", "use the argument layer_name", '''
def feature_extractor(model, layer_name="features"):
    return keras.Model(model.inputs, model.get_layer("features").output)
'''),
    ("stops-one-layer-early", "expected (None, 64)", '''
def feature_extractor(model, layer_name="features"):
    names = [layer.name for layer in model.layers]
    return keras.Model(model.inputs, model.layers[names.index(layer_name) - 1].output)
'''),
]

FEATURE_EXTRACTOR_RIGHT = [
    ("keywords", '''
def feature_extractor(model, layer_name="features"):
    return keras.Model(inputs=model.inputs, outputs=model.get_layer(name=layer_name).output)
'''),
    ("loop-over-layers", '''
def feature_extractor(model, layer_name="features"):
    for layer in model.layers:
        if layer.name == layer_name:
            return keras.Model(model.inputs[0], layer.output, name=f"up_to_{layer_name}")
    raise KeyError(layer_name)
'''),
]


@pytest.mark.parametrize("case", FEATURE_EXTRACTOR_WRONG, ids=case_ids(FEATURE_EXTRACTOR_WRONG))
def test_feature_extractor_mistake_is_caught(case):
    _, expected, source = case
    wrong("test_feature_extractor", expected, source)


@pytest.mark.parametrize("case", FEATURE_EXTRACTOR_RIGHT, ids=case_ids(FEATURE_EXTRACTOR_RIGHT))
def test_feature_extractor_right_variant_is_accepted(case):
    accepted(check(NB, "test_feature_extractor", case[1]))


# ---- Exercise 2: few_labels ------------------------------------------------------------------------

def few_labels_with(pick="rng.choice(candidates, per_class, replace=False)", label="position",
                    rng="np.random.default_rng(seed)", returned="images[picked], np.concatenate(new_labels)"):
    """The solution's few_labels with one of its pieces changed."""
    return f'''
def few_labels(images, labels, classes, per_class, seed=0):
    rng = {rng}
    picked, new_labels = [], []
    for position, digit in enumerate(classes):
        candidates = np.flatnonzero(labels == digit)
        picked.append({pick})
        new_labels.append(np.full(per_class, {label}, dtype=np.int64))
    picked = np.concatenate(picked)
    return {returned}
'''


FEW_LABELS_WRONG = [
    ("labels-not-shifted", "expected 0 to 4", few_labels_with(label="digit")),
    ("labels-minus-five", "position in classes", few_labels_with(label="digit - 5")),
    ("original-labels-returned", "expected 0 to 4", few_labels_with(returned="images[picked], labels[picked]")),
    ("with-replacement", "without replacement", few_labels_with(pick="rng.choice(candidates, per_class)")),
    ("unseeded-generator", "seed=0 picked different", few_labels_with(rng="np.random.default_rng()")),
    ("first-images-of-each-class", "seed=1 picked the same", few_labels_with(pick="candidates[:per_class]")),
    ("not-balanced", "per class", '''
def few_labels(images, labels, classes, per_class, seed=0):
    rng = np.random.default_rng(seed)
    candidates = np.flatnonzero(np.isin(labels, classes))
    picked = rng.choice(candidates, per_class * len(classes), replace=False)
    return images[picked], np.searchsorted(np.array(classes), labels[picked]).astype(np.int64)
'''),
    ("labels-shuffled-apart-from-images", "keep each image with its own label", '''
def few_labels(images, labels, classes, per_class, seed=0):
    rng = np.random.default_rng(seed)
    picked = np.concatenate([rng.choice(np.flatnonzero(labels == d), per_class, replace=False) for d in classes])
    new_labels = np.repeat(np.arange(len(classes)), per_class)
    return images[rng.permutation(picked)], new_labels
'''),
    ("mutates-the-labels", "changed its arguments", '''
def few_labels(images, labels, classes, per_class, seed=0):
    rng = np.random.default_rng(seed)
    picked = np.concatenate([rng.choice(np.flatnonzero(labels == d), per_class, replace=False) for d in classes])
    for position, digit in enumerate(classes):
        labels[labels == digit] = -1 - position
    return images[picked], (-1 - labels[picked]).astype(np.int64)
'''),
    ("only-the-labels", "two arrays", few_labels_with(returned="np.concatenate(new_labels)")),
]

FEW_LABELS_RIGHT = [
    ("permuted-and-mapped-with-a-dict", '''
def few_labels(images, labels, classes, per_class, seed=0):
    rng = np.random.default_rng(seed)
    new_label = {digit: position for position, digit in enumerate(classes)}
    chosen = []
    for digit in classes:
        chosen.extend(rng.permutation(np.where(labels == digit)[0])[:per_class])
    chosen = rng.permutation(np.array(chosen))
    return images[chosen].copy(), np.array([new_label[d] for d in labels[chosen]], dtype=np.int64)
'''),
    ("legacy-seeded-random-state", '''
def few_labels(images, labels, classes, per_class, seed=0):
    state = np.random.RandomState(seed)
    xs, ts = [], []
    for position, digit in enumerate(classes):
        idx = state.choice(np.nonzero(labels == digit)[0], size=per_class, replace=False)
        xs.append(images[idx])
        ts += [position] * per_class
    return np.concatenate(xs), np.array(ts)
'''),
]


@pytest.mark.parametrize("case", FEW_LABELS_WRONG, ids=case_ids(FEW_LABELS_WRONG))
def test_few_labels_mistake_is_caught(case):
    _, expected, source = case
    wrong("test_few_labels", expected, source)


@pytest.mark.parametrize("case", FEW_LABELS_RIGHT, ids=case_ids(FEW_LABELS_RIGHT))
def test_few_labels_right_variant_is_accepted(case):
    accepted(check(NB, "test_few_labels", case[1]))


# ---- Exercise 3: transfer_model --------------------------------------------------------------------

def transfer_with(freeze="body.trainable = False", head='layers.Dense(classes, activation="softmax")',
                  on="body.output", extra=""):
    """The solution's transfer_model with one of its pieces changed."""
    return f'''
def transfer_model(pretrained, classes):
    body = keras.Model(pretrained.inputs, pretrained.get_layer("features").output)
    {freeze}
    outputs = {head}({on})
    model = keras.Model(body.inputs, outputs){extra}
    return model
'''


TRANSFER_MODEL_WRONG = [
    ("forgot-to-freeze", "not frozen", transfer_with(freeze="pass")),
    ("froze-after-compile", "compiled model", transfer_with(
        freeze="pass", extra='\n    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")'
                             "\n    body.trainable = False")),
    ("froze-the-new-head-too", "froze everything", transfer_with(extra="\n    model.trainable = False")),
    ("ten-outputs", "10 outputs", transfer_with(head='layers.Dense(10, activation="softmax")')),
    ("five-outputs-always", "use the argument classes", transfer_with(head='layers.Dense(5, activation="softmax")')),
    ("no-activation", 'activation="softmax"', transfer_with(head="layers.Dense(classes)")),
    ("sigmoid-head", "add up to", transfer_with(head='layers.Dense(classes, activation="sigmoid")')),
    ("relu-head", "add up to", transfer_with(head='layers.Dense(classes, activation="relu")')),
    ("reuses-the-old-head", "old head digits_0_4", '''
def transfer_model(pretrained, classes):
    for layer in pretrained.layers[:-1]:
        layer.trainable = False
    return keras.Model(pretrained.inputs, pretrained.get_layer("digits_0_4").output)
'''),
    ("output-of-a-sequential", "no .input or .output", '''
def transfer_model(pretrained, classes):
    for layer in pretrained.layers:
        layer.trainable = False
    new_head = layers.Dense(classes, activation="softmax")
    return keras.Model(pretrained.input, new_head(pretrained.get_layer("features").output))
'''),
    ("random-body", "build on the", '''
def transfer_model(pretrained, classes):
    fresh = build_digits_convnet()
    for layer in fresh.layers[:-1]:
        layer.trainable = False
    outputs = layers.Dense(classes, activation="softmax")(fresh.get_layer("features").output)
    return keras.Model(fresh.inputs, outputs)
'''),
    ("head-on-the-old-probabilities", "expected only the new head", '''
def transfer_model(pretrained, classes):
    for layer in pretrained.layers[:-1]:
        layer.trainable = False
    outputs = layers.Dense(classes, activation="softmax")(pretrained.outputs[0])
    return keras.Model(pretrained.inputs, outputs)
'''),
]

TRANSFER_MODEL_RIGHT = [
    ("sequential-nested-body", '''
def transfer_model(pretrained, classes):
    body = feature_extractor(pretrained)
    body.trainable = False
    return keras.Sequential([keras.Input((28, 28, 1)), body, layers.Dense(classes, activation="softmax")])
'''),
    ("freeze-layer-by-layer-and-softmax-layer", '''
def transfer_model(pretrained, classes):
    for layer in pretrained.layers:
        layer.trainable = layer.name == "digits_0_4"    # the body frozen; the old head is left out below
    scores = layers.Dense(classes, name="scores")(pretrained.get_layer("features").output)
    return keras.Model(pretrained.inputs[0], layers.Softmax()(scores))
'''),
    ("pop-and-add", '''
def transfer_model(pretrained, classes):
    pretrained.pop()
    for layer in pretrained.layers:
        layer.trainable = False
    pretrained.add(layers.Dense(classes, activation="softmax", name="new_head"))
    return pretrained
'''),
]


@pytest.mark.parametrize("case", TRANSFER_MODEL_WRONG, ids=case_ids(TRANSFER_MODEL_WRONG))
def test_transfer_model_mistake_is_caught(case):
    _, expected, source = case
    wrong("test_transfer_model", expected, source)


@pytest.mark.parametrize("case", TRANSFER_MODEL_RIGHT, ids=case_ids(TRANSFER_MODEL_RIGHT))
def test_transfer_model_right_variant_is_accepted(case):
    accepted(check(NB, "test_transfer_model", case[1]))


# ---- Exercise 4: start_fine_tuning -----------------------------------------------------------------

def fine_tuning_with(unfreeze="for layer in model.layers:\n        layer.trainable = True",
                     optimizer="keras.optimizers.Adam(learning_rate)", loss='"sparse_categorical_crossentropy"',
                     metrics='["accuracy"]', compile_it=True, returned="model"):
    """The solution's start_fine_tuning with one of its pieces changed."""
    compile_line = (f"\n    model.compile(optimizer={optimizer}, loss={loss}, metrics={metrics})" if compile_it else "")
    return f'''
def start_fine_tuning(model, learning_rate):
    {unfreeze}{compile_line}
    return {returned}
'''


START_FINE_TUNING_WRONG = [
    ("model-trainable-only", "changes nothing", fine_tuning_with(unfreeze="model.trainable = True")),
    ("no-new-compile", "compile it again", fine_tuning_with(compile_it=False)),
    ("ignores-the-learning-rate", "expected 1e-05", fine_tuning_with(optimizer="keras.optimizers.Adam()")),
    ("rate-as-a-string-optimizer", "expected 1e-05", fine_tuning_with(optimizer='"adam"')),
    ("only-the-last-layers", "expected all", fine_tuning_with(
        unfreeze="for layer in model.layers[-3:]:\n        layer.trainable = True")),
    ("categorical-loss", "sparse_categorical_crossentropy",
     fine_tuning_with(loss='"categorical_crossentropy"')),
    ("no-metrics", "accuracy", fine_tuning_with(metrics="None")),
    ("returns-nothing", "end with return model", fine_tuning_with(returned="None")),
    ("sgd-optimizer", "keras.optimizers.Adam", fine_tuning_with(optimizer="keras.optimizers.SGD(learning_rate)")),
]

START_FINE_TUNING_RIGHT = [
    ("freeze-then-unfreeze-the-model", '''
def start_fine_tuning(model, learning_rate):
    model.trainable = False
    model.trainable = True
    model.compile(keras.optimizers.Adam(learning_rate=learning_rate),
                  keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])
    return model
'''),
    ("recursive-unfreeze-and-accuracy-object", '''
def start_fine_tuning(model, learning_rate):
    def unfreeze(layer):
        layer.trainable = True
        for inner in getattr(layer, "layers", []):
            unfreeze(inner)
    for layer in model.layers:
        unfreeze(layer)
    model.compile(optimizer=keras.optimizers.Adam(float(learning_rate)), loss="sparse_categorical_crossentropy",
                  metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
    return model
'''),
]


@pytest.mark.parametrize("case", START_FINE_TUNING_WRONG, ids=case_ids(START_FINE_TUNING_WRONG))
def test_start_fine_tuning_mistake_is_caught(case):
    _, expected, source = case
    wrong("test_start_fine_tuning", expected, source)


@pytest.mark.parametrize("case", START_FINE_TUNING_RIGHT, ids=case_ids(START_FINE_TUNING_RIGHT))
def test_start_fine_tuning_right_variant_is_accepted(case):
    accepted(check(NB, "test_start_fine_tuning", case[1]))


# ---- Exercise 5 (★): build_augmentation ------------------------------------------------------------

def augmentation_of(*stack):
    """A build_augmentation() returning keras.Sequential(stack)."""
    return '''
def build_augmentation():
    return keras.Sequential([
        {},
    ])
'''.format(",\n        ".join(stack))


SHIFT = 'layers.RandomTranslation(0.1, 0.1, fill_mode="constant")'
TURN = 'layers.RandomRotation(0.05, fill_mode="constant")'
ZOOM = 'layers.RandomZoom(0.1, fill_mode="constant")'

BUILD_AUGMENTATION_WRONG = [
    ("horizontal-flip", "mirrored 2", augmentation_of('layers.RandomFlip("horizontal")', SHIFT)),
    ("vertical-flip", "mirrored 2", augmentation_of(SHIFT, 'layers.RandomFlip("vertical")')),
    ("half-turns", "a 6 turned far enough is a 9", augmentation_of(SHIFT, "layers.RandomRotation(0.5)")),
    ("degrees-not-fractions", "fraction of a full turn", augmentation_of("layers.RandomRotation(15)")),
    ("shifts-too-far", "more than 20 %", augmentation_of("layers.RandomTranslation(0.5, 0.5)")),
    ("random-crop-changes-the-size", "same shape", augmentation_of("layers.RandomCrop(24, 24)")),
    ("resizing", "same shape", augmentation_of("layers.Resizing(32, 32)", SHIFT)),
    ("rescaling-always-on", "training=False", augmentation_of("layers.Rescaling(1 / 255)", SHIFT)),
    ("brightness-leaves-the-range", "values in [0, 1]", augmentation_of("layers.RandomBrightness(0.5)")),
    ("nothing-random", "unchanged", augmentation_of('layers.Identity()')),
    ("a-list-of-layers", "expected a Keras model", '''
def build_augmentation():
    return [layers.RandomTranslation(0.1, 0.1), layers.RandomZoom(0.1)]
'''),
]

BUILD_AUGMENTATION_RIGHT = [
    ("translation-only", augmentation_of("layers.RandomTranslation((-0.15, 0.15), 0.15)")),
    ("functional-with-input-and-reflect", '''
def build_augmentation():
    inputs = keras.Input((28, 28, 1))
    x = layers.RandomRotation((-0.08, 0.08))(inputs)
    x = layers.RandomZoom(height_factor=(-0.1, 0.2))(x)
    x = layers.RandomTranslation(0.12, 0.12)(x)
    return keras.Model(inputs, x)
'''),
    ("sequential-add-with-seeds", '''
def build_augmentation():
    augment = keras.Sequential(name="mine")
    augment.add(layers.RandomZoom(0.15, fill_mode="constant", seed=1))
    augment.add(layers.RandomTranslation(0.08, 0.08, fill_mode="nearest", seed=2))
    return augment
'''),
]


@pytest.mark.parametrize("case", BUILD_AUGMENTATION_WRONG, ids=case_ids(BUILD_AUGMENTATION_WRONG))
def test_build_augmentation_mistake_is_caught(case):
    _, expected, source = case
    wrong("test_build_augmentation", expected, source)


@pytest.mark.parametrize("case", BUILD_AUGMENTATION_RIGHT, ids=case_ids(BUILD_AUGMENTATION_RIGHT))
def test_build_augmentation_right_variant_is_accepted(case):
    accepted(check(NB, "test_build_augmentation", case[1]))
