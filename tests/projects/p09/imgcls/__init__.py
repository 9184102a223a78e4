"""CIFAR-style image classification with a one-cycle schedule."""
