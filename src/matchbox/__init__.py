"""matchbox: the shared code of the deep-learning workshop notebooks."""

__all__ = ["load_mnist"]
__version__ = "0.1.0"


def __getattr__(name):
    """Import load_mnist on first use, so `python -m matchbox.data` runs the module only once."""
    if name == "load_mnist":
        from matchbox.data import load_mnist

        return load_mnist
    raise AttributeError(f"module 'matchbox' has no attribute {name!r}")
