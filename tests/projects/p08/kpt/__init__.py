"""Keypoint-regression experiment code."""
