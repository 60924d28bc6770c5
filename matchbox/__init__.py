"""matchbox: the shared code of the deep-learning workshop notebooks."""

from matchbox.data import load_mnist

__all__ = ["load_mnist"]
__version__ = "0.1.0"
