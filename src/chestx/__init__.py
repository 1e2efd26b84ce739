"""chestx: build a ChestX-ray14-style database and benchmark weakly-supervised models on it."""

__version__ = "0.1.0"
