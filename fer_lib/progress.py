"""Progress bars for long steps (tqdm; silent when disabled or when stderr is not a terminal or notebook)."""
from __future__ import annotations

try:  # notebook widgets where ipywidgets is installed (tqdm.auto warns when it is not); text bars elsewhere
    import ipywidgets  # noqa: F401
    from tqdm.auto import tqdm
except ImportError:
    from tqdm import tqdm


class _Bar(tqdm):
    def update_to(self, position: int) -> None:
        """Move the bar to an absolute position."""
        self.update(position - self.n)


def progress_bar(*, total: int, desc: str, unit: str = "it", enable: bool = True) -> _Bar:
    """A progress bar; `enable=False` makes every call a no-op."""
    return _Bar(total=total, desc=desc, unit=unit, unit_scale=True, disable=None if enable else True, leave=False)
