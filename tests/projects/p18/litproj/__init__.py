from .module import ExtractiveQA

__all__ = ["ExtractiveQA"]
