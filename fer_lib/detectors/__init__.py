"""Face detectors: one module per backend behind one small interface (base.Detector: `detect(image) -> Detections`
and a `framing`), and the registry below, from which the CLI's --detector choices and help and the README's list
are made. `face_detector("a+b")` joins backends: the first that finds a face (chain.FirstFound); in video, the later ones run
at most once a second, and a chain that starts with YuNet follows each face it found (track.Tracking).

Nothing is downloaded: each backend's model ships inside fer_lib or an installed package.
"""
from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module

from .base import KEYPOINTS, Detections, Detector

__all__ = ["BACKENDS", "DEFAULT_DETECTOR", "DETECTORS", "KEYPOINTS", "Detections", "Detector", "face_detector"]


@dataclass(frozen=True)
class Backend:
    """A registered detector: the module and class that build it, and one line for --help and the README."""

    module: str
    attribute: str
    about: str
    options: tuple = ()  # keyword arguments for the class, as (name, value) pairs


BACKENDS = {
    "haar": Backend("haar", "HaarCascade", "OpenCV's frontal-face Haar cascade, its eyes from OpenCV's eye cascade"),
    "blazeface": Backend("blazeface", "BlazeFace", "MediaPipe's BlazeFace, short range: eyes, nose, mouth and ears; "
                         "brighter and turned second views where it finds nothing"),
    "blazeface-full": Backend("blazeface", "BlazeFace", "BlazeFace's full-range model (faces small in the frame)",
                              (("variant", "full"),)),
    "ssd": Backend("ssd", "SSD", "OpenCV's SSD face detector, each face checked by BlazeFace and MediaPipe's face mesh"),
    "tiles": Backend("blazeface", "TileSearch", "BlazeFace on nine smaller tiles of the frame, for faces small in it"),
    "yunet": Backend("yunet", "YuNet", "YuNet (OpenCV's FaceDetectorYN, vendored): fast and precise, five landmarks"),
    "yunet-enhanced": Backend("yunet", "YuNet", "YuNet on a denoised, locally equalized copy of the image: faces in "
                              "the dark, each confirmed on the mirrored copy", (("enhance", True),)),
    "checked": Backend("chain", "checked_fallbacks", "BlazeFace, then the Haar cascade, then the SSD, each face kept "
                       "only where MediaPipe's face mesh sees one in a denoised, equalized close-up"),
}
# named chains offered on the command line (any "+"-joined backends work)
CHAINS = ("yunet+yunet-enhanced+checked", "yunet+checked", "blazeface+haar", "blazeface+haar+ssd", "blazeface+haar+ssd+tiles")
DETECTORS = (*BACKENDS, *CHAINS)
# YuNet on every image; where it finds none, YuNet on the image denoised and equalized, then the checked fallbacks
# (in video at most once a second); faces of MIN_FACE_SIDE pixels and up (benchmarks/bench_false_faces.py,
# bench_detection.py, bench_enhanced.py, bench_video.py)
DEFAULT_DETECTOR = "yunet+yunet-enhanced+checked"


def face_detector(name: str = DEFAULT_DETECTOR, video: bool = False, video_side: int | None = None) -> Detector:
    """The detector `name` names: a backend of BACKENDS, or backends joined by "+" (the first that finds a face);
    `video`: the settings for video frames: the Haar cascade searches them at `video_side` pixels at most (default:
    detectors.haar.VIDEO_MAX_SIDE, 320; YuNet keeps the whole frame, where it finds a small dim face), a chain's
    later detectors run at most once a second, and where YuNet comes first, each face found is followed into the next
    frames in a region around it (track.Tracking; the whole frame searched again at least twice a second)."""
    parts = name.split("+")
    unknown = [part for part in parts if part not in BACKENDS]
    if unknown or not name:
        raise ValueError(f"face detector {name!r}: choose from {', '.join(DETECTORS)} (or join backends with '+')")
    if video and parts[0] == "yunet":  # between whole-frame searches, each face followed in a region around it
        from .track import Tracking

        return Tracking(_built(parts, video, video_side))
    return _built(parts, video, video_side)


def _built(parts: list[str], video: bool, video_side: int | None) -> Detector:
    if len(parts) > 1:
        from .chain import FALLBACK_SECONDS, FirstFound

        return FirstFound(*(_built([part], video, video_side) for part in parts),
                          every=FALLBACK_SECONDS if video else 0.0)
    name = parts[0]
    backend = BACKENDS[name]
    made = getattr(import_module(f"{__name__}.{backend.module}"), backend.attribute)
    if name in ("haar", "checked") and video:  # the cascade searches video frames smaller, for speed
        from .haar import VIDEO_MAX_SIDE

        side = video_side or VIDEO_MAX_SIDE
        return made.for_video(side) if name == "haar" else made(video=True, video_side=side)
    return made(**dict(backend.options))


def describe() -> list[str]:
    """One line per backend and named chain, as the CLI's help and the README list them."""
    return [f"{name}: {backend.about}" for name, backend in BACKENDS.items()] + [
        f"{chain}: each in turn, the first that finds a face" for chain in CHAINS]
