"""The parts of the manifest loader: grammar, sources, routes, pragmas, prefs (entry point: sandbox.manifest)."""
