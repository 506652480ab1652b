"""``datamill review``'s local web app: a stdlib HTTP server on 127.0.0.1 with a random token.

Safety rules, each enforced here and tested:

* it binds to the loopback address only (there is no option to change that);
* every request must carry the token printed in the URL (``?token=`` or the ``X-Review-Token`` header,
  compared in constant time) and a ``Host`` of 127.0.0.1/localhost (so a rebinding DNS name is
  refused), or it gets 403;
* it serves one page (inline script and style, under a Content-Security-Policy with a per-start nonce)
  and JSON built from the run's finished stages: no path from a request is ever opened, so no file
  outside the work directory can be read through it;
* the page renders every record value as text (``textContent``), never as markup.
"""

from __future__ import annotations

import hmac
import json
import secrets
import threading
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from datamill.review.agreement import agreement
from datamill.review.items import DEFAULT_LIMIT, Items, load_clusters, pick_stage
from datamill.review.store import DecisionStore, Event, State

HOST = "127.0.0.1"
MAX_BODY = 4 << 20


class ReviewApp:
    """The state behind the pages: one stage's records, the dedup clusters, the decisions store."""

    def __init__(self, run_dir: Path, stage: str | None = None, *, label_field: str = "category",
                 limit: int = DEFAULT_LIMIT) -> None:
        self.run_dir = run_dir
        self.stage = pick_stage(run_dir, stage)
        self.items = Items.load(self.stage, label_field, limit)
        self.clusters = load_clusters(run_dir)
        self.store = DecisionStore(run_dir / "review")
        self.label_choices = self._label_choices()

    def _label_choices(self) -> list[str]:
        """Labels a reviewer may pick: an llm_label step's ``labels`` plus every label in the stage."""
        allowed: list[str] = []
        for stats in sorted((self.run_dir / "steps").glob("*/stats.json")):
            data = json.loads(stats.read_text(encoding="utf-8"))
            params = data.get("params") or {}
            if data.get("step") == "llm_label" and params.get("field", "category") == self.items.label_field:
                allowed.extend(str(x) for x in params.get("labels") or [])
        return list(dict.fromkeys([*allowed, *self.items.facets()["labels"]]))

    # -- answers ---------------------------------------------------------------------------
    def status_of(self, state: State) -> dict[str, str]:
        return {item_id: ("edited" if e.decision == "edit" else e.decision + "ed")
                for item_id, e in state.effective("record").items()}

    def progress(self, state: State) -> dict[str, Any]:
        effective = state.effective("record")
        reviewed = sum(1 for item_id in effective if item_id in self.items.position)
        per: dict[str, int] = {}
        for (reviewer, item_id) in state.live("record"):
            if item_id in self.items.position:
                per[reviewer] = per.get(reviewer, 0) + 1
        counts: dict[str, int] = {}
        for item_id, e in effective.items():
            if item_id in self.items.position:
                counts[e.decision] = counts.get(e.decision, 0) + 1
        return {"reviewed": reviewed, "total": len(self.items), "by_reviewer": per, "decisions": counts,
                "clusters_reviewed": len(state.effective("cluster")), "clusters": len(self.clusters)}

    def label_of(self, e: Event) -> str | None:
        if e.decision == "reject":
            return None
        if e.edit and self.items.label_field in e.edit:
            return str(e.edit[self.items.label_field])
        i = self.items.position.get(e.id)
        return None if i is None else self.items.labels[i]

    def meta(self) -> dict[str, Any]:
        state = self.store.snapshot()
        return {"stage": self.stage.name, "stages": [p.name for p in sorted((self.run_dir / "steps").iterdir())
                                                     if p.is_dir()],
                "total": len(self.items), "total_in_stage": self.items.total_in_stage,
                "label_field": self.items.label_field, "label_choices": self.label_choices,
                "facets": self.items.facets(), "progress": self.progress(state),
                "agreement": agreement(state, self.label_of), "run": self.run_dir.name}

    def list_items(self, query: dict[str, str]) -> dict[str, Any]:
        state = self.store.snapshot()
        status = self.status_of(state)
        hits = [i for i in range(len(self.items)) if self.items.matches(i, query, status)]
        return {"ids": [self.items.ids[i] for i in hits], "status": {self.items.ids[i]: status.get(self.items.ids[i],
                "unreviewed") for i in hits}, "labels": {self.items.ids[i]: self.items.labels[i] for i in hits}}

    def item(self, item_id: str) -> dict[str, Any] | None:
        i = self.items.position.get(item_id)
        if i is None:
            return None
        state = self.store.snapshot()
        view = self.items.view(i)
        view["decisions"] = [e.to_json() for (who, iid), e in sorted(state.live("record").items()) if iid == item_id]
        eff = state.effective("record").get(item_id)
        view["effective"] = None if eff is None else eff.to_json()
        return view

    def decide(self, body: dict[str, Any]) -> dict[str, Any]:
        reviewer = str(body.get("reviewer") or "").strip()
        if not reviewer or len(reviewer) > 64:
            raise ValueError("a reviewer name (1-64 characters) is required")
        item = str(body.get("item") or "record")
        item_id = str(body.get("id") or "")
        decision = str(body.get("decision") or "")
        if item == "record":
            i = self.items.position.get(item_id)
            if i is None:
                raise ValueError(f"no record '{item_id}' in {self.stage.name}")
            edit = body.get("edit") if decision == "edit" else None
            original = None
            if edit is not None:
                if not isinstance(edit, dict) or not edit or not all(k in ("answer", self.items.label_field)
                                                                      for k in edit):
                    raise ValueError(f"an edit changes 'answer' and/or '{self.items.label_field}'")
                edit = {k: str(v) for k, v in edit.items()}
                view = self.items.view(i)
                original = {k: (view["answer"] if k == "answer" else view["label"]) for k in edit}
            event = self.store.decide(reviewer, item_id, decision, stage=self.stage.name, edit=edit, original=original)
        elif item == "cluster":
            if item_id not in {c["key"] for c in self.clusters}:
                raise ValueError(f"no cluster '{item_id}'")
            if decision not in ("accept", "reject"):
                raise ValueError("a cluster is accepted (true duplicates) or rejected (not duplicates)")
            event = self.store.decide(reviewer, item_id, decision, item="cluster", stage=item_id.split(":", 1)[0])
        else:
            raise ValueError("item is 'record' or 'cluster'")
        return {"event": event.to_json(), "progress": self.progress(self.store.snapshot())}

    def undo(self, body: dict[str, Any]) -> dict[str, Any]:
        reviewer = str(body.get("reviewer") or "").strip()
        undone = self.store.undo(reviewer) if reviewer else None
        return {"undone": None if undone is None else undone.to_json(),
                "progress": self.progress(self.store.snapshot())}

    def cluster_list(self) -> dict[str, Any]:
        state = self.store.snapshot()
        decided = {k: e.decision for k, e in state.effective("cluster").items()}
        return {"clusters": [{**c, "decision": decided.get(c["key"])} for c in self.clusters]}


def page(nonce: str) -> str:
    text = resources.files("datamill.review").joinpath("app.html").read_text(encoding="utf-8")
    return text.replace("{{NONCE}}", nonce)


class _Handler(BaseHTTPRequestHandler):
    server: ReviewServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Content-Security-Policy", f"default-src 'none'; script-src 'nonce-{self.server.nonce}'; "
                         "style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; "
                         "form-action 'none'; frame-ancestors 'none'")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, data: Any, status: int = 200) -> None:
        self._send(status, json.dumps(data, ensure_ascii=False).encode(), "application/json; charset=utf-8")

    def _allowed(self, query: dict[str, str]) -> bool:
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]").lower()
        if host not in ("127.0.0.1", "localhost"):
            return False
        token = self.headers.get("X-Review-Token") or query.get("token") or ""
        return hmac.compare_digest(token.encode(), self.server.token.encode())

    def _route(self, method: str) -> None:
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query))
        if not self._allowed(query):
            self._send(HTTPStatus.FORBIDDEN, b"forbidden: open the URL datamill review printed (with its token)\n",
                       "text/plain; charset=utf-8")
            return
        app = self.server.app
        try:
            if method == "GET" and url.path == "/":
                self._send(200, page(self.server.nonce).encode(), "text/html; charset=utf-8")
            elif method == "GET" and url.path == "/api/meta":
                self._json(app.meta())
            elif method == "GET" and url.path == "/api/items":
                self._json(app.list_items(query))
            elif method == "GET" and url.path == "/api/item":
                found = app.item(query.get("id", ""))
                self._json(found if found is not None else {"error": "no such record"}, 200 if found else 404)
            elif method == "GET" and url.path == "/api/clusters":
                self._json(app.cluster_list())
            elif method == "POST" and url.path in ("/api/decide", "/api/undo"):
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY:
                    self._json({"error": "request too large"}, 413)
                    return
                body = json.loads(self.rfile.read(length) or b"{}")
                self._json(app.decide(body) if url.path == "/api/decide" else app.undo(body))
            else:
                self._json({"error": "not found"}, 404)
        except (ValueError, TypeError) as exc:
            self._json({"error": str(exc)}, 400)

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")


class ReviewServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, app: ReviewApp, port: int = 0, token: str | None = None) -> None:
        self.app = app
        self.token = token or secrets.token_urlsafe(24)
        self.nonce = secrets.token_urlsafe(16)
        super().__init__((HOST, port), _Handler)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}/?token={self.token}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A browser that closed its connection mid-answer is not an error worth a traceback."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@dataclass
class Running:
    """A server running in a background thread (tests, notebooks)."""

    server: ReviewServer
    thread: threading.Thread

    @property
    def url(self) -> str:
        return self.server.url

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def start_background(app: ReviewApp, port: int = 0) -> Running:
    server = ReviewServer(app, port)
    thread = threading.Thread(target=server.serve_forever, name="datamill-review", daemon=True)
    thread.start()
    return Running(server, thread)
