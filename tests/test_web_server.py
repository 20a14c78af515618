"""edgeseg.web_server and `edgeseg web`: what is served (batch-1 model, isolation headers) and the
one-line errors. No browser here (tests/test_web_demo.py drives Chromium)."""

from __future__ import annotations

import gzip
import json
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edgeseg.cli import app
from edgeseg.edge_runtime.batch import has_dynamic_batch, static_batch
from edgeseg.errors import ConfigError, DependencyError, ModelError
from edgeseg.web_server import HEADERS, RUNTIME_FILE, WEB_APP_DIR, WebServer, check_app_dir

DEMO_MODEL = Path(__file__).parents[1] / "android_demo/app/src/main/assets/model_int8.tflite"
# An export from before `edgeseg convert` fixed the batch at 1 (tests/test_batch.py).
DYNAMIC_MODEL = Path(__file__).parents[1] / "tests/data/dynamic_batch_int8.tflite"


@pytest.fixture()
def app_dir(tmp_path: Path) -> Path:
    """A minimal app folder with the runtime file present (the real one may lack node_modules)."""
    runtime = tmp_path / "app/node_modules/@litertjs/core/dist/index.js"
    runtime.parent.mkdir(parents=True)
    runtime.write_text("export {};\n")
    (tmp_path / "app/index.html").write_text("<!doctype html><title>t</title>\n")
    return tmp_path / "app"


def get(url: str) -> tuple[bytes, dict[str, str]]:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - our own server
        return response.read(), dict(response.headers)


def test_serves_a_batch_one_model_with_isolation_headers(app_dir: Path) -> None:
    with WebServer(DYNAMIC_MODEL, port=0, app_dir=app_dir) as server:
        assert server.url.startswith("http://127.0.0.1:")
        model, headers = get(server.url + "model.tflite")
        info, _ = get(server.url + "model.json")
        page, page_headers = get(server.url)
    assert has_dynamic_batch(DYNAMIC_MODEL.read_bytes())
    assert model == static_batch(DYNAMIC_MODEL.read_bytes())
    assert not has_dynamic_batch(model)
    assert json.loads(info) == {"name": DYNAMIC_MODEL.name, "url": "model.tflite"}
    assert b"<title>t</title>" in page
    for name, value in HEADERS.items():
        assert headers[name] == value and page_headers[name] == value


def test_missing_npm_packages_name_the_setup_script(app_dir: Path) -> None:
    (app_dir / "node_modules/@litertjs/core/dist/index.js").unlink()
    with pytest.raises(DependencyError, match="setup.sh"):
        check_app_dir(app_dir)
    with pytest.raises(ConfigError, match="source checkout"):
        check_app_dir(app_dir / "nowhere")


def test_model_without_metadata_is_refused(app_dir: Path, tmp_path: Path) -> None:
    from edgeseg.edge_runtime.metadata import metadata_entries

    bare = tmp_path / "bare.tflite"
    # The golden metadata-only flatbuffer without an edgeseg entry.
    golden = DEMO_MODEL.parents[4] / "core/src/test/resources/golden/flatbuffer_metadata"
    bare.write_bytes(gzip.decompress((golden / "model_no_edgeseg.bin.gz").read_bytes()))
    assert "edgeseg" not in metadata_entries(bare.read_bytes())
    with pytest.raises(ModelError, match="no edgeseg metadata"):
        WebServer(bare, port=0, app_dir=app_dir)


@pytest.mark.parametrize(
    "args, message",
    [
        (["web", "missing.tflite"], "not found"),
        (["web", str(DEMO_MODEL), "--port", "70000"], "--port 70000"),
    ],
)
def test_cli_errors_are_one_line(args: list[str], message: str) -> None:
    if not (WEB_APP_DIR / RUNTIME_FILE).is_file():
        pytest.skip("web_demo's npm packages are missing: bash web_demo/setup.sh")
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and message in lines[0], result.output
