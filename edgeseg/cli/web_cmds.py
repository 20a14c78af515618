"""``edgeseg web``: the LiteRT.js web app and one model, served for a browser or a tablet."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edgeseg.cli.app import app
from edgeseg.cli.common import say, user_errors


@app.command()
@user_errors
def web(
    model: Annotated[Path, typer.Argument(help="A .tflite model (edgeseg metadata inside).")],
    port: Annotated[int, typer.Option(help="TCP port (0: any free port).")] = 8000,
    host: Annotated[
        str,
        typer.Option(
            help="Address to listen on. 127.0.0.1 (default) is this machine only; 0.0.0.0 lets "
            "a tablet on the same network open it (the camera then needs HTTPS: see "
            "web_demo/README.md)."
        ),
    ] = "127.0.0.1",
) -> None:
    """Serve the web app (web_demo/) with MODEL: segment camera, video, images in a browser.

    \b
    Example: edgeseg web runs/demo/export/model_int8.tflite   (then open the printed URL)
    """
    from edgeseg.web_server import WebServer

    server = WebServer(model, host=host, port=port)
    say(f"serving {server.model.name} on {server.url} (web_demo, LiteRT.js); Ctrl-C stops it")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        say("stopped")
    finally:
        server.close()
