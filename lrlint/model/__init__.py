"""The training-loop model (placeholder while extraction is written)."""
from __future__ import annotations
from dataclasses import dataclass
import libcst as cst

@dataclass
class TrainingLoopModel:
    path: str

def build_model(module: cst.Module, path: str) -> TrainingLoopModel:
    return TrainingLoopModel(path)
