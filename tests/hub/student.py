"""A student at a JupyterHub, driven over HTTP the way a browser would: log in with the hub's form, open their
server (JupyterHub's OAuth hand-off sets the server's cookies), pull the lessons with the nbgitpuller API, and run
a notebook's cells in a kernel of their own server over the kernel websocket."""
import http.cookiejar
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import websocket


class Student:
    def __init__(self, hub_url, name, password="any"):
        self.hub, self.name, self.password = hub_url, name, password
        self.jar = http.cookiejar.CookieJar()
        self.http = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.server = f"{hub_url}/user/{name}"
        self.times = {}

    def _mark(self, event):
        self.times[event] = time.perf_counter()

    def cookie(self, name, path=None):
        for c in self.jar:
            if c.name == name and (path is None or c.path == path):
                return c.value
        return None

    def login(self):
        """The hub's login form; returns the page the browser lands on (spawn-pending while the server starts)."""
        self._mark("login")
        with self.http.open(f"{self.hub}/hub/login") as r:
            xsrf = re.search(r'name="_xsrf" value="([^"]+)"', r.read().decode()).group(1)
        form = urllib.parse.urlencode({"username": self.name, "password": self.password, "_xsrf": xsrf}).encode()
        with self.http.open(f"{self.hub}/hub/login", data=form) as r:
            return r.url

    def open_server(self, timeout=180):
        """Follow /user/NAME/ until the student's own server answers; returns the URL it lands on (default_url)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.http.open(f"{self.server}/") as r:
                if r.url.startswith(f"{self.server}/"):
                    self._mark("server_ready")
                    return r.url
            time.sleep(0.5)
        raise TimeoutError(f"{self.name}: server not ready in {timeout} s")

    def api(self, path, method="GET", body=None):
        headers = {"X-XSRFToken": self.cookie("_xsrf", f"/user/{self.name}/") or ""}
        data = None if body is None else json.dumps(body).encode()
        if data is not None:
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(f"{self.server}/api/{path}", data=data, method=method, headers=headers)
        with self.http.open(req) as r:
            text = r.read()
            return json.loads(text) if text else None

    def git_pull(self, repo, branch, targetpath):
        """nbgitpuller's API (what the link's page calls): returns the events it streamed; the last is finished."""
        query = urllib.parse.urlencode({"repo": repo, "branch": branch, "targetpath": targetpath})
        events = []
        with self.http.open(f"{self.server}/git-pull/api?{query}", timeout=300) as r:
            for raw in r:
                line = raw.decode().strip()
                if line.startswith("data:"):
                    events.append(json.loads(line[5:]))
                    if events[-1].get("phase") in ("finished", "error"):
                        break
        self._mark("pulled")
        return events

    def start_kernel(self, notebook_path):
        session = self.api("sessions", "POST", {"path": notebook_path, "type": "notebook", "name": "",
                                                "kernel": {"name": "python3"}})
        cookies = "; ".join(f"{c.name}={c.value}" for c in self.jar)
        ws_url = self.server.replace("http", "ws", 1) + f"/api/kernels/{session['kernel']['id']}/channels"
        self.ws = websocket.create_connection(ws_url, cookie=cookies, timeout=300)
        self.session_id = uuid.uuid4().hex
        return session

    def execute(self, code, timeout=300):
        """Run one cell; returns its outputs as nbformat-style dicts."""
        msg_id = uuid.uuid4().hex
        self.ws.send(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": self.name,
                       "session": self.session_id, "version": "5.3", "date": ""},
            "parent_header": {}, "metadata": {}, "buffers": [], "channel": "shell",
            "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True}}))
        outputs, replied, idle = [], False, False
        deadline = time.time() + timeout
        while not (replied and idle):
            if time.time() > deadline:
                raise TimeoutError(f"{self.name}: cell did not finish in {timeout} s")
            msg = json.loads(self.ws.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg["header"]["msg_type"]
            if msg["channel"] == "shell" and kind == "execute_reply":
                replied = True
            elif kind == "status":
                idle = msg["content"]["execution_state"] == "idle"
            elif kind in ("stream", "display_data", "execute_result", "error"):
                outputs.append(dict(msg["content"], output_type=kind))
                self.times.setdefault("first_output", time.perf_counter())
        return outputs

    def close(self):
        if getattr(self, "ws", None) is not None:
            self.ws.close()
