"""A real browser: headless Chromium and a static server for the built site, for the tests
and the README's screenshots."""

from __future__ import annotations

import shutil
from pathlib import Path

from bench_lib.publish.site.common import REPORT_DIR, SiteError


def browser(width: int = 1400, height: int = 1000):
    """Headless Chromium under selenium (Debian's ``chromium`` and ``chromium-driver``, the
    test extra's selenium), keeping the console log so callers can check it for errors."""
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        raise SiteError("chromium and chromedriver are needed: make test installs them "
                        "(apt-get install chromium chromium-driver)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        raise SiteError("selenium is needed: pip install -e '.[test]' (make test does)") from None
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={width},{height}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver), options=options)


def serve(directory: Path):
    """A static server for ``directory`` on 127.0.0.1 (a free port) in a daemon thread."""
    import functools
    import http.server
    import threading

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(directory)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


VIEW_HEIGHT = 1500  # pixels: the findings and the first workload's verdict and figures


def screenshot(html_dir: Path, out: Path, page: str = f"{REPORT_DIR}/index.html", width: int = 1400,
               source: str = "", height: int = VIEW_HEIGHT) -> Path:
    """A PNG of the top ``height`` pixels of ``page`` of the built site, as a visitor's browser
    draws it, in 256 colours: one clear view that a README can carry (a full page of every
    workload was 5.5 MB). ``source`` (what drew it: a commit) goes in as a text chunk."""
    httpd = serve(html_dir)
    driver = None
    try:
        driver = browser(width)
        driver.get(f"http://127.0.0.1:{httpd.server_address[1]}/{page}")
        driver.execute_script("return document.readyState")
        full = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(width, min(full, height) + 100)
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(out))
        _palette(Path(out))
        if source:
            _tag(Path(out), "Source", source)
    finally:
        if driver is not None:
            driver.quit()
        httpd.shutdown()
        httpd.server_close()
    return Path(out)


def _palette(png: Path) -> None:
    """The picture in 256 adaptive colours: text and flat plots lose nothing a reader sees."""
    from PIL import Image

    with Image.open(png) as image:
        small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    small.save(png, optimize=True)


def _tag(png: Path, key: str, text: str) -> None:
    """Add a tEXt chunk before IEND: a picture redrawn by other code differs even where
    the pixels do not, so committing it records when it was drawn."""
    import struct
    import zlib

    data = png.read_bytes()
    end = data.rindex(b"IEND") - 4  # the IEND chunk starts with its 4-byte length
    body = b"tEXt" + key.encode("latin-1") + b"\0" + text.encode("latin-1")
    chunk = struct.pack(">I", len(body) - 4) + body + struct.pack(">I", zlib.crc32(body))
    png.write_bytes(data[:end] + chunk + data[end:])
