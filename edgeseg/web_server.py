"""``edgeseg web``'s server: the static web app (``web_demo/``) and one model, on 127.0.0.1.

stdlib ``http.server`` only. Every response carries the cross-origin isolation headers
(COOP/COEP: LiteRT.js's threaded WASM needs them) and ``no-cache`` (the app's service worker
keeps the offline copy). ``/model.tflite`` is the chosen model with a static batch of 1
(:func:`edgeseg.edge_runtime.batch.static_batch`, which LiteRT.js needs), ``/model.json`` its
name; everything else is a file under ``web_demo/``.
"""

from __future__ import annotations

import functools
import json
import shutil
import threading
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from edgeseg.edge_runtime.batch import static_batch
from edgeseg.edge_runtime.metadata import _read_model_bytes, load_metadata
from edgeseg.errors import ConfigError, DependencyError, ModelError

WEB_APP_DIR = Path(__file__).resolve().parents[1] / "web_demo"
RUNTIME_FILE = Path("node_modules/@litertjs/core/dist/index.js")
MODEL_URL = "/model.tflite"
# Headless Chromium as the browser tests and benchmarks/web_vs_native.py open this page
# (Debian's chromium, given to Playwright as its executable_path).
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HEADLESS_CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-cache",
}
TYPES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".wasm": "application/wasm",
    ".webmanifest": "application/manifest+json",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".tflite": "application/octet-stream",
}


@dataclass(frozen=True)
class ServedModel:
    """The model the app opens: its file name and its bytes (batch fixed to 1)."""

    name: str
    data: bytes

    @classmethod
    def from_path(cls, path: Path) -> ServedModel:
        """Read and check a model (ModelError without edgeseg metadata or when corrupt)."""
        path = Path(path)
        if load_metadata(path) is None:
            raise ModelError(
                f"{path} has no edgeseg metadata: the web app needs it; export the model with "
                "`edgeseg convert`"
            )
        return cls(path.name, static_batch(_read_model_bytes(path), str(path)))


def check_app_dir(app_dir: Path) -> Path:
    """ConfigError without the app's files, DependencyError without its npm packages."""
    app_dir = Path(app_dir)
    if not (app_dir / "index.html").is_file():
        raise ConfigError(
            f"the web app is not at {app_dir}: `edgeseg web` runs from an edgeseg source "
            "checkout (its web_demo/ folder)"
        )
    if not (app_dir / RUNTIME_FILE).is_file():
        raise DependencyError(
            f"the web app's npm packages are missing ({app_dir / 'node_modules'}): "
            f"run `bash {app_dir / 'setup.sh'}` (npm ci, needs Node.js) once"
        )
    return app_dir


class _Handler(SimpleHTTPRequestHandler):
    model: ServedModel
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, **TYPES}

    def end_headers(self) -> None:
        for name, value in HEADERS.items():
            self.send_header(name, value)
        super().end_headers()

    def _send(self, body: bytes, content_type: str, head: bool = False) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _virtual(self, head: bool) -> bool:
        path = self.path.split("?", 1)[0]
        if path == MODEL_URL:
            self._send(self.model.data, TYPES[".tflite"], head)
        elif path == "/model.json":
            body = json.dumps({"name": self.model.name, "url": MODEL_URL.lstrip("/")}).encode()
            self._send(body, TYPES[".json"], head)
        else:
            return False
        return True

    def do_GET(self) -> None:  # noqa: N802 - http.server's method name
        if not self._virtual(head=False):
            super().do_GET()

    def do_HEAD(self) -> None:  # noqa: N802
        if not self._virtual(head=True):
            super().do_HEAD()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base's signature
        pass  # quiet: the CLI prints the URL once


class WebServer:
    """The app and one model served on ``host:port`` (port 0: any free port)."""

    def __init__(
        self,
        model: Path,
        host: str = "127.0.0.1",
        port: int = 8000,
        app_dir: Path = WEB_APP_DIR,
    ) -> None:
        if not 0 <= int(port) <= 65535:
            raise ConfigError(f"--port {port}: must be between 0 and 65535")
        app_dir = check_app_dir(app_dir)
        served = ServedModel.from_path(model)
        handler = type("Handler", (_Handler,), {"model": served})
        factory = functools.partial(handler, directory=str(app_dir))
        try:
            self.httpd = ThreadingHTTPServer((host, int(port)), factory)
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {host}:{port} ({exc.strerror or exc}): pass another --port"
            ) from exc
        self.httpd.daemon_threads = True
        self.model = served
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/"

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def start(self) -> WebServer:
        """Serve from a background thread (tests, benchmarks)."""
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join()
        self.httpd.server_close()

    def __enter__(self) -> WebServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["WEB_APP_DIR", "ServedModel", "WebServer", "check_app_dir"]
