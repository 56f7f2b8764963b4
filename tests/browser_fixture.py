"""Debian's chromium driven by Playwright, the one way the browser tests start it."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator


@contextmanager
def chromium(path: str) -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            yield browser
        finally:
            browser.close()
