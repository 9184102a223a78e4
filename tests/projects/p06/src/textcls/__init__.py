"""Bag-of-embeddings text classifier."""
__version__ = "0.1.0"
