"""Start the interactive pose editor: a local web page where you choose a photo of a person, drag
the joints of their skeleton, render them in the new pose, take the pose of another photo, evaluate
(AKD, MKR) and download the output PNG and the pose as OpenPose JSON. Serves only on the loopback
address unless --allow-remote is given (then every request needs the token in the printed URL).
Stop it with Ctrl+C.
"""
from __future__ import annotations

import argparse
import logging
import signal
import threading

from realtime.app.commands.renderer_args import add_renderer_arguments, build_renderer, renderer_options
from realtime.errors import InputError

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=8765, help="TCP port (default 8765; 0 picks a free one)")
    parser.add_argument("--allow-remote", action="store_true",
                        help="allow a --host other than loopback (anyone who can reach it can use the editor)")
    parser.add_argument("--max-upload-mb", type=float, default=12.0, help="largest upload in MB (default 12)")
    parser.add_argument("--max-side", type=int, default=1280,
                        help="photos are scaled so their longer side is at most this many pixels (default 1280)")
    add_renderer_arguments(parser)


def validate(args: argparse.Namespace) -> None:
    """Refuse bad flag combinations with one clear line (InputError)."""
    from realtime.websafety import check_bind

    check_bind(args.host, args.allow_remote)
    if not 0 <= args.port <= 65535:
        raise InputError(f"--port must be 0..65535, got {args.port}")
    if args.max_upload_mb <= 0 or args.max_side < 64:
        raise InputError("--max-upload-mb must be positive and --max-side at least 64")
    renderer_options(args)


def _interrupt(signum: int, frame) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    validate(args)
    from realtime.app.editor import EditorOptions, EditorService
    from realtime.app.editor.app import create_app, serve
    from realtime.websafety import WebGuard, probe_port

    guard = WebGuard(args.host, allow_remote=args.allow_remote)
    probe_port(args.host, args.port)   # a busy port: one line before the renderer loads

    options = EditorOptions(renderer=args.renderer, renderer_options=renderer_options(args),
                            max_upload_bytes=int(args.max_upload_mb * 2**20), max_side=args.max_side)
    # the renderer is created now (a bad checkpoint fails here) and prepared per uploaded photo
    service = EditorService(options, renderer=build_renderer(args))
    app = create_app(options, service=service, allow_remote=args.allow_remote, guard=guard)
    try:
        server = serve(app, args.host, args.port)
    except (OSError, SystemExit) as e:   # werkzeug exits on a busy port
        service.close()
        raise InputError(f"cannot listen on {args.host}:{args.port} ({getattr(e, 'strerror', None) or e}); "
                         "choose another --port") from None
    # per-request access lines only with -v; SIGTERM stops the server as Ctrl+C does
    logging.getLogger("werkzeug").setLevel(logging.INFO if getattr(args, "verbose", False) else logging.WARNING)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)
    print(f"repose editor ({service.renderer_name} renderer): {guard.url(server.port)}  "
          "(Ctrl+C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        service.close()
    return 0
