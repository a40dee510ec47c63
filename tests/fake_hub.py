"""A Hub-like HTTP server on loopback for tests of ``diffusion_core.hub_models`` (never the network).

It answers only what ``huggingface_hub`` asks when the app loads a model (checked with huggingface_hub 2.4):

* ``GET /api/models/{owner}/{name}[/revision/{rev}]?blobs=True``: ``HfApi.model_info(files_metadata=True)``,
  the file list with sizes;
* ``HEAD`` and ``GET /{owner}/{name}/resolve/{rev}/{path}``: ``hf_hub_download``'s metadata call, then the file.

A repository is a folder on disk; its listed sizes can be faked (``listed_sizes``) without writing a big file.
Every request is recorded in ``requests`` as ``(method, path)`` so a test can assert what was never fetched;
``file_delay`` slows every file body down and ``most_files_at_once`` counts overlapping file downloads.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit


@dataclass
class FakeRepo:
    """One repository: the files under ``folder``, with ``listed_sizes`` overriding the sizes the API lists."""

    folder: Path
    listed_sizes: dict[str, int] = field(default_factory=dict)

    def sha(self, repo_id: str) -> str:
        """The commit hash: unique per repository, as on the Hub (the cache tells revisions apart by it)."""
        return hashlib.sha1(f"{repo_id}:{self.folder}".encode()).hexdigest()

    def files(self) -> dict[str, Path]:
        return {
            path.relative_to(self.folder).as_posix(): path for path in sorted(self.folder.rglob("*")) if path.is_file()
        }


class FakeHub:
    """``with FakeHub() as hub: hub.repos["me/tiny"] = FakeRepo(folder); load(..., endpoint=hub.url)``."""

    def __init__(self, file_delay: float = 0.0) -> None:
        self.repos: dict[str, FakeRepo] = {}
        self.requests: list[tuple[str, str]] = []
        self.file_delay, self.most_files_at_once, self._files_now = file_delay, 0, 0
        self._count = threading.Lock()
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: object) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                hub._answer(self, body=True)

            def do_HEAD(self) -> None:
                hub._answer(self, body=False)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeHub:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fetched(self, suffix: str) -> list[tuple[str, str]]:
        """The recorded requests for files whose path ends with ``suffix``."""
        return [(method, path) for method, path in self.requests if "/resolve/" in path and path.endswith(suffix)]

    # ------------------------------------------------------------------------------------------

    def _answer(self, handler: BaseHTTPRequestHandler, body: bool) -> None:
        path = unquote(urlsplit(handler.path).path)
        self.requests.append((handler.command, path))
        parts = path.strip("/").split("/")
        if parts[:2] == ["api", "models"] and len(parts) >= 4:
            repo = self.repos.get(f"{parts[2]}/{parts[3]}")
            if repo is None:
                return self._send(handler, 404, b'{"error": "Repository not found"}', {"X-Error-Code": "RepoNotFound"})
            return self._send(handler, 200, json.dumps(self._model_info(f"{parts[2]}/{parts[3]}", repo)).encode(), {})
        if len(parts) >= 5 and parts[2] == "resolve":
            repo_id = f"{parts[0]}/{parts[1]}"
            repo = self.repos.get(repo_id)
            if repo is None:
                return self._send(handler, 404, b"", {"X-Error-Code": "RepoNotFound"})
            file = repo.files().get("/".join(parts[4:]))
            if file is None:
                return self._send(
                    handler, 404, b"", {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": repo.sha(repo_id)}
                )
            data = file.read_bytes()
            headers = {"X-Repo-Commit": repo.sha(repo_id), "ETag": f'"{hashlib.sha256(data).hexdigest()}"'}
            if body:
                return self._send_slowly(handler, data, headers)
            return self._send(handler, 200, b"", headers, length=len(data))
        return self._send(handler, 404, b"", {})

    def _send_slowly(self, handler: BaseHTTPRequestHandler, data: bytes, headers: dict) -> None:
        with self._count:
            self._files_now += 1
            self.most_files_at_once = max(self.most_files_at_once, self._files_now)
        try:
            time.sleep(self.file_delay)
            self._send(handler, 200, data, headers)
        finally:
            with self._count:
                self._files_now -= 1

    @staticmethod
    def _model_info(repo_id: str, repo: FakeRepo) -> dict:
        siblings = [
            {"rfilename": name, "size": repo.listed_sizes.get(name, path.stat().st_size), "blobId": "0" * 40}
            for name, path in repo.files().items()
        ]
        return {
            "id": repo_id,
            "modelId": repo_id,
            "sha": repo.sha(repo_id),
            "private": False,
            "siblings": siblings,
            "tags": [],
        }

    @staticmethod
    def _send(
        handler: BaseHTTPRequestHandler, status: int, data: bytes, headers: dict, length: int | None = None
    ) -> None:
        handler.send_response(status)
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(data) if length is None else length))
        handler.end_headers()
        if data:
            handler.wfile.write(data)
