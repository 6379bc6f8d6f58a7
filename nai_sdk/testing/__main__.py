"""``python -m nai_sdk.testing``: run FakeNovelAI in the foreground until interrupted (Ctrl-C or SIGTERM)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence

from ._server import FakeNovelAI
from ._state import TIERS

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, serve, and save the state on the way out.

    Prints ``FakeNovelAI listening on <url>`` once ready, so a parent process started with ``--port 0`` can read
    the chosen port from the first line of standard output. With ``--split-hosts`` that line is
    ``FakeNovelAI listening on api <url> text <url> image <url>``.

    Returns:
        The process exit status.
    """
    parser = argparse.ArgumentParser(prog="python -m nai_sdk.testing", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8080, help="port; 0 picks a free one (default: %(default)s)")
    parser.add_argument("--state", metavar="FILE", help="JSON file to load the state from and save it to")
    parser.add_argument(
        "--default-tier", type=int, choices=sorted(TIERS), help="subscription tier of new accounts (default: none)"
    )
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added before every request")
    parser.add_argument("--seed", type=int, default=0, help="seed mixed into every generation")
    parser.add_argument("--log-level", default="info", help="uvicorn log level (default: %(default)s)")
    parser.add_argument(
        "--split-hosts",
        action="store_true",
        help="serve the api, text and image hosts apart, on --port and the next two ports, each with its own routes",
    )
    args = parser.parse_args(argv)

    server = FakeNovelAI(
        default_tier=args.default_tier,
        latency=args.latency,
        seed=args.seed,
        state_file=args.state,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        split_hosts=args.split_hosts,
    )
    stop = threading.Event()
    # The server runs in a thread, so the main thread turns SIGTERM into an orderly stop (which saves the state).
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    server.start()
    if server.split_hosts:
        where = f"api {server.api_url} text {server.text_url} image {server.image_url}"
    else:
        where = server.base_url
    print(f"FakeNovelAI listening on {where}", flush=True)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
