"""The `arc-sandbox` command's entry point: a clear word when only the runtime client is installed."""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from sandbox.cli import cli
    except ImportError as missing:  # `pip install arc-sandbox` alone is the runtime client for Lambda
        sys.stderr.write(
            f"arc-sandbox: the sandbox itself is not installed here ({missing}).\n"
            "Install it with: pip install 'arc-sandbox[server]'\n"
        )
        raise SystemExit(1) from None
    cli()
