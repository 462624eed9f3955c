"""arc-sandbox: a local sandbox for Architect-style Python serverless apps."""

from __future__ import annotations

__version__ = "0.1.0"
