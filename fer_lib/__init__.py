"""fer_lib: facial emotion recognition on FER2013, after Tiahunova et al. (CMIS-2021).

Emotions in a photo in one call: `detect_emotions(image)` (one dict per face) or `top_emotion(image)`, with the
models the package ships (`load_pretrained()`). The library behind the notebook series: load and normalize
FER2013 (or the demo dataset), build the paper's CNN, train it in a resumable run folder, and evaluate it honestly.
"""
from .dataset import EMOTIONS, USAGES, DataError, FERDataset, Splits, Subset, normalize, one_hot
from .loading import cache_dir, find_fer2013, load_demo, load_fer2013
from .predict import detect_emotions, top_emotion
from .pretrained import load_pretrained

__version__ = "0.1.0"

__all__ = [
    "EMOTIONS", "USAGES", "DataError", "FERDataset", "Splits", "Subset", "normalize", "one_hot",
    "cache_dir", "find_fer2013", "load_demo", "load_fer2013", "load_pretrained", "detect_emotions", "top_emotion",
]
