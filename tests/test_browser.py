"""The draw-a-digit page in a real browser: Debian's headless Chromium, driven
by Playwright, against the server on a free local port.

A real sample digit is drawn on the canvas with mouse strokes (and, on a
phone-sized page, with touches); the label the page shows must be the one the
offline pipeline predicts for the same drawing (the canvas' PNG read with
read_image, normalised with DigitNormalizer), and the 28 x 28 preview must be
exactly what the model received.

No browser is downloaded: Chromium must be at /usr/bin/chromium (Debian's
``chromium`` package, which .ci/run installs). Set SK_MNIST_DOCS_SCREENSHOT to
a path to keep the screenshot for the documentation.
"""

import base64
import io
import os
import shutil
import threading
import time

import numpy as np
import pytest
import uvicorn
from playwright.sync_api import sync_playwright

from sk_mnist import make_mnist_pipeline
from sk_mnist.images import DigitNormalizer, read_image
from sk_mnist.serve import create_app
from sk_mnist.serve._server import bind

# Slow: a real headless Chromium.
pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The page has answered for the drawing as it is now.
ANSWERED = """() => {
  const pad = document.getElementById("pad");
  const label = document.getElementById("label");
  return pad.dataset.version !== "0" && pad.dataset.version === label.dataset.version;
}"""
SEEN_PIXELS = """() => Array.from(
  document.getElementById("seen").getContext("2d").getImageData(0, 0, 28, 28).data
).filter((_, i) => i % 4 === 0)"""
PAD_PNG = "() => document.getElementById('pad').toDataURL('image/png')"


@pytest.fixture(scope="module")
def model(sample):
    (X, y), _ = sample
    pipe = make_mnist_pipeline(
        hidden_layer_sizes=(64,), epochs=3, batch_size=128, random_state=0
    )
    return pipe.fit(X, y)


@pytest.fixture(scope="module")
def base_url(model):
    """The server, in a thread of this process, on a free port of 127.0.0.1."""
    sock = bind("127.0.0.1", 0)
    config = uvicorn.Config(create_app(model), log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]})
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
    server.should_exit = True
    thread.join(30)
    sock.close()


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(
            f"the browser test needs Debian's Chromium at {CHROMIUM}: "
            "apt-get install chromium (no browser is downloaded at run time)"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


def _open(context, base_url):
    """The page, with every request and browser error recorded."""
    page = context.new_page()
    page.requests, page.errors = [], []
    page.on("request", lambda request: page.requests.append(request.url))
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on(
        "console",
        lambda message: message.type == "error" and page.errors.append(message.text),
    )
    page.goto(base_url)
    page.wait_for_function(
        "() => document.querySelectorAll('#bars .bar').length === 10"
    )
    return page


def _strokes(digit):
    """Horizontal strokes over the ink of a 28 x 28 digit: (row, first, last)."""
    ink = digit.reshape(28, 28) > 127
    strokes = []
    for row in range(28):
        columns = np.flatnonzero(ink[row])
        if columns.size:
            runs = np.split(columns, np.flatnonzero(np.diff(columns) > 1) + 1)
            strokes += [(row, run[0], run[-1]) for run in runs]
    return strokes


def _pad_point(box, row, column):
    scale = box["width"] / 28
    return box["x"] + (column + 0.5) * scale, box["y"] + (row + 0.5) * scale


def _draw_with_mouse(page, digit):
    box = page.locator("#pad").bounding_box()
    for row, first, last in _strokes(digit):
        page.mouse.move(*_pad_point(box, row, first))
        page.mouse.down()
        page.mouse.move(*_pad_point(box, row, last), steps=max(2, int(last - first)))
        page.mouse.up()


def _draw_with_finger(page, digit):
    cdp = page.context.new_cdp_session(page)
    box = page.locator("#pad").bounding_box()

    def touch(kind, x=None, y=None):
        points = [] if x is None else [{"x": x, "y": y}]
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    for row, first, last in _strokes(digit):
        touch("touchStart", *_pad_point(box, row, first))
        for column in np.linspace(first, last, max(2, int(last - first) + 1)):
            touch("touchMove", *_pad_point(box, row, column))
        touch("touchEnd")


def _offline(model, page):
    """What the pipeline predicts offline for the canvas as it is now."""
    data_url = page.evaluate(PAD_PNG)
    png = base64.b64decode(data_url.split(",", 1)[1])
    row = DigitNormalizer().transform([read_image(io.BytesIO(png))])
    return row[0], model.predict(row)[0], model.predict_proba(row)[0].max()


def _check_page_matches_offline(page, model):
    page.wait_for_function(ANSWERED, timeout=60_000)
    row, label, probability = _offline(model, page)
    assert page.inner_text("#label") == str(label)
    assert page.inner_text("#confidence") == f"{100 * probability:.1f} % sure"
    # the preview is exactly the 28 x 28 image the model received
    assert page.evaluate(SEEN_PIXELS) == row.tolist()
    top = page.locator("#bars .bar.top")
    assert top.count() == 1 and top.locator(".name").inner_text() == str(label)
    # the bar is drawn as long as the probability says (no transition: the
    # contexts ask for reduced motion)
    fill = top.locator(".fill").bounding_box()["width"]
    track = top.locator(".track").bounding_box()["width"]
    assert abs(fill / track - probability) < 0.01
    assert page.inner_text("#status") == ""
    return label


def _shot(page, path):
    page.screenshot(path=str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    target = os.environ.get("SK_MNIST_DOCS_SCREENSHOT")
    if target and "phone" not in path.name:
        shutil.copyfile(path, target)


def test_drawing_with_the_mouse_shows_the_offline_prediction(
    browser, base_url, model, sample, tmp_path
):
    _, (X_test, y_test) = sample
    page = _open(
        browser.new_context(
            viewport={"width": 900, "height": 640}, reduced_motion="reduce"
        ),
        base_url,
    )
    assert page.inner_text("#label") == "?"
    _draw_with_mouse(page, X_test[1])
    label = _check_page_matches_offline(page, model)
    print(f"sample digit {y_test[1]} drawn, the page and the pipeline say {label}")
    _shot(page, tmp_path / "serve_page.png")

    page.click("#clear")
    assert page.inner_text("#label") == "?"
    assert not any(page.evaluate(SEEN_PIXELS))
    assert page.locator("#bars .bar.top").count() == 0
    assert page.evaluate(ANSWERED)  # nothing left to answer
    _draw_with_mouse(page, X_test[5])
    _check_page_matches_offline(page, model)
    # all from the server itself; nothing failed in the page
    assert page.requests and all(url.startswith(base_url) for url in page.requests)
    assert page.errors == []


def test_drawing_with_a_finger_on_a_phone_sized_page(
    browser, base_url, model, sample, tmp_path
):
    _, (X_test, _) = sample
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        reduced_motion="reduce",
    )
    page = _open(context, base_url)
    width = page.evaluate("() => window.innerWidth")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    box = page.locator("#pad").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width and box["width"] >= 280
    _draw_with_finger(page, X_test[2])
    _check_page_matches_offline(page, model)
    # the touches drew; they neither scrolled nor zoomed the page
    assert page.evaluate("() => [window.scrollX, window.scrollY]") == [0, 0]
    assert page.evaluate("() => window.visualViewport.scale") == 1
    _shot(page, tmp_path / "serve_page_phone.png")
    assert page.errors == []
