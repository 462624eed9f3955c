"""The `arc-sandbox` command's entry point: a clear word when the package was installed without its dependencies."""

from __future__ import annotations

import gc
import sys


def main() -> None:
    if sys.argv[1:2] == ["start"]:
        # Starting allocates a great deal and frees almost nothing: the collector would only walk the
        # growing heap, again and again (some 2% of start-up's instructions). `cli` turns it back on
        # once the sandbox is up, with what start-up built frozen out of its way.
        gc.disable()
        # The template imports the runtime (and boto3) while this process imports the server: by the
        # first request its preloads are done, and the first environment starts warm.
        from sandbox.lambdas.early import launch_early_template

        launch_early_template()
    try:
        from sandbox.cli import cli
    except ImportError as missing:  # `pip install --no-deps arc-sandbox`: the runtime client, as on Lambda
        sys.stderr.write(
            f"arc-sandbox: the sandbox's dependencies are not installed here ({missing}).\n"
            "Install them with: pip install arc-sandbox (without --no-deps)\n"
        )
        raise SystemExit(1) from None
    cli()
