"""Keyword-spotting on log-mel features (plain PyTorch loop)."""
