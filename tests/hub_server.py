"""A small in-memory Hugging Face Hub for tests.

It speaks the subset of the Hub HTTP API that the real ``huggingface_hub`` 2.x client uses to
create a repo, commit files (regular, base64-encoded uploads), list trees, resolve revisions and
download files (``HEAD``/``GET`` on ``/resolve/``, with ``Range`` → ``206``), so the tests run the
real client end to end without network access and without patching it.

Repositories are git-like: every commit is an immutable snapshot ``{path: blob sha1}``, blobs are
keyed by their git blob id (``sha1(b"blob <len>\\0" + content)``, which is also the ``ETag``),
branches point at commits and any full commit sha is a valid revision.

Usage::

    with HubServer() as hub:          # listens on 127.0.0.1, free port
        api = HfApi(endpoint=hub.url)
        ...
        hub.stats.files_received      # paths whose content was uploaded, in order
"""
from __future__ import annotations

import base64
import hashlib
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

REPO_TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}
URL_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}
KNOWN_LICENSES = {"apache-2.0", "cc-by-4.0", "mit", "cc0-1.0", "other"}
GITATTRIBUTES = b"*.parquet filter=lfs diff=lfs merge=lfs -text\n"


def git_blob_sha1(content: bytes) -> str:
    """Git blob id of ``content`` (what the Hub returns as ``oid`` and ``ETag`` for regular files)."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


@dataclass
class Commit:
    """One immutable snapshot of a repository."""

    sha: str
    files: dict[str, str]  # path -> blob sha
    parent: str | None
    message: str


@dataclass
class Repo:
    """A repository: commits, branches and the blobs they reference."""

    repo_id: str
    repo_type: str
    private: bool = False
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    blobs: dict[str, bytes] = field(default_factory=dict)

    def resolve(self, revision: str) -> Commit | None:
        """Commit for a branch name or a full commit sha, ``None`` when unknown."""
        sha = self.branches.get(revision, revision)
        return self.commits.get(sha)

    def commit(self, branch: str, files: dict[str, bytes], deleted: list[tuple[str, bool]], message: str) -> Commit:
        """Apply additions and deletions on top of ``branch`` and move the branch to the new commit."""
        parent = self.commits.get(self.branches.get(branch, ""))
        tree = dict(parent.files) if parent else {}
        for path, is_folder in deleted:
            if is_folder:
                prefix = path.rstrip("/") + "/"
                tree = {p: b for p, b in tree.items() if not p.startswith(prefix)}
            else:
                tree.pop(path, None)
        for path, content in files.items():
            blob = git_blob_sha1(content)
            self.blobs[blob] = content
            tree[path] = blob
        seed = json.dumps([parent.sha if parent else None, sorted(tree.items()), message, time.time_ns()])
        sha = hashlib.sha1(seed.encode()).hexdigest()
        new = Commit(sha=sha, files=tree, parent=parent.sha if parent else None, message=message)
        self.commits[sha] = new
        self.branches[branch] = sha
        return new


@dataclass
class Stats:
    """What the server saw: for assertions in tests."""

    files_received: list[str] = field(default_factory=list)
    bytes_received: int = 0
    commits: int = 0
    requests: list[tuple[str, str]] = field(default_factory=list)
    range_requests: int = 0
    authorizations: list[str] = field(default_factory=list)

    def reset(self) -> None:
        """Forget everything seen so far."""
        self.__init__()


class HubError(Exception):
    """An HTTP error answered with the Hub's ``X-Error-Code`` convention."""

    def __init__(self, status: int, message: str, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


def _not_found(kind: str, what: str) -> HubError:
    return HubError(404, f"{what} not found", kind)


def validate_card(content: str) -> list[str]:
    """Errors in a dataset card's YAML front matter (empty list when valid)."""
    if not content.startswith("---\n"):
        return ["card has no YAML front matter"]
    end = content.find("\n---", 4)
    if end < 0:
        return ["YAML front matter is not closed"]
    try:
        meta = yaml.safe_load(content[4:end])
    except yaml.YAMLError as err:
        return [f"invalid YAML: {err}"]
    if not isinstance(meta, dict):
        return ["YAML front matter must be a mapping"]
    errors = []
    if meta.get("license") not in KNOWN_LICENSES:
        errors.append(f"unknown license {meta.get('license')!r}")
    if not isinstance(meta.get("tags", []), list):
        errors.append("tags must be a list")
    for config in meta.get("configs", []):
        if not isinstance(config, dict) or "config_name" not in config or "data_files" not in config:
            errors.append("each config needs config_name and data_files")
    return errors


class HubState:
    """All repositories, guarded by one lock."""

    def __init__(self, token: str | None = None):
        self.repos: dict[tuple[str, str], Repo] = {}
        self.lock = threading.Lock()
        self.stats = Stats()
        self.token = token

    def create(self, repo_type: str, repo_id: str, private: bool) -> Repo:
        """Create a repository with an initial commit holding ``.gitattributes``."""
        key = (repo_type, repo_id)
        if key in self.repos:
            raise HubError(409, "You already created this repo")
        repo = Repo(repo_id=repo_id, repo_type=repo_type, private=private)
        repo.commit("main", {".gitattributes": GITATTRIBUTES}, [], "initial commit")
        self.repos[key] = repo
        return repo

    def get(self, repo_type: str, repo_id: str, authorization: str | None) -> Repo:
        """The repository, or a ``RepoNotFound`` error (also for private repos without the token)."""
        repo = self.repos.get((repo_type, repo_id))
        if repo is None:
            raise _not_found("RepoNotFound", f"Repository {repo_id}")
        if repo.private and not self.authorized(authorization):
            raise _not_found("RepoNotFound", f"Repository {repo_id}")
        return repo

    def authorized(self, authorization: str | None) -> bool:
        """True when the server has no token or the request carries it."""
        return self.token is None or authorization == f"Bearer {self.token}"


def _tree_entries(commit: Commit, repo: Repo, path: str, recursive: bool) -> list[dict]:
    """Tree listing like ``GET /api/{type}s/{repo}/tree/{rev}/{path}``."""
    prefix = path.strip("/") + "/" if path.strip("/") else ""
    if prefix and not any(p.startswith(prefix) for p in commit.files):
        if path.strip("/") in commit.files:
            return [_file_entry(repo, path.strip("/"), commit.files[path.strip("/")])]
        raise _not_found("EntryNotFound", f"Path {path}")
    entries, folders = [], set()
    for p, blob in sorted(commit.files.items()):
        if not p.startswith(prefix):
            continue
        rest = p[len(prefix):].split("/")
        for depth in range(1, len(rest)):
            folder = prefix + "/".join(rest[:depth])
            if folder not in folders and (recursive or depth == 1):
                folders.add(folder)
                entries.append(_folder_entry(folder))
        if recursive or len(rest) == 1:
            entries.append(_file_entry(repo, p, blob))
    return entries


def _file_entry(repo: Repo, path: str, blob: str) -> dict:
    return {"type": "file", "oid": blob, "size": len(repo.blobs[blob]), "path": path}


def _folder_entry(path: str) -> dict:
    return {"type": "directory", "oid": hashlib.sha1(path.encode()).hexdigest(), "size": 0, "path": path}


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """Inclusive byte range of a single-range ``Range`` header, ``None`` if unsatisfiable."""
    spec = header.split("=", 1)[1].split(",")[0].strip()
    first, _, last = spec.partition("-")
    if not first:
        start, end = max(size - int(last), 0), size - 1
    else:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    return (start, end) if start <= end and start < size else None


class Handler(BaseHTTPRequestHandler):
    """Routes requests to the Hub endpoints; ``self.server.state`` holds the repositories."""

    protocol_version = "HTTP/1.0"  # one request per connection: stopping the server really stops it

    def setup(self):
        super().setup()  # no Nagle delay between the header and body writes of small responses
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format, *args):  # noqa: A002 - silence stderr logging
        pass

    # -- plumbing -------------------------------------------------------------------------------

    @property
    def state(self) -> HubState:
        return self.server.state  # type: ignore[attr-defined]

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes = b"", headers: dict | None = None, head: bool = False):
        headers = dict(headers or {})
        length = headers.pop("Content-Length", len(body))
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _json(self, payload, status: int = 200):
        self._send(status, json.dumps(payload).encode(), {"Content-Type": "application/json"})

    def _error(self, err: HubError, head: bool = False):
        headers = {"Content-Type": "application/json", "X-Error-Message": err.message}
        if err.code:
            headers["X-Error-Code"] = err.code
        self._send(err.status, json.dumps({"error": err.message}).encode(), headers, head=head)

    def _dispatch(self, method: str):
        self.state.stats.requests.append((method, self.path))
        if auth := self.headers.get("Authorization"):
            self.state.stats.authorizations.append(auth)
        try:
            with self.state.lock:
                self._route(method, urlsplit(self.path))
        except HubError as err:
            self._error(err, head=method == "HEAD")

    do_GET = lambda self: self._dispatch("GET")  # noqa: E731
    do_HEAD = lambda self: self._dispatch("HEAD")  # noqa: E731
    do_POST = lambda self: self._dispatch("POST")  # noqa: E731

    # -- routing --------------------------------------------------------------------------------

    def _route(self, method: str, url):
        raw = [s for s in url.path.split("/") if s]
        query = parse_qs(url.query)
        if raw[:3] == ["api", "repos", "create"] and method == "POST":
            return self._create_repo()
        if raw[:2] == ["api", "validate-yaml"] and method == "POST":
            return self._validate_yaml()
        if raw and raw[0] == "api" and len(raw) >= 4 and raw[1] in REPO_TYPES:
            return self._api(method, REPO_TYPES[raw[1]], f"{unquote(raw[2])}/{unquote(raw[3])}", raw[4:], query)
        repo_type = "model"
        if raw and raw[0] in ("datasets", "spaces"):
            repo_type, raw = REPO_TYPES[raw[0]], raw[1:]
        if len(raw) >= 5 and raw[2] == "resolve" and method in ("GET", "HEAD"):
            path = unquote("/".join(raw[4:]))
            return self._resolve(method, repo_type, f"{raw[0]}/{raw[1]}", unquote(raw[3]), path)
        raise HubError(404, f"no route for {method} {url.path}")

    def _api(self, method: str, repo_type: str, repo_id: str, rest: list[str], query: dict):
        repo = self.state.get(repo_type, repo_id, self.headers.get("Authorization"))
        action = rest[0] if rest else ""
        revision = unquote(rest[1]) if len(rest) > 1 else "main"
        path = unquote("/".join(rest[2:]))
        if method == "GET" and action in ("", "revision"):
            return self._info(repo, revision)
        if method == "GET" and action == "refs":
            return self._refs(repo)
        if method == "GET" and action == "tree":
            recursive = query.get("recursive", ["False"])[0].lower() in ("1", "true")
            return self._json(_tree_entries(self._commit(repo, revision), repo, path, recursive))
        if method == "POST" and action == "paths-info":
            return self._paths_info(repo, revision)
        if method == "POST" and action == "preupload":
            return self._preupload(repo, revision)
        if method == "POST" and action == "commit":
            return self._commit_post(repo, revision)
        if method == "POST" and action == "branch":
            return self._create_branch(repo, revision)
        raise HubError(404, f"no route for {method} {action}")

    def _commit(self, repo: Repo, revision: str) -> Commit:
        commit = repo.resolve(revision)
        if commit is None:
            raise _not_found("RevisionNotFound", f"Revision {revision}")
        return commit

    # -- endpoints ------------------------------------------------------------------------------

    def _create_repo(self):
        payload = json.loads(self._body())
        if not self.state.authorized(self.headers.get("Authorization")):
            raise HubError(401, "Invalid credentials in Authorization header")
        repo_type = payload.get("type") or "model"
        repo_id = f"{payload['organization']}/{payload['name']}"
        url = f"http://{self.headers.get('Host')}/{URL_PREFIX[repo_type]}{repo_id}"
        if (repo_type, repo_id) in self.state.repos:  # the Hub answers 409 with the url
            return self._json({"error": "You already created this repo", "url": url}, status=409)
        self.state.create(repo_type, repo_id, payload.get("visibility") == "private")
        self._json({"url": url, "name": repo_id})

    def _validate_yaml(self):
        payload = json.loads(self._body())
        errors = validate_card(payload.get("content", ""))
        if errors:
            raise HubError(400, "; ".join(errors))
        self._json({"errors": [], "warnings": []})

    def _info(self, repo: Repo, revision: str):
        commit = self._commit(repo, revision)
        siblings = [{"rfilename": p, "size": len(repo.blobs[b]), "blobId": b} for p, b in sorted(commit.files.items())]
        self._json({"id": repo.repo_id, "sha": commit.sha, "private": repo.private, "siblings": siblings,
                    "tags": [], "downloads": 0, "likes": 0})

    def _refs(self, repo: Repo):
        branches = [{"name": n, "ref": f"refs/heads/{n}", "targetCommit": s} for n, s in repo.branches.items()]
        self._json({"branches": branches, "tags": [], "converts": []})

    def _paths_info(self, repo: Repo, revision: str):
        commit = self._commit(repo, revision)
        form = parse_qs(self._body().decode())
        out = []
        for path in form.get("paths", []):
            path = path.strip("/")
            if path in commit.files:
                out.append(_file_entry(repo, path, commit.files[path]))
            elif any(p.startswith(path + "/") for p in commit.files):
                out.append(_folder_entry(path))
        self._json(out)

    def _preupload(self, repo: Repo, revision: str):
        commit = self._commit(repo, revision)
        files = json.loads(self._body())["files"]
        answer = []
        for f in files:
            entry = {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
            if f["path"] in commit.files:
                entry["oid"] = commit.files[f["path"]]
            answer.append(entry)
        self._json({"files": answer, "commitOid": commit.sha})

    def _commit_post(self, repo: Repo, revision: str):
        if not self.state.authorized(self.headers.get("Authorization")):
            raise HubError(401, "Invalid credentials in Authorization header")
        if revision not in repo.branches:
            raise _not_found("RevisionNotFound", f"Branch {revision}")
        lines = [json.loads(line) for line in self._body().splitlines() if line.strip()]
        header = next((ln["value"] for ln in lines if ln["key"] == "header"), {})
        parent = header.get("parentCommit")
        if parent and not repo.branches[revision].startswith(parent):
            raise HubError(412, "A commit has happened since. Please refresh and try again.")
        files, deleted = {}, []
        for line in lines:
            key, value = line["key"], line["value"]
            if key == "file":
                files[value["path"]] = base64.b64decode(value["content"])
            elif key in ("deletedFile", "deletedFolder"):
                deleted.append((value["path"], key == "deletedFolder"))
            elif key != "header":
                raise HubError(400, f"unsupported commit operation {key!r}")
        commit = repo.commit(revision, files, deleted, header.get("summary", ""))
        stats = self.state.stats
        stats.files_received.extend(files)
        stats.bytes_received += sum(len(c) for c in files.values())
        stats.commits += 1
        host = f"http://{self.headers.get('Host')}"
        self._json({"success": True, "commitOid": commit.sha, "pullRequestUrl": None,
                    "commitUrl": f"{host}/{URL_PREFIX[repo.repo_type]}{repo.repo_id}/commit/{commit.sha}"})

    def _create_branch(self, repo: Repo, branch: str):
        body = self._body()
        start = (json.loads(body) if body else {}).get("startingPoint") or "main"
        if branch in repo.branches:
            raise HubError(409, f"Branch {branch} already exists")
        repo.branches[branch] = self._commit(repo, start).sha
        self._json({})

    def _resolve(self, method: str, repo_type: str, repo_id: str, revision: str, path: str):
        head = method == "HEAD"
        repo = self.state.get(repo_type, repo_id, self.headers.get("Authorization"))
        commit = self._commit(repo, revision)
        if path not in commit.files:
            raise _not_found("EntryNotFound", f"Entry {path}")
        blob = commit.files[path]
        content = repo.blobs[blob]
        headers = {"X-Repo-Commit": commit.sha, "ETag": f'"{blob}"', "Accept-Ranges": "bytes",
                   "Content-Type": "application/octet-stream"}
        range_header = self.headers.get("Range")
        if range_header and range_header.startswith("bytes="):
            self.state.stats.range_requests += 1
            span = _parse_range(range_header, len(content))
            if span is None:
                headers["Content-Range"] = f"bytes */{len(content)}"
                return self._send(416, b"", headers, head=head)
            start, end = span
            headers["Content-Range"] = f"bytes {start}-{end}/{len(content)}"
            return self._send(206, content[start:end + 1], headers, head=head)
        headers["Content-Length"] = len(content)
        self._send(200, content, headers, head=head)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the client downloads with 8 threads, one connection per request


class HubServer:
    """A running test Hub on 127.0.0.1 (free port); a context manager.

    Parameters
    ----------
    token : str, optional
        When set, commits and repo creation need ``Authorization: Bearer <token>``, and private repos
        are only visible with it.
    """

    def __init__(self, token: str | None = None):
        self.state = HubState(token=token)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port: int | None = None

    @property
    def url(self) -> str:
        """Endpoint to give the client (``HF_ENDPOINT``)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def stats(self) -> Stats:
        """Counters of what the server received."""
        return self.state.stats

    def start(self, port: int = 0) -> "HubServer":
        """Listen (on ``port``, 0 = any free port) and serve in a daemon thread."""
        self._httpd = _Server(("127.0.0.1", port or self.port or 0), Handler)
        self._httpd.state = self.state  # type: ignore[attr-defined]
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket (later requests fail to connect)."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> "HubServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def configure_client_env(monkeypatch, server: HubServer, hf_home) -> None:
    """Point ``huggingface_hub`` at ``server`` (``HF_ENDPOINT``) and a temp cache (``HF_HOME``)."""
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.setenv("HF_HOME", str(hf_home))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    for name in ("HF_HUB_CACHE", "HF_HUB_OFFLINE", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        monkeypatch.delenv(name, raising=False)


if __name__ == "__main__":  # manual use: python tests/hub_server.py
    server = HubServer().start(8765)
    print(f"test Hub on {server.url}; Ctrl-C to stop")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()
