"""Headless Chromium with a fake camera, driven by Selenium: how the tests and benchmarks/bench_live.py open the live
page. Debian's `chromium` and `chromium-driver` (apt-get), whose versions always match; Selenium from the `web-test`
extra. Chromium plays a y4m clip (cameras.write_y4m) as its camera, looping, and grants the page the camera itself.
"""
from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
DRIVER = ("chromedriver", "chromium-driver")


def find(names) -> str | None:
    return next((found for name in names if (found := shutil.which(name))), None)


def missing() -> str | None:
    """What is missing to run the browser, in words; None when everything is there."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return 'selenium is not installed (pip install "fer_lib[web-test]")'
    if not find(CHROMIUM) or not find(DRIVER):
        return "Chromium and its driver are not installed (apt-get install chromium chromium-driver)"
    return None


@contextlib.contextmanager
def chromium(camera_clip: str | Path | None = None, downloads: str | Path | None = None, size=(1280, 1000)):
    """A headless Chromium (a Selenium WebDriver) whose camera plays `camera_clip` (a y4m file) and which saves
    downloads into `downloads`, quit when the block ends."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    reason = missing()
    if reason:
        raise RuntimeError(reason)
    options = webdriver.ChromeOptions()
    options.binary_location = find(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     f"--window-size={size[0]},{size[1]}", "--use-fake-ui-for-media-stream",
                     "--use-fake-device-for-media-stream", "--autoplay-policy=no-user-gesture-required"):
        options.add_argument(argument)
    if camera_clip is not None:
        options.add_argument(f"--use-file-for-fake-video-capture={Path(camera_clip).resolve()}")
    if downloads is not None:
        options.add_experimental_option("prefs", {"download.default_directory": str(Path(downloads).resolve()),
                                                  "download.prompt_for_download": False})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=find(DRIVER)))
    try:
        yield driver
    finally:
        driver.quit()
