"""API Gateway: what it does between a client and a Lambda.

`front` serves the app's HTTP routes: `router` matches them, `integration` turns a request into the
event of the route's payload format (`v1`, `v2`, built from `request`) and the result back into a
response (`validation`, `response`). `websocket` is the @ws API and its Management API, `proxy` is
@proxy, `static` and `fingerprint` serve the static folder, `pages` and `livereload` are the
sandbox's own pages and reload script.
"""
