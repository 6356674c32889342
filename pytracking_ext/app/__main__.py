"""``python -m pytracking_ext.app``: the local web page for tracking your own video (docs/app.md)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..cli import OneLineParser
from .media import DEFAULT_MAX_UPLOAD_MB

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def host_warning(host: str) -> str | None:
    """The warning for binding anything but this machine's loopback address (None for loopback)."""
    if host in LOCAL_HOSTS:
        return None
    return (
        f"warning: serving on {host}: anyone who can reach this address can upload files and read "
        "paths on this machine through the page (no login); use an SSH tunnel to 127.0.0.1 instead where you can"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = OneLineParser(prog="python -m pytracking_ext.app", description=__doc__.split("\n")[0].strip("`"))
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    parser.add_argument(
        "--max-upload-mb", type=float, default=DEFAULT_MAX_UPLOAD_MB, help="largest video accepted, in MB"
    )
    parser.add_argument("--workdir", default=None, help="folder for job outputs (default: the system's temp folder)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    warning = host_warning(args.host)
    if warning:
        print(warning, file=sys.stderr)
    # A local page sends nothing out: Gradio's usage analytics are off unless the user turns them on.
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    try:
        import gradio  # noqa: F401 - only to say how to install it
    except ImportError:
        print("error: the web page needs Gradio: pip install -e '.[app]'", file=sys.stderr)
        return 2
    from .page import PageConfig, build_page

    work_root = Path(args.workdir) if args.workdir else None
    if work_root is not None:
        work_root.mkdir(parents=True, exist_ok=True)
    page = build_page(PageConfig(args.max_upload_mb, work_root))
    page.queue().launch(
        server_name=args.host,
        server_port=args.port,
        max_file_size=int(args.max_upload_mb * 1e6),
        allowed_paths=[str(work_root)] if work_root is not None else None,
        footer_links=[],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
