"""A stand-in for OneSignal's REST API on 127.0.0.1, so tests drive the real SDK over real HTTP.

Every request is recorded (method, path, query, headers, JSON body). `POST /notifications` answers
from a script of replies, then with a fresh notification id. Like OneSignal, a create request that
repeats the idempotency key of an earlier *answered* one (200) gets the earlier answer back with
`Idempotent-Replayed: true` and sends nothing, so tests can count real sends. `GET
/notifications/{id}` answers from a script of view replies if any (`reply_views`), else with the
delivery figure set in `delivered`.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Reply:
    status: int = 200
    body: dict | None = None  # None on a 200 create: a new notification id
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (client timeouts)


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    json: dict | None
    replayed: bool = False
    created: bool = False  # answered 200 with a new notification id


class FakeOneSignal:
    def __init__(self):
        self.requests: list[Recorded] = []
        self.delivered: dict[str, dict] = {}
        self._script: deque[Reply] = deque()
        self._view_script: deque[Reply] = deque()
        self._answered: dict[str, tuple[int, dict]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        # A short poll interval keeps shutdown() (once per test) from waiting the default 0.5 s.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeOneSignal:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reply(self, *replies: Reply) -> None:
        """Queue answers for the next create requests that are not replays."""
        with self._lock:
            self._script.extend(replies)

    def reply_views(self, *replies: Reply) -> None:
        """Queue answers for the next view (delivery figure) requests; a plain `Reply()` answers as usual."""
        with self._lock:
            self._view_script.extend(replies)

    @property
    def views(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "GET" and r.path.startswith("/notifications/")]

    @property
    def creates(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST" and r.path == "/notifications"]

    @property
    def sends(self) -> list[Recorded]:
        """Create requests OneSignal would have acted on: answered 200 with an id, not replays."""
        return [r for r in self.creates if r.created]

    def _answer_create(self, record: Recorded) -> tuple[Reply, dict]:
        key = (record.json or {}).get("idempotency_key")
        with self._lock:
            if key and key in self._answered:
                record.replayed = True
                status, body = self._answered[key]
                return Reply(status=status, headers={"Idempotent-Replayed": "true"}), body
            reply = self._script.popleft() if self._script else Reply()
            body = reply.body if reply.body is not None else {"id": str(uuid.uuid4()), "external_id": None}
            if reply.status == 200:
                record.created = bool(body.get("id"))
                if key:
                    self._answered[key] = (reply.status, body)
            return reply, body

    def _answer_view(self, notification_id: str) -> tuple[Reply, dict]:
        with self._lock:
            scripted = self._view_script.popleft() if self._view_script else None
        if scripted is not None and not (scripted.status == 200 and scripted.body is None):
            return scripted, scripted.body or {}
        if notification_id not in self.delivered:
            return Reply(status=404), {"errors": ["Could not find notification with id"]}
        return Reply(), {"id": notification_id, **self.delivered[notification_id]}

    def _handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format, *args):
                pass

            def _handle(self):
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                record = Recorded(method=self.command, path=parts.path, query=parse_qs(parts.query),
                                  headers=dict(self.headers.items()), json=json.loads(raw) if raw else None)
                with fake._lock:
                    fake.requests.append(record)
                if self.command == "POST" and parts.path == "/notifications":
                    reply, body = fake._answer_create(record)
                elif self.command == "GET" and parts.path.startswith("/notifications/"):
                    reply, body = fake._answer_view(parts.path.rsplit("/", 1)[1])
                else:
                    reply, body = Reply(status=404), {"errors": ["Not found"]}
                if reply.delay:
                    time.sleep(reply.delay)
                payload = json.dumps(body).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a timeout test)

            do_GET = _handle
            do_POST = _handle

        return Handler
