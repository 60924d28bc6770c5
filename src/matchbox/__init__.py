"""matchbox: the shared code of the deep-learning workshop notebooks."""

import os

__all__ = ["load_mnist", "say"]
__version__ = "0.1.0"


def say(english, japanese):
    """The sentence in the workshop's language: MATCHBOX_LANG=ja (the image sets it from the
    participant's choice; set it yourself at home) gives the Japanese, anything else English."""
    return japanese if os.environ.get("MATCHBOX_LANG", "").strip().lower() == "ja" else english


def __getattr__(name):
    """Import load_mnist on first use, so `python -m matchbox.data` runs the module only once."""
    if name == "load_mnist":
        from matchbox.data import load_mnist

        return load_mnist
    raise AttributeError(f"module 'matchbox' has no attribute {name!r}")
