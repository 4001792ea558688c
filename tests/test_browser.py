"""The ``y2w demo`` in a real browser: headless Chromium driven by Selenium.

The demo is started as ``y2w demo`` starts it (a fake gateway on its own
port, the demo app served by uvicorn on a listening socket), and a real
browser clicks through it: the login page's script, the session cookie,
the bind page's script and the logout form all run as they would for a
visitor.

Needs Debian's ``chromium`` and ``chromium-driver`` and the ``selenium``
package. Without them the test skips, or fails under
``Y2W_REQUIRE_SERVICES=1`` (CI). Nothing here downloads anything:
Selenium Manager is refused, the driver and browser paths are given.
Deselect it with ``-m "not browser"``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
import uvicorn
from conftest import missing_service

from y2w_middleware import cli
from y2w_middleware._demo import DEMO_PEOPLE, build_demo_app, serve_gateway
from y2w_middleware.testing import FakeGateway

if TYPE_CHECKING:
    from selenium.webdriver.chrome.webdriver import WebDriver

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
#: Every wait on the page gives up after this many seconds.
WAIT = 10.0

KNOWN = DEMO_PEOPLE[0]  # 张德强: also checks a non-ASCII name end to end
UNKNOWN = next(person for person in DEMO_PEOPLE if not person.has_account)
SESSION_COOKIE = "y2w_session"  # Settings.cookie_name, the demo's default

CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",  # root in a container has no user namespace for it
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--window-size=1000,900",
)


@pytest.fixture
def demo_url() -> Iterator[str]:
    """The demo, served as ``y2w demo`` serves it; yields its base URL."""
    gw = FakeGateway()
    with contextlib.ExitStack() as stack:
        # The CLI's own pieces: a socket already listening (so the browser
        # may connect before uvicorn accepts), the fake gateway, the app.
        listener = stack.enter_context(cli._listen("127.0.0.1", 0))
        gateway_url = stack.enter_context(serve_gateway(gw, "127.0.0.1", 0))
        app = build_demo_app(gateway_url, gw)
        # log_config=None: leave the test run's logging configuration alone.
        config = uvicorn.Config(app, log_config=None, access_log=False)
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": [listener]},
            name="y2w-demo-uvicorn",
            daemon=True,
        )
        thread.start()
        try:
            yield f"http://127.0.0.1:{listener.getsockname()[1]}"
        finally:
            server.should_exit = True
            thread.join(timeout=WAIT)
        assert not thread.is_alive(), "uvicorn did not stop"


@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[WebDriver]:
    """Headless Chromium, offline: Debian's binaries, never a download."""
    if importlib.util.find_spec("selenium") is None:
        missing_service('selenium is not installed: pip install -e ".[test]"')
    for binary in (CHROMIUM, CHROMEDRIVER):
        if not os.access(binary, os.X_OK):
            missing_service(
                f"{binary} is missing: apt-get install chromium chromium-driver"
            )

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.selenium_manager import SeleniumManager

    # Selenium Manager would fetch a browser or driver from the internet.
    # The explicit service path skips it; make sure it never runs anyway.
    monkeypatch.setenv("SE_OFFLINE", "true")
    monkeypatch.setattr(SeleniumManager, "binary_paths", _no_selenium_manager)

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})

    service = Service(str(CHROMEDRIVER), log_output=subprocess.DEVNULL)
    driver = webdriver.Chrome(service=service, options=options)
    try:
        driver.set_page_load_timeout(WAIT)
        driver.set_script_timeout(WAIT)
        yield driver
    finally:
        driver.quit()


def _no_selenium_manager(*args: Any, **kwargs: Any) -> None:
    raise AssertionError("Selenium Manager must not run: it downloads drivers")


def test_a_visitor_logs_in_out_and_binds_in_chromium(
    demo_url: str, browser: WebDriver, tmp_path: Path
) -> None:
    """Login, greeting, HttpOnly cookie, logout, then bind a new face."""
    from selenium.webdriver.common.by import By

    # / without a session: the middleware sends the browser to the login page.
    browser.get(demo_url + "/")
    assert urlsplit(browser.current_url).path == "/login"
    assert urlsplit(browser.current_url).query == "next=/"
    # The face component's access token arrived: the page's script ran.
    wait_for_text(browser, "#status", "Face component ready")
    assert len(browser.find_elements(By.CSS_SELECTOR, ".card")) == len(DEMO_PEOPLE)
    browser.save_screenshot(str(tmp_path / "login.png"))

    # A known face: the script posts the token to /y2w/login and goes to /.
    scan(browser, KNOWN.uid)
    wait_for_text(browser, "h1", f"Hello, {KNOWN.name}")
    url = urlsplit(browser.current_url)
    assert url.path == "/"
    assert "identityToken" not in browser.current_url
    browser.save_screenshot(str(tmp_path / "greeting.png"))

    # The session lives in an HttpOnly cookie: page scripts cannot read it.
    cookies = {cookie["name"]: cookie for cookie in browser.get_cookies()}
    assert cookies[SESSION_COOKIE]["httpOnly"] is True
    assert SESSION_COOKIE not in browser.execute_script("return document.cookie")

    # The logout form: back on the login page, and / is closed again.
    browser.find_element(By.CSS_SELECTOR, 'form[action^="/y2w/logout"] button').click()
    wait_for_text(browser, "h1", "Face login")
    assert urlsplit(browser.current_url).path == "/login"
    assert SESSION_COOKIE not in {cookie["name"] for cookie in browser.get_cookies()}
    browser.get(demo_url + "/")
    assert urlsplit(browser.current_url).path == "/login"

    # A face with no account: the bind page, one click, then the greeting.
    wait_for_text(browser, "#status", "Face component ready")
    scan(browser, UNKNOWN.uid)
    wait_for_text(browser, "h1", f"Welcome, {UNKNOWN.name}")
    assert urlsplit(browser.current_url).path == "/bind"
    browser.find_element(By.ID, "create").click()
    wait_for_text(browser, "h1", f"Hello, {UNKNOWN.name}")
    assert urlsplit(browser.current_url).path == "/"

    # The pages' own style and scripts ran under their CSP; nothing else.
    refused = [
        entry["message"]
        for entry in browser.get_log("browser")
        if "Content Security Policy" in entry["message"]
    ]
    assert refused == []


def scan(browser: WebDriver, uid: str) -> None:
    """Click the card of *uid* on the login page, as a visitor would."""
    from selenium.webdriver.common.by import By

    browser.find_element(By.CSS_SELECTOR, f'.card[data-uid="{uid}"]').click()


def wait_for_text(browser: WebDriver, selector: str, text: str) -> None:
    """Wait until the element at *selector* shows *text*, across navigations."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.wait import WebDriverWait

    condition = expected_conditions.text_to_be_present_in_element(
        (By.CSS_SELECTOR, selector), text
    )
    try:
        WebDriverWait(browser, WAIT).until(condition)
    except TimeoutException:
        shown = browser.execute_script("return document.body.innerText")
        pytest.fail(
            f"{text!r} not shown in {selector} within {WAIT} s "
            f"at {browser.current_url}; the page says: {shown!r}"
        )
