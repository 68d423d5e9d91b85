"""fer_lib: facial emotion recognition on FER2013, after Tiahunova et al. (CMIS-2021).

The library behind the notebook series: load and normalize FER2013 (or the demo dataset), build the
paper's CNN, train it in a resumable run folder, and evaluate it honestly; or load the stronger model it ships
(`load_pretrained()`).
"""
from .dataset import EMOTIONS, USAGES, DataError, FERDataset, Splits, Subset, normalize, one_hot
from .loading import cache_dir, find_fer2013, load_demo, load_fer2013
from .pretrained import load_pretrained

__version__ = "0.1.0"

__all__ = [
    "EMOTIONS", "USAGES", "DataError", "FERDataset", "Splits", "Subset", "normalize", "one_hot",
    "cache_dir", "find_fer2013", "load_demo", "load_fer2013", "load_pretrained",
]
