"""Firefox and WebKitGTK behind one small interface, so that a scenario is written once.

`Driver.evaluate(function, *args)` calls a JavaScript function (its source) in the page with
JSON arguments and returns its awaited, JSON-able result; `click`, `fill` and `select` act
as a listener would (real input events, not assignments); `wait_for` polls a function until
it returns something truthy. Implementations (Chromium keeps Playwright's own API, in the
other browser tests):

- `PuppeteerDriver`: Firefox ESR over WebDriver BiDi, through puppeteer-core in a Node
  subprocess (`firefox.mjs`; Python has no well-kept BiDi client that launches Firefox
  without geckodriver, which Debian does not package);
- `WebDriverDriver`: WebKitGTK's MiniBrowser through WebKitWebDriver (W3C WebDriver, selenium).
"""

from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
FIREFOX_BRIDGE = Path(__file__).with_name("firefox.mjs")


class Driver:
    name = ""
    # The PulseAudio server the engine plays into, when it has its own.
    sound: PulseAudio | None = None

    def evaluate(self, function: str, *args):
        raise NotImplementedError

    def goto(self, url: str) -> None:
        raise NotImplementedError

    def reload(self) -> None:
        raise NotImplementedError

    def click(self, selector: str) -> None:
        raise NotImplementedError

    def fill(self, selector: str, value: str) -> None:
        raise NotImplementedError

    def select(self, selector: str, value: str) -> None:
        raise NotImplementedError

    def page_errors(self) -> list[str]:
        """Uncaught exceptions since the last call, where the engine reports them."""
        return []

    def close(self) -> None:
        pass

    def wait_for(self, function: str, *args, timeout: float = 15.0, interval: float = 0.1,
                 message: str = ""):
        """Poll `function(*args)` until it is truthy; its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(function, *args)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: timed out after {timeout} s waiting for "
                                     f"{message or function}")
            time.sleep(interval)


def call_expression(function: str, args) -> str:
    """A script calling `function` with JSON arguments (a script, not a function, so that it
    runs whatever the page's CSP says about eval)."""
    return f"({function})(...{json.dumps(list(args))})"


class PuppeteerDriver(Driver):
    name = "firefox"

    def __init__(self, executable: str, env: dict[str, str], timeout: float = 60.0):
        self.timeout = timeout
        self.process = subprocess.Popen(
            ["node", str(FIREFOX_BRIDGE)], cwd=str(ROOT), stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, env={**os.environ, **env, "FIREFOX_PATH": executable},
        )
        self._answers: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.version = self._answer(timeout)

    def _read(self) -> None:
        for line in self.process.stdout:
            self._answers.put(json.loads(line))
        self._answers.put({"error": f"the Firefox bridge exited ({self.process.wait()})"})

    def _answer(self, timeout: float):
        try:
            answer = self._answers.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"the Firefox bridge did not answer within {timeout} s") from None
        if "error" in answer:
            raise AssertionError(f"firefox: {answer['error']}")
        return answer["ok"]

    def _send(self, op: str, **fields):
        self.process.stdin.write(json.dumps({"op": op, **fields}).encode() + b"\n")
        self.process.stdin.flush()
        return self._answer(self.timeout)

    def evaluate(self, function: str, *args):
        return self._send("evaluate", expression=call_expression(function, args))

    def goto(self, url: str) -> None:
        self._send("goto", url=url)

    def reload(self) -> None:
        self._send("reload")

    def click(self, selector: str) -> None:
        self._send("click", selector=selector)

    def fill(self, selector: str, value: str) -> None:
        self._send("fill", selector=selector, value=value)

    def select(self, selector: str, value: str) -> None:
        self._send("select", selector=selector, value=value)

    def page_errors(self) -> list[str]:
        return self._send("errors")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class WebDriverDriver(Driver):
    name = "webkitgtk"

    def __init__(self, driver: str, binary: str, env: dict[str, str]):
        from selenium import webdriver
        from selenium.webdriver.webkitgtk.options import Options
        from selenium.webdriver.webkitgtk.service import Service

        options = Options()
        options.binary_location = binary
        options.add_argument("--automation")
        service = Service(executable_path=driver, env={**os.environ, **env})
        self.webdriver = webdriver.WebKitGTK(options=options, service=service)
        self.webdriver.set_script_timeout(60)
        self.webdriver.set_page_load_timeout(30)
        self.webdriver.set_window_size(1440, 900)
        self.version = self.webdriver.capabilities.get("browserVersion")

    def evaluate(self, function: str, *args):
        # An async script, so that a function returning a promise is awaited as elsewhere.
        answer = self.webdriver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            f"Promise.resolve().then(() => {call_expression(function, args)})"
            ".then((v) => done({ok: v === undefined ? null : v}), (e) => done({error: String(e)}));"
        )
        if "error" in answer:
            raise AssertionError(f"webkitgtk: {answer['error']}")
        return answer["ok"]

    def goto(self, url: str) -> None:
        self.webdriver.get(url)

    def reload(self) -> None:
        self.webdriver.refresh()

    def _element(self, selector: str):
        from selenium.webdriver.common.by import By

        return self.webdriver.find_element(By.CSS_SELECTOR, selector)

    def click(self, selector: str) -> None:
        self._element(selector).click()

    def fill(self, selector: str, value: str) -> None:
        element = self._element(selector)
        element.clear()
        element.send_keys(value)

    def select(self, selector: str, value: str) -> None:
        from selenium.webdriver.support.select import Select

        Select(self._element(selector)).select_by_value(value)

    def close(self) -> None:
        self.webdriver.quit()


def end_process(process: subprocess.Popen) -> None:
    """Ask a helper process to stop; kill it if it has not within 10 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Xvfb:
    """A virtual X display for WebKitGTK (it has no headless mode). Xvfb picks a free display
    number itself and writes it to a pipe once it accepts clients."""

    def __init__(self, executable: str = "/usr/bin/Xvfb", timeout: float = 30.0):
        read, write = os.pipe()
        self.process = subprocess.Popen(
            [executable, "-displayfd", str(write), "-screen", "0", "1440x900x24", "-nolisten", "tcp"],
            pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        os.close(write)
        number = b""
        deadline = time.monotonic() + timeout
        with os.fdopen(read, "rb") as pipe:
            while not number.endswith(b"\n") and time.monotonic() < deadline:
                chunk = pipe.read(1)
                if not chunk:
                    break
                number += chunk
        if not number.strip():
            self.close()
            raise RuntimeError("Xvfb did not start")
        self.display = f":{number.decode().strip()}"

    def close(self) -> None:
        end_process(self.process)


class PulseAudio:
    """A private PulseAudio server whose only output is a null sink: Firefox's Web Audio
    needs an audio device to run its clock (without one an AudioContext stays suspended),
    and a headless machine has none. `env` points a client at it."""

    SINK = "radiocalico"

    def __init__(self, executable: str = "/usr/bin/pulseaudio", timeout: float = 30.0):
        self.folder = tempfile.TemporaryDirectory(prefix="radiocalico-pulse-")
        path = Path(self.folder.name) / "native"
        self.env = {"PULSE_SERVER": f"unix:{path}"}
        home = {"HOME": self.folder.name, "XDG_RUNTIME_DIR": self.folder.name,
                "XDG_CONFIG_HOME": self.folder.name}
        self.process = subprocess.Popen(
            [executable, "-n", "--daemonize=no", "--exit-idle-time=-1", "--use-pid-file=no",
             "--system=no", "--disable-shm=yes", "--log-target=stderr",
             "-L", f"module-null-sink sink_name={self.SINK}",
             "-L", f"module-native-protocol-unix auth-anonymous=1 socket={path}"],
            env={**os.environ, **home}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                with socket.socket(socket.AF_UNIX) as client:
                    client.connect(str(path))
                return
            except OSError:
                time.sleep(0.1)
        self.close()
        raise RuntimeError("PulseAudio did not start")

    def record(self, pacat: str = "/usr/bin/pacat") -> "Recording":
        """What the null sink plays from now on, as a listener would hear it."""
        return Recording(pacat, f"{self.SINK}.monitor", self.env)

    def close(self) -> None:
        end_process(self.process)
        self.folder.cleanup()


class Recording:
    """A sink's monitor recorded by `pacat` (mono 16-bit at RATE), each 10 ms chunk stamped
    with the wall clock (`time.time()`, the clock a page's `Date.now()` reads) as it arrives,
    which is within a chunk of when it was played."""

    RATE = 48000
    CHUNK = RATE // 100

    def __init__(self, pacat: str, source: str, env: dict[str, str]):
        self.process = subprocess.Popen(
            [pacat, "--record", "--raw", f"--device={source}", "--format=s16le", f"--rate={self.RATE}",
             "--channels=1", "--latency-msec=10"],
            env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )
        self.chunks: list[tuple[float, bytes]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        size = self.CHUNK * 2
        while chunk := self.process.stdout.read(size):
            self.chunks.append((time.time(), chunk))

    def stop(self) -> list[tuple[float, "np.ndarray"]]:
        """(wall-clock ms when the chunk's last sample played, samples in -1..1) per chunk."""
        import numpy as np

        self.process.terminate()
        self.process.wait(timeout=10)
        self._reader.join(timeout=10)
        return [(t * 1000, np.frombuffer(chunk, dtype="<i2") / 32768.0) for t, chunk in self.chunks]
