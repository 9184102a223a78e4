"""``lrlint preview``: the learning rates a script will train with, replayed on PyTorch's own
scheduler classes from the static model, and drawn as text, CSV, PNG or SVG."""
