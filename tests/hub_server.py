"""A small in-memory Hugging Face Hub for tests.

It speaks the subset of the Hub HTTP API that the real ``huggingface_hub`` 2.x client uses, so the
tests run the real client end to end without network access and without patching it:

* repos, branches, trees, ``paths-info``, revisions and ``HEAD``/``GET`` on ``/resolve/`` (with
  ``Range`` → ``206``);
* the two upload paths the client takes after asking ``POST /api/{type}s/{repo}/preupload/{rev}``:

  - ``regular``: small text files travel base64-encoded inside the commit (``file`` lines);
  - ``lfs``: binary files (a NUL byte or invalid UTF-8 in the 512-byte sample), files over
    10 MiB and files matching a ``filter=lfs`` pattern of the repo's ``.gitattributes``. The
    client asks the LFS batch endpoint (``POST /{repo}.git/info/lfs/objects/batch``, ``basic``
    transfer) which objects to send; objects the repo already stores get no ``actions`` (nothing
    to upload); the others get an ``upload`` href (``PUT``, the server checks the sha256) and a
    ``verify`` href. The commit then references them by sha256 (``lfsFile`` lines), and the
    server refuses an ``lfsFile`` whose object was never uploaded, or a binary ``file``.

  The preupload answer carries, for a path the revision already has, its ``oid`` (sha256 for
  LFS files, the git blob id for regular ones): the client drops unchanged files from the commit
  with it. ``shouldIgnore`` is true only for paths matched by the repo's ``.gitignore``, as on
  the Hub. (The real client uploads ``lfs`` files through Xet when ``hf_xet`` is installed;
  :func:`configure_client_env` disables Xet so that the LFS path runs.)

Repositories are git-like: every commit is an immutable snapshot ``{path: FileRef}``; branches
point at commits and any full commit sha is a valid revision. ``server.stats`` is the request log
(every request, LFS batch requests, uploaded LFS objects, regular files committed, …).

Usage::

    with HubServer() as hub:          # listens on 127.0.0.1, free port
        api = HfApi(endpoint=hub.url)
        ...
        hub.stats.lfs_uploads         # sha256 of every object PUT through the LFS path
        hub.stats.files_received      # paths committed as regular (inline) files
"""
from __future__ import annotations

import base64
import codecs
import fnmatch
import hashlib
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, unquote, urlsplit

import yaml
from huggingface_hub.utils.sha import git_hash

REPO_TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}
URL_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}
KNOWN_LICENSES = {"apache-2.0", "cc-by-4.0", "mit", "cc0-1.0", "other"}
GITATTRIBUTES = b"*.parquet filter=lfs diff=lfs merge=lfs -text\n"
#: The Hub refuses regular (in-commit) files above this size.
REGULAR_MAX_BYTES = 10 * 1024 * 1024
LFS_JSON = "application/vnd.git-lfs+json"


def is_binary(sample: bytes) -> bool:
    """True when a file's first bytes hold a NUL byte or are not UTF-8 (a cut-off last character is fine)."""
    if b"\0" in sample:
        return True
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return True
    return False


def lfs_pointer(sha256: str, size: int) -> bytes:
    """The git LFS pointer file that the repo's git tree holds for an LFS file."""
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


def _patterns(content: bytes | None, lfs_only: bool) -> list[str]:
    """Patterns of a ``.gitattributes`` (those with ``filter=lfs``) or ``.gitignore`` file."""
    out = []
    for line in (content or b"").decode(errors="replace").splitlines():
        parts = line.split()
        if not parts or parts[0].startswith("#"):
            continue
        if not lfs_only or "filter=lfs" in parts[1:]:
            out.append(parts[0])
    return out


def _matches(path: str, patterns: list[str]) -> bool:
    name = path.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatchcase(path if "/" in p else name, p.lstrip("/")) for p in patterns)


@dataclass(frozen=True)
class FileRef:
    """A file of a commit: its git blob id (of the content, or of the LFS pointer), size, LFS sha256."""

    blob: str
    size: int
    sha256: str | None = None

    @property
    def is_lfs(self) -> bool:
        return self.sha256 is not None


@dataclass
class Commit:
    """One immutable snapshot of a repository."""

    sha: str
    files: dict[str, FileRef]
    parent: str | None
    message: str


@dataclass
class Repo:
    """A repository: commits, branches, regular blobs (by git blob id) and LFS objects (by sha256)."""

    repo_id: str
    repo_type: str
    private: bool = False
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    blobs: dict[str, bytes] = field(default_factory=dict)
    lfs: dict[str, bytes] = field(default_factory=dict)

    def resolve(self, revision: str) -> Commit | None:
        """Commit for a branch name or a full commit sha, ``None`` when unknown."""
        sha = self.branches.get(revision, revision)
        return self.commits.get(sha)

    def content(self, ref: FileRef) -> bytes:
        """The bytes of a file (the LFS object for LFS files)."""
        return self.lfs[ref.sha256] if ref.is_lfs else self.blobs[ref.blob]

    def text_of(self, commit: Commit | None, path: str) -> bytes | None:
        ref = commit.files.get(path) if commit else None
        return self.content(ref) if ref else None

    def add_regular(self, content: bytes) -> FileRef:
        blob = git_hash(content)
        self.blobs[blob] = content
        return FileRef(blob, len(content))

    def commit(self, branch: str, files: dict[str, FileRef], deleted: list[tuple[str, bool]], message: str) -> Commit:
        """Apply additions and deletions on top of ``branch`` and move the branch to the new commit."""
        parent = self.commits.get(self.branches.get(branch, ""))
        tree = dict(parent.files) if parent else {}
        for path, is_folder in deleted:
            if is_folder:
                prefix = path.rstrip("/") + "/"
                tree = {p: b for p, b in tree.items() if not p.startswith(prefix)}
            else:
                tree.pop(path, None)
        tree.update(files)
        seed = json.dumps([parent.sha if parent else None, sorted((p, r.blob) for p, r in tree.items()), message,
                           time.time_ns()])
        sha = hashlib.sha1(seed.encode()).hexdigest()
        new = Commit(sha=sha, files=tree, parent=parent.sha if parent else None, message=message)
        self.commits[sha] = new
        self.branches[branch] = sha
        return new


@dataclass
class Stats:
    """The request log: what the server saw, for assertions in tests."""

    requests: list[tuple[str, str]] = field(default_factory=list)
    files_received: list[str] = field(default_factory=list)      # paths committed as regular files
    lfs_files_committed: list[str] = field(default_factory=list)  # paths committed as lfsFile lines
    deleted: list[str] = field(default_factory=list)              # deletedFile / deletedFolder paths
    preupload_files: int = 0                                      # files the client asked about
    lfs_batches: int = 0                                          # LFS batch requests
    lfs_batch_objects: int = 0                                    # objects listed in them
    lfs_uploads: list[str] = field(default_factory=list)          # sha256 of objects PUT
    lfs_verifies: int = 0
    bytes_received: int = 0                                       # regular + LFS content bytes
    commits: int = 0
    range_requests: int = 0
    authorizations: list[str] = field(default_factory=list)

    def reset(self) -> None:
        """Forget everything seen so far."""
        self.__init__()

    @property
    def uploads(self) -> int:
        """Files whose content travelled: LFS objects PUT plus regular files committed."""
        return len(self.lfs_uploads) + len(self.files_received)


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
        repo.commit("main", {".gitattributes": repo.add_regular(GITATTRIBUTES)}, [], "initial commit")
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


def _file_entry(path: str, ref: FileRef) -> dict:
    entry = {"type": "file", "oid": ref.blob, "size": ref.size, "path": path}
    if ref.is_lfs:
        entry["lfs"] = {"oid": ref.sha256, "size": ref.size, "pointerSize": len(lfs_pointer(ref.sha256, ref.size))}
    return entry


def _folder_entry(path: str) -> dict:
    return {"type": "directory", "oid": hashlib.sha1(path.encode()).hexdigest(), "size": 0, "path": path}


def _tree_entries(commit: Commit, path: str, recursive: bool) -> list[dict]:
    """Tree listing like ``GET /api/{type}s/{repo}/tree/{rev}/{path}``."""
    path = path.strip("/")
    prefix = path + "/" if path else ""
    if prefix and not any(p.startswith(prefix) for p in commit.files):
        if path in commit.files:
            return [_file_entry(path, commit.files[path])]
        raise _not_found("EntryNotFound", f"Path {path}")
    entries, folders = [], set()
    for p, ref in sorted(commit.files.items()):
        if not p.startswith(prefix):
            continue
        rest = p[len(prefix):].split("/")
        for depth in range(1, len(rest)):
            folder = prefix + "/".join(rest[:depth])
            if folder not in folders and (recursive or depth == 1):
                folders.add(folder)
                entries.append(_folder_entry(folder))
        if recursive or len(rest) == 1:
            entries.append(_file_entry(p, ref))
    return entries


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

    @property
    def host(self) -> str:
        return f"http://{self.headers.get('Host')}"

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts = []
            while (size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)) > 0:
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline().strip():  # trailers
                pass
            return b"".join(parts)
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

    def _json(self, payload, status: int = 200, content_type: str = "application/json"):
        self._send(status, json.dumps(payload).encode(), {"Content-Type": content_type})

    def _error(self, err: HubError, head: bool = False):
        headers = {"Content-Type": "application/json", "X-Error-Message": err.message}
        if err.code:
            headers["X-Error-Code"] = err.code
        self._send(err.status, json.dumps({"error": err.message}).encode(), headers, head=head)

    def _require_write(self):
        if not self.state.authorized(self.headers.get("Authorization")):
            raise HubError(401, "Invalid credentials in Authorization header")

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
    do_PUT = lambda self: self._dispatch("PUT")  # noqa: E731

    # -- routing --------------------------------------------------------------------------------

    def _route(self, method: str, url):
        raw = [unquote(s) for s in url.path.split("/") if s]
        query = parse_qs(url.query)
        if raw[:3] == ["api", "repos", "create"] and method == "POST":
            return self._create_repo()
        if raw[:2] == ["api", "validate-yaml"] and method == "POST":
            return self._validate_yaml()
        if raw and raw[0] == "api" and len(raw) >= 4 and raw[1] in REPO_TYPES:
            return self._api(method, REPO_TYPES[raw[1]], f"{raw[2]}/{raw[3]}", raw[4:], query)
        if raw[:1] == ["lfs-upload"] and len(raw) == 5 and method == "PUT":
            return self._lfs_upload(raw[1], f"{raw[2]}/{raw[3]}", raw[4])
        repo_type = "model"
        if raw and raw[0] in ("datasets", "spaces"):
            repo_type, raw = REPO_TYPES[raw[0]], raw[1:]
        if len(raw) == 6 and raw[1].endswith(".git") and raw[2:5] == ["info", "lfs", "objects"] and method == "POST":
            repo_id = f"{raw[0]}/{raw[1][:-len('.git')]}"
            if raw[5] == "batch":
                return self._lfs_batch(repo_type, repo_id)
            if raw[5] == "verify":
                return self._lfs_verify(repo_type, repo_id)
        if len(raw) >= 5 and raw[2] == "resolve" and method in ("GET", "HEAD"):
            return self._resolve(method, repo_type, f"{raw[0]}/{raw[1]}", raw[3], "/".join(raw[4:]))
        raise HubError(404, f"no route for {method} {url.path}")

    def _api(self, method: str, repo_type: str, repo_id: str, rest: list[str], query: dict):
        repo = self.state.get(repo_type, repo_id, self.headers.get("Authorization"))
        action = rest[0] if rest else ""
        revision = rest[1] if len(rest) > 1 else "main"
        path = "/".join(rest[2:])
        if method == "GET" and action in ("", "revision"):
            return self._info(repo, revision)
        if method == "GET" and action == "refs":
            return self._refs(repo)
        if method == "GET" and action == "tree":
            recursive = query.get("recursive", ["False"])[0].lower() in ("1", "true")
            return self._json(_tree_entries(self._commit(repo, revision), path, recursive))
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

    # -- repos, refs, trees ---------------------------------------------------------------------

    def _create_repo(self):
        payload = json.loads(self._body())
        self._require_write()
        repo_type = payload.get("type") or "model"
        repo_id = f"{payload['organization']}/{payload['name']}"
        url = f"{self.host}/{URL_PREFIX[repo_type]}{repo_id}"
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
        siblings = []
        for p, ref in sorted(commit.files.items()):
            sibling = {"rfilename": p, "size": ref.size, "blobId": ref.blob}
            if ref.is_lfs:
                sibling["lfs"] = {"sha256": ref.sha256, "size": ref.size,
                                  "pointerSize": len(lfs_pointer(ref.sha256, ref.size))}
            siblings.append(sibling)
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
                out.append(_file_entry(path, commit.files[path]))
            elif any(p.startswith(path + "/") for p in commit.files):
                out.append(_folder_entry(path))
        self._json(out)

    def _create_branch(self, repo: Repo, branch: str):
        body = self._body()
        self._require_write()
        start = (json.loads(body) if body else {}).get("startingPoint") or "main"
        if branch in repo.branches:
            raise HubError(409, f"Branch {branch} already exists")
        repo.branches[branch] = self._commit(repo, start).sha
        self._json({})

    # -- uploads --------------------------------------------------------------------------------

    def _preupload(self, repo: Repo, revision: str):
        commit = self._commit(repo, revision)
        payload = json.loads(self._body())
        lfs_patterns = _patterns(repo.text_of(commit, ".gitattributes"), lfs_only=True)
        ignore = payload.get("gitIgnore")
        ignored = _patterns(ignore.encode() if ignore is not None else repo.text_of(commit, ".gitignore"),
                            lfs_only=False)
        answer = []
        for f in payload["files"]:
            path, size = f["path"], int(f["size"])
            lfs = size > REGULAR_MAX_BYTES or is_binary(base64.b64decode(f["sample"])) or _matches(path, lfs_patterns)
            entry = {"path": path, "uploadMode": "lfs" if lfs else "regular",
                     "shouldIgnore": _matches(path, ignored)}
            if path in commit.files:  # what the client compares with its local oid to skip unchanged files
                ref = commit.files[path]
                entry["oid"] = ref.sha256 if ref.is_lfs else ref.blob
            answer.append(entry)
        self.state.stats.preupload_files += len(answer)
        self._json({"files": answer, "commitOid": commit.sha})

    def _lfs_batch(self, repo_type: str, repo_id: str):
        repo = self.state.get(repo_type, repo_id, self.headers.get("Authorization"))
        payload = json.loads(self._body())
        self._require_write()
        if payload.get("operation") != "upload" or "basic" not in payload.get("transfers", ["basic"]):
            raise HubError(400, "only the basic upload transfer is supported")
        prefix = f"{self.host}/{URL_PREFIX[repo_type]}{repo_id}.git/info/lfs/objects"
        objects = []
        for obj in payload["objects"]:
            oid, size = obj["oid"], int(obj["size"])
            answer = {"oid": oid, "size": size}
            if repo.lfs.get(oid) is None or len(repo.lfs[oid]) != size:  # not stored yet: tell where to PUT
                answer["authenticated"] = True
                answer["actions"] = {
                    "upload": {"href": f"{self.host}/lfs-upload/{repo_type}/{quote(repo_id)}/{oid}"},
                    "verify": {"href": f"{prefix}/verify", "header": {}},
                }
            objects.append(answer)
        stats = self.state.stats
        stats.lfs_batches += 1
        stats.lfs_batch_objects += len(objects)
        self._json({"transfer": "basic", "objects": objects, "hash_algo": "sha256"}, content_type=LFS_JSON)

    def _lfs_upload(self, repo_type: str, repo_id: str, oid: str):
        repo = self.state.repos.get((repo_type, repo_id))
        if repo is None:
            raise _not_found("RepoNotFound", f"Repository {repo_id}")
        content = self._body()
        if hashlib.sha256(content).hexdigest() != oid:
            raise HubError(400, f"uploaded content does not match sha256 {oid}")
        repo.lfs[oid] = content
        self.state.stats.lfs_uploads.append(oid)
        self.state.stats.bytes_received += len(content)
        self._send(200)

    def _lfs_verify(self, repo_type: str, repo_id: str):
        repo = self.state.get(repo_type, repo_id, self.headers.get("Authorization"))
        obj = json.loads(self._body())
        self.state.stats.lfs_verifies += 1
        stored = repo.lfs.get(obj["oid"])
        if stored is None or len(stored) != int(obj["size"]):
            raise HubError(404, f"LFS object {obj['oid']} was not uploaded")
        self._json({"success": True})

    def _commit_post(self, repo: Repo, revision: str):
        self._require_write()
        if revision not in repo.branches:
            raise _not_found("RevisionNotFound", f"Branch {revision}")
        lines = [json.loads(line) for line in self._body().splitlines() if line.strip()]
        header = next((ln["value"] for ln in lines if ln["key"] == "header"), {})
        parent = header.get("parentCommit")
        if parent and not repo.branches[revision].startswith(parent):
            raise HubError(412, "A commit has happened since. Please refresh and try again.")
        files, deleted, regular, lfs = {}, [], [], []
        for line in lines:
            key, value = line["key"], line["value"]
            if key == "file":
                content = base64.b64decode(value["content"])
                if is_binary(content[:512]) or len(content) > REGULAR_MAX_BYTES:
                    raise HubError(400, f"{value['path']}: binary or large files must be uploaded with LFS")
                files[value["path"]] = repo.add_regular(content)
                regular.append((value["path"], len(content)))
            elif key == "lfsFile":
                oid, size = value["oid"], int(value["size"])
                if value.get("algo", "sha256") != "sha256" or len(repo.lfs.get(oid, b"")) != size or oid not in repo.lfs:
                    raise HubError(422, f"{value['path']}: LFS object {oid} was not uploaded")
                files[value["path"]] = FileRef(git_hash(lfs_pointer(oid, size)), size, oid)
                lfs.append(value["path"])
            elif key in ("deletedFile", "deletedFolder"):
                deleted.append((value["path"], key == "deletedFolder"))
            elif key != "header":
                raise HubError(400, f"unsupported commit operation {key!r}")
        commit = repo.commit(revision, files, deleted, header.get("summary", ""))
        stats = self.state.stats
        stats.files_received.extend(p for p, _ in regular)
        stats.bytes_received += sum(n for _, n in regular)
        stats.lfs_files_committed.extend(lfs)
        stats.deleted.extend(p for p, _ in deleted)
        stats.commits += 1
        self._json({"success": True, "commitOid": commit.sha, "pullRequestUrl": None,
                    "commitUrl": f"{self.host}/{URL_PREFIX[repo.repo_type]}{repo.repo_id}/commit/{commit.sha}"})

    # -- downloads ------------------------------------------------------------------------------

    def _resolve(self, method: str, repo_type: str, repo_id: str, revision: str, path: str):
        head = method == "HEAD"
        repo = self.state.get(repo_type, repo_id, self.headers.get("Authorization"))
        commit = self._commit(repo, revision)
        if path not in commit.files:
            raise _not_found("EntryNotFound", f"Entry {path}")
        ref = commit.files[path]
        content = repo.content(ref)
        etag = f'"{ref.sha256 or ref.blob}"'
        headers = {"X-Repo-Commit": commit.sha, "ETag": etag, "Accept-Ranges": "bytes",
                   "Content-Type": "application/octet-stream"}
        if ref.is_lfs:  # the client keys its cache by these (the object's sha256 and size)
            headers.update({"X-Linked-Etag": etag, "X-Linked-Size": str(ref.size)})
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
        When set, commits, LFS uploads and repo creation need ``Authorization: Bearer <token>``,
        and private repos are only visible with it.
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
        """The request log."""
        return self.state.stats

    def repo(self, repo_id: str, repo_type: str = "dataset") -> Repo:
        """A repository of this server (for assertions on its commits and LFS objects)."""
        return self.state.repos[(repo_type, repo_id)]

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
    """Point ``huggingface_hub`` at ``server`` (``HF_ENDPOINT``) and a temp cache (``HF_HOME``), and
    turn Xet off (``HF_HUB_DISABLE_XET``, also in the constant read at import) so that binary files
    take the LFS path this server implements."""
    from huggingface_hub import constants

    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.setenv("HF_HOME", str(hf_home))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_PROGRESS_BARS", True)
    for name in ("HF_HUB_CACHE", "HF_HUB_OFFLINE", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        monkeypatch.delenv(name, raising=False)


if __name__ == "__main__":  # manual use: HF_HUB_DISABLE_XET=1 HF_ENDPOINT=http://127.0.0.1:8765 ...
    server = HubServer().start(8765)
    print(f"test Hub on {server.url}; Ctrl-C to stop (clients need HF_HUB_DISABLE_XET=1)")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()
