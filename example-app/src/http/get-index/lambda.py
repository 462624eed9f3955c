"""GET /: the page with the form and the task list; told of each step over @ws, it refreshes the list."""

import html
import json
import os

from sandbox import arc

PAGE = """<!doctype html>
<html>
<head>
  <meta charset="utf-8">
  <title>Background tasks</title>
  <style>
    body {{ font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; }}
    .received {{ color: #b26a00; }} .processing {{ color: #0057b3; }} .complete {{ color: #137333; }}
  </style>
</head>
<body>
  <h1>Background tasks</h1>
  <form method="post" action="/background">
    <input name="background" placeholder="Task name" required autofocus>
    <button>Start a background task</button>
  </form>
  <ul id="tasks">{items}</ul>
  <script>
    async function refresh() {{
      const tasks = await (await fetch('/tasks')).json();
      const list = document.getElementById('tasks');
      list.replaceChildren(...tasks.map(t => {{
        const li = document.createElement('li');
        li.textContent = `${{t.name}}: `;
        const s = document.createElement('span');
        s.className = t.status; s.textContent = t.status; li.append(s);
        return li;
      }}));
    }}
    // ARC_WSS_URL: ws://localhost:3333 in the sandbox, the API's wss:// URL once deployed.
    const url = {wss_url};
    if (url) new WebSocket(url).onmessage = refresh;
    else setInterval(refresh, 1000);
  </script>
</body>
</html>
"""


def handler(event, context):
    tasks = sorted(arc.tables().tasks.scan_all(), key=lambda t: t["created"], reverse=True)
    items = "".join(
        f'<li>{html.escape(t["name"])}: <span class="{t["status"]}">{t["status"]}</span></li>' for t in tasks
    )
    wss_url = json.dumps(os.environ.get("ARC_WSS_URL", ""))
    return arc.http.response(html=PAGE.format(items=items, wss_url=wss_url))
