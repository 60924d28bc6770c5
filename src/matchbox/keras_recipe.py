"""The project's Keras recipe for MNIST digits: a small CNN and a schedule that train it to
99 % test accuracy in under a minute on 2 CPU cores.

Shared by notebook 06-keras-cnn (whose graded ``build_model()`` is the learner's own) and
``benchmarks/keras_cnn.py``. What makes it fast:

- a narrow network (about 13,000 weights) whose first convolution is 5×5 and unpadded, so the
  expensive full-resolution layer has few channels and every layer after it works on 12×12
  or less;
- batch normalisation after each convolution, which tolerates a high learning rate;
- a one-cycle learning rate (``one_cycle``): a short linear warm-up to a high peak, then a
  cosine decay to almost zero, so the last steps settle into a minimum instead of bouncing;
- three epochs of batches of 128 with Adam.

``TrainingClock`` stops training after a time budget and measures test accuracy after each
epoch (outside the budget), recording when a target accuracy was first reached.
"""

import time

import keras
import numpy as np
from keras import layers

__all__ = ["RECIPE", "TrainingClock", "build_model", "compile_model", "one_cycle", "train"]

# The schedule: how many epochs, the batch size, the peak learning rate, the warm-up share.
RECIPE = {"epochs": 3, "batch_size": 128, "peak_learning_rate": 0.01, "warmup_fraction": 0.15}


def build_model(width=16, dropout=0.25):
    """The recipe's CNN: 28×28×1 images in, 10 class probabilities out.

    conv 5×5 (width) → BN → ReLU → max-pool → conv 3×3 (2·width) → BN → ReLU → max-pool
    → flatten → dropout → dense softmax. With width 16: 13,210 parameters.
    """
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(width, 5, use_bias=False),          # (24, 24, width): BN supplies the bias
        layers.BatchNormalization(),
        layers.ReLU(),
        layers.MaxPooling2D(),                            # (12, 12, width)
        layers.Conv2D(2 * width, 3, use_bias=False),      # (10, 10, 2 width)
        layers.BatchNormalization(),
        layers.ReLU(),
        layers.MaxPooling2D(),                            # (5, 5, 2 width)
        layers.Flatten(),                                 # (50 width,)
        layers.Dropout(dropout),
        layers.Dense(10, activation="softmax"),
    ], name="matchbox_cnn")


def one_cycle(total_steps, peak_learning_rate, warmup_fraction=0.15):
    """A one-cycle learning rate as a built-in Keras schedule (so a saved model reloads):
    linear warm-up from peak/10 to the peak over the first warmup_fraction of the steps,
    then a cosine decay to peak/1000 at total_steps."""
    warmup_steps = max(1, int(warmup_fraction * total_steps))
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=peak_learning_rate / 10,
        decay_steps=max(1, total_steps - warmup_steps),
        alpha=1e-3,
        warmup_target=peak_learning_rate,
        warmup_steps=warmup_steps,
    )


def compile_model(model, steps_per_epoch, epochs=RECIPE["epochs"],
                  peak_learning_rate=RECIPE["peak_learning_rate"],
                  warmup_fraction=RECIPE["warmup_fraction"]):
    """Compile model in place with Adam on the one-cycle schedule over epochs × steps_per_epoch
    steps, sparse cross-entropy (integer labels) and accuracy. Returns the model."""
    schedule = one_cycle(epochs * steps_per_epoch, peak_learning_rate, warmup_fraction)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=schedule),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


class TrainingClock(keras.callbacks.Callback):
    """Stops fit() once `budget_s` seconds of training have passed (checked after every batch),
    and after each epoch (also the one cut short) measures test accuracy with the clock paused.

    After fit(): `epochs` is a list of dicts {epoch, train_s, test_accuracy}; `batches` one dict
    {train_s, loss, accuracy} per training batch (that batch's own loss and accuracy, recovered
    from the running means keras reports); `train_s` is the training time (evaluation
    excluded); `target_reached_s` is the training time at the end of the first epoch whose test
    accuracy reached `target` (None if none did).
    """

    def __init__(self, x_test, t_test, budget_s=60.0, target=0.99, verbose=True):
        super().__init__()
        self.x_test, self.t_test = x_test, np.asarray(t_test)
        self.budget_s, self.target, self.verbose = budget_s, target, verbose
        self.epochs, self.batches, self.train_s, self.target_reached_s = [], [], 0.0, None
        self._started, self._running = None, {}

    def on_train_begin(self, logs=None):
        self.epochs, self.batches, self.train_s, self.target_reached_s = [], [], 0.0, None
        self._started = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        self._running = {}                                # keras restarts its running means

    def _elapsed(self):
        return self.train_s + (time.perf_counter() - self._started)

    def on_train_batch_end(self, batch, logs=None):
        record = {"train_s": self._elapsed()}
        for name in ("loss", "accuracy"):
            if logs and name in logs:                     # mean over batches 0..batch of this epoch
                mean = float(logs[name])
                record[name] = (batch + 1) * mean - batch * self._running.get(name, 0.0)
                self._running[name] = mean
        self.batches.append(record)
        if record["train_s"] >= self.budget_s:
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        self.train_s = self._elapsed()                   # pause the clock
        probabilities = self.model.predict(self.x_test, batch_size=1000, verbose=0)
        accuracy = float(np.mean(np.argmax(probabilities, axis=1) == self.t_test))
        self.epochs.append({"epoch": epoch + 1, "train_s": self.train_s, "test_accuracy": accuracy})
        if self.target_reached_s is None and accuracy >= self.target:
            self.target_reached_s = self.train_s
        if self.verbose:
            print(f"epoch {epoch + 1}: {self.train_s:5.1f} s of training, "
                  f"test accuracy {accuracy:.2%}", flush=True)
        self._started = time.perf_counter()              # restart the clock

    def on_train_end(self, logs=None):
        self._started = time.perf_counter()


def train(model, x_train, t_train, x_test, t_test, epochs=RECIPE["epochs"],
          batch_size=RECIPE["batch_size"], budget_s=60.0, target=0.99, verbose=True, **schedule):
    """Compile model with the recipe's schedule and fit it on (x_train, t_train) for `epochs`
    epochs or `budget_s` seconds of training, whichever ends first. Returns (history, clock):
    keras's History and the TrainingClock with test accuracy and time per epoch."""
    steps_per_epoch = int(np.ceil(len(x_train) / batch_size))
    compile_model(model, steps_per_epoch, epochs=epochs, **schedule)
    clock = TrainingClock(x_test, t_test, budget_s=budget_s, target=target, verbose=verbose)
    history = model.fit(x_train, t_train, batch_size=batch_size, epochs=epochs,
                        callbacks=[clock], verbose=0)
    return history, clock
