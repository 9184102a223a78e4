"""Tiny semantic-segmentation training package."""
