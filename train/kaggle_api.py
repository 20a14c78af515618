"""Talking to Kaggle through the official ``kaggle`` package: credentials, download, errors.

Credentials are looked for where the Kaggle CLI looks (``kaggle`` 1.7+/2.x): an access token
(``KAGGLE_API_TOKEN``, ``~/.kaggle/access_token``), a legacy API key (``KAGGLE_USERNAME`` +
``KAGGLE_KEY``, or ``kaggle.json`` in ``KAGGLE_CONFIG_DIR``, else ``~/.kaggle``, else
``$XDG_CONFIG_HOME/kaggle``), or ``kaggle auth login``'s ``~/.kaggle/credentials.json``. That
search runs here first, without importing ``kaggle``: importing it authenticates at once (and
prints, or exits, when nothing is found), so a machine without credentials gets one line naming
every place looked at, and the package is imported only when there is something to use.

The download itself is the package's (``KaggleApi.download_file``: HTTP ranges, retries, a
resume marker); it writes to ``NAME.zip.part``, renamed to ``NAME.zip`` only once every byte
the server announced is there, so a partial download is never taken for a complete one and
the next run resumes it.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from edgeseg.errors import ConfigError, DataError, DependencyError

SETTINGS_URL = "https://www.kaggle.com/settings"  # "API" section: create a token / kaggle.json
FROM_ZIP = "or download {competition}.zip in a browser and pass --from-zip FILE"


@dataclass(frozen=True)
class Credentials:
    """Where the Kaggle credentials were found (never the secret itself)."""

    kind: str  # "access token", "API key", "OAuth login"
    source: str  # the variable or file


def config_dir(env: Mapping[str, str] = os.environ, home: Path | None = None) -> Path:
    """The folder the Kaggle CLI reads ``kaggle.json`` from."""
    home = Path(home) if home else Path.home()
    if env.get("KAGGLE_CONFIG_DIR"):
        return Path(env["KAGGLE_CONFIG_DIR"])
    legacy = home / ".kaggle"
    if legacy.exists() or not sys.platform.startswith("linux"):
        return legacy
    return Path(env.get("XDG_CONFIG_HOME") or home / ".config") / "kaggle"


def _places(env: Mapping[str, str], home: Path) -> str:
    return (
        f"KAGGLE_API_TOKEN, {home / '.kaggle' / 'access_token'}, KAGGLE_USERNAME + KAGGLE_KEY, "
        f"{config_dir(env, home) / 'kaggle.json'}, {home / '.kaggle' / 'credentials.json'}"
    )


def find_credentials(
    env: Mapping[str, str] = os.environ, home: Path | None = None, competition: str = ""
) -> Credentials:
    """The first credentials the Kaggle CLI would use; ConfigError saying what is missing."""
    home = Path(home) if home else Path.home()
    if env.get("KAGGLE_API_TOKEN"):
        return Credentials("access token", "KAGGLE_API_TOKEN")
    for name in ("access_token", "access_token.txt"):
        token = home / ".kaggle" / name
        if token.is_file() and token.read_text(errors="replace").strip():
            return Credentials("access token", str(token))
    user, key = env.get("KAGGLE_USERNAME"), env.get("KAGGLE_KEY")
    config = config_dir(env, home) / "kaggle.json"
    if config.is_file():
        try:
            stored = json.loads(config.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConfigError(
                f"{config} is not a readable kaggle.json ({type(exc).__name__}): download it "
                f"again from {SETTINGS_URL} (API, Create New Token)"
            ) from exc
        if isinstance(stored, dict):
            user, key = user or stored.get("username"), key or stored.get("key")
    if user and key:
        return Credentials("API key", str(config) if config.is_file() else "KAGGLE_USERNAME")
    if user or key:
        missing = "KAGGLE_KEY" if user else "KAGGLE_USERNAME"
        raise ConfigError(
            f"Kaggle credentials are incomplete: {missing} is not set (and {config} does not "
            f"provide it); set it, or put the kaggle.json from {SETTINGS_URL} in {config.parent}"
        )
    oauth = home / ".kaggle" / "credentials.json"
    if oauth.is_file():
        return Credentials("OAuth login", str(oauth))
    raise ConfigError(
        f"no Kaggle credentials: none of {_places(env, home)} exists; create a token at "
        f"{SETTINGS_URL} (API) and save kaggle.json in {config_dir(env, home)} (chmod 600), "
        + FROM_ZIP.format(competition=competition or "the competition's ")
    )


MIN_KAGGLE = "1.7.4"  # the kagglesdk-based client: build_kaggle_client, download_file(http_client)


def _quietly_import():
    """``kaggle.api.kaggle_api_extended`` with its import-time authentication muted; a
    DependencyError when the installed ``kaggle`` predates the client used here."""
    import inspect
    from importlib.metadata import PackageNotFoundError, version

    from edgeseg.extras import require

    sink = io.StringIO()
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            module = require("kaggle.api.kaggle_api_extended", "downloading from Kaggle")
    except SystemExit as exc:  # an older kaggle exits on import without credentials
        raise ConfigError(f"the kaggle package refused the credentials: {_last(sink)}") from exc
    api = getattr(module, "KaggleApi", None)
    fits = (
        hasattr(module, "ApiDownloadDataFilesRequest")
        and hasattr(api, "build_kaggle_client")
        and "http_client" in inspect.signature(api.download_file).parameters
    )
    if not fits:
        try:
            installed = version("kaggle")
        except PackageNotFoundError:
            installed = "unknown"
        raise DependencyError(
            f"kaggle {installed} lacks the SDK client downloading uses (build_kaggle_client, "
            f"download_file with http_client; kaggle {MIN_KAGGLE}+): pip install -U kaggle"
        )
    return module


def _last(sink: io.StringIO) -> str:
    lines = [line.strip() for line in sink.getvalue().splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


def network_error(exc: BaseException, creds: Credentials, competition: str) -> Exception | None:
    """The one-line error for a failed Kaggle request, or None if ``exc`` is not one."""
    try:
        import requests
    except ImportError:  # pragma: no cover - kaggle depends on requests
        return None
    zip_hint = FROM_ZIP.format(competition=competition)
    if isinstance(exc, requests.exceptions.HTTPError) and exc.response is not None:
        status = exc.response.status_code
        if status == 401:
            return ConfigError(
                f"Kaggle refused the {creds.kind} from {creds.source} (401 unauthorized): "
                f"create a new token at {SETTINGS_URL} and replace it"
            )
        if status == 403:
            return ConfigError(
                f"Kaggle refused the download (403 forbidden): accept the rules of the "
                f"competition at https://www.kaggle.com/competitions/{competition}/rules with "
                f"the account of {creds.source}, then run again"
            )
        if status == 404:
            return DataError(f"Kaggle has no competition {competition!r} (404)")
        return DataError(f"Kaggle answered {status} ({exc}); try again later, {zip_hint}")
    if isinstance(exc, requests.exceptions.RequestException | ConnectionError | TimeoutError):
        return DataError(
            f"cannot reach www.kaggle.com ({type(exc).__name__}): are you offline? connect and "
            f"run again (a partial download resumes), {zip_hint}"
        )
    return None


def download(competition: str, part: Path, creds: Credentials, quiet: bool) -> Path:
    """Download the competition's archive to ``part`` (a ``.part`` file, resumed if present)
    and rename it without the ``.part`` suffix once complete; returns the complete file."""
    if part.suffix != ".part":
        raise ValueError(f"{part}: the download target must end in .part")
    module = _quietly_import()
    api = module.KaggleApi()
    try:
        sink = io.StringIO()
        try:
            with contextlib.redirect_stdout(sink):
                api.authenticate()
        except SystemExit as exc:
            raise ConfigError(
                f"Kaggle did not accept the {creds.kind} from {creds.source}: {_last(sink)}"
            ) from exc
        with api.build_kaggle_client() as client:
            request = module.ApiDownloadDataFilesRequest()
            request.competition_name = competition
            response = client.competitions.competition_api_client.download_data_files(request)
            expected = response.headers.get("Content-Length")
            with contextlib.redirect_stdout(sys.stderr):  # its "Downloading ..." lines
                api.download_file(response, str(part), client.http_client(), quiet, True)
    except Exception as exc:
        mapped = network_error(exc, creds, competition)
        if mapped is None:
            raise
        raise mapped from exc
    if expected is not None and part.stat().st_size != int(expected):
        raise DataError(
            f"{part}: {part.stat().st_size} of {int(expected)} bytes arrived; run again to resume"
        )
    done = part.with_suffix("")
    os.replace(part, done)
    with contextlib.suppress(OSError):
        Path(f"{part}.kaggle-partial").unlink()
    return done
