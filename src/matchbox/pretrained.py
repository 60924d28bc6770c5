"""A small convnet pretrained on the MNIST digits 0-4: the "downloaded model" of 07-transfer-learning.

A workshop without a network cannot download pretrained weights, so matchbox ships its own,
small enough to keep in the repository (56,389 weights, about 220 KiB):

    python -m matchbox.pretrained train [--out PATH]   # how the shipped weights were made
    python -m matchbox.pretrained verify               # checksum and test accuracy of the shipped file

Training is reproducible: fixed seeds, TensorFlow's deterministic ops, the checksummed MNIST
files, and no shuffling that depends on the clock. `WEIGHTS_SHA256` is the SHA-256 of the
weights' names, shapes and float32 bytes (not of the .npz file, whose zip entries carry
timestamps), so a retrain on the same CPU kind and TensorFlow version gives the same digest;
another CPU may round differently in the last bit and print another one.

The network (layer names are what 07 refers to):

    image (28, 28, 1) -> conv1 16@3x3 ReLU -> pool1 2x2 -> conv2 32@3x3 ReLU -> pool2 2x2
          -> flatten (800) -> features Dense 64 ReLU -> digits_0_4 Dense 5 softmax
"""

import argparse
import hashlib
import sys
import time
from importlib import resources
from pathlib import Path

import numpy as np

__all__ = ["DIGITS", "WEIGHTS_SHA256", "build_digits_convnet", "load_digits_convnet"]

DIGITS = (0, 1, 2, 3, 4)        # the classes the shipped network was trained on, in output order
WEIGHTS_FILE = "digits-0-4.npz"
WEIGHTS_SHA256 = "5022b3bba820949b1aa5b2a49c6e35c570d7561dc704ac621d9033f366409f01"
# how the shipped weights were trained (python -m matchbox.pretrained train)
TRAINING = {"epochs": 3, "batch_size": 128, "learning_rate": 1e-3, "seed": 0}


class PretrainedError(RuntimeError):
    """The shipped weights are missing or not the ones matchbox was released with."""


def build_digits_convnet():
    """The architecture, freshly initialised (Keras's default initialisers), as a Sequential model."""
    import keras
    from keras import layers

    return keras.Sequential([
        keras.Input((28, 28, 1), name="image"),
        layers.Conv2D(16, 3, activation="relu", name="conv1"),      # (26, 26, 16)
        layers.MaxPooling2D(2, name="pool1"),                       # (13, 13, 16)
        layers.Conv2D(32, 3, activation="relu", name="conv2"),      # (11, 11, 32)
        layers.MaxPooling2D(2, name="pool2"),                       # (5, 5, 32)
        layers.Flatten(name="flatten"),                             # (800,)
        layers.Dense(64, activation="relu", name="features"),       # (64,) what 07 transfers
        layers.Dense(len(DIGITS), activation="softmax", name="digits_0_4"),
    ], name="digits_0_4_convnet")


def weights_of(model):
    """{"layer/index": float32 array} of every weight of the model, in layer order."""
    return {f"{layer.name}/{i}": np.asarray(w, dtype=np.float32)
            for layer in model.layers for i, w in enumerate(layer.get_weights())}


def digest(weights):
    """SHA-256 of the weights' names, shapes and float32 bytes, in sorted name order."""
    sha = hashlib.sha256()
    for name in sorted(weights):
        array = np.ascontiguousarray(weights[name], dtype="<f4")
        sha.update(f"{name}{array.shape}".encode())
        sha.update(array.tobytes())
    return sha.hexdigest()


def shipped_path():
    """Where the installed package keeps the weights."""
    return Path(str(resources.files("matchbox") / "models" / WEIGHTS_FILE))


def load_digits_convnet(path=None):
    """A new copy of the pretrained network (uncompiled; every layer trainable), its weights
    checked against WEIGHTS_SHA256. Each call gives an independent model: fine-tuning one does
    not change the next."""
    path = Path(path) if path else shipped_path()
    if not path.is_file():
        raise PretrainedError(f"the pretrained weights {path} are missing: reinstall matchbox "
                              "(pip install .) or recreate them with `python -m matchbox.pretrained train`")
    with np.load(path) as stored:
        weights = {name: stored[name] for name in stored.files}
    found = digest(weights)
    if found != WEIGHTS_SHA256:
        raise PretrainedError(f"the pretrained weights {path} have checksum {found[:16]}..., expected "
                              f"{WEIGHTS_SHA256[:16]}...: the file was changed or damaged; reinstall matchbox")
    model = build_digits_convnet()
    for layer in model.layers:
        count = len(layer.get_weights())
        if count:
            layer.set_weights([weights[f"{layer.name}/{i}"] for i in range(count)])
    return model


def digits_0_4(kind_split):
    """(images (N, 28, 28, 1) float32, labels (N,) int64) of the digits 0-4 of one MNIST split."""
    x, t = kind_split
    keep = np.isin(t, DIGITS)
    return x[keep][..., None], t[keep].astype(np.int64)


def train(out, epochs=TRAINING["epochs"], limit=None, log=print):
    """Train the network on MNIST's digits 0-4, reproducibly; save it to OUT; return
    (digest, test accuracy on the digits 0-4)."""
    import keras
    import tensorflow as tf

    from matchbox.data import load_mnist

    keras.utils.set_random_seed(TRAINING["seed"])
    tf.config.experimental.enable_op_determinism()
    train_split, test_split = load_mnist("digits")
    x_train, t_train = digits_0_4(train_split)
    x_test, t_test = digits_0_4(test_split)
    if limit:
        x_train, t_train = x_train[:limit], t_train[:limit]
    model = build_digits_convnet()
    model.compile(optimizer=keras.optimizers.Adam(TRAINING["learning_rate"]),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    started = time.monotonic()
    # shuffle=False plus a fixed permutation: the batch order does not depend on tf.data's seeding
    order = np.random.default_rng(TRAINING["seed"]).permutation(len(x_train))
    model.fit(x_train[order], t_train[order], batch_size=TRAINING["batch_size"], epochs=epochs,
              shuffle=False, verbose=0)
    _, accuracy = model.evaluate(x_test, t_test, batch_size=1000, verbose=0)
    weights = weights_of(model)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    np.savez(out, **weights)
    found = digest(weights)
    log(f"trained on {len(x_train)} images of the digits 0-4, {epochs} epochs, "
        f"{time.monotonic() - started:.1f} s; test accuracy {accuracy:.2%} on {len(x_test)} images")
    log(f"wrote {out}\nWEIGHTS_SHA256 = {found!r}")
    return found, accuracy


def verify(log=print):
    """Load the shipped network and measure it on MNIST's test digits 0-4: its accuracy."""
    from matchbox.data import load_mnist

    model = load_digits_convnet()
    x_test, t_test = digits_0_4(load_mnist("digits")[1])
    predicted = np.argmax(model.predict(x_test, batch_size=1000, verbose=0), axis=1)
    accuracy = float(np.mean(predicted == t_test))
    log(f"{shipped_path()}: checksum OK; test accuracy {accuracy:.2%} on {len(x_test)} digits 0-4")
    return accuracy


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m matchbox.pretrained", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    trainer = commands.add_parser("train", help="train the network and write its weights")
    trainer.add_argument("--out", default=str(Path(__file__).parent / "models" / WEIGHTS_FILE),
                         help="where to write the .npz (default: the package's own file)")
    trainer.add_argument("--epochs", type=int, default=TRAINING["epochs"])
    trainer.add_argument("--limit", type=int, help="train on the first LIMIT images only (a quick check)")
    commands.add_parser("verify", help="check the shipped weights' checksum and test accuracy")
    args = parser.parse_args(argv)
    try:
        if args.command == "train":
            train(args.out, args.epochs, args.limit)
        else:
            verify()
    except PretrainedError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
