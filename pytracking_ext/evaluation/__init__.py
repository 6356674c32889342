"""Evaluation side: sequences, the tracker wrapper, the dataset runner and result files."""

from .data import Sequence, SequenceList

__all__ = ["Sequence", "SequenceList"]
