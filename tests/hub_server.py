"""A small Hugging Face Hub-compatible HTTP server for tests (standard library only).

It speaks enough of the Hub's HTTP API for the real ``huggingface_hub`` (2.x) and ``transformers`` (5.x) clients to
create repos, push commits (regular files inline, large or binary files through the Git LFS "basic" transfer), and
download them again (``hf_hub_download``, ``snapshot_download``, ``from_pretrained``). Everything lives in memory and
the server only ever binds to 127.0.0.1.

Usage::

    server = HubServer().start()
    env = {"HF_ENDPOINT": server.url, "HF_TOKEN": server.token, "HF_HUB_DISABLE_XET": "1", ...}
    ...  # run the client (HF_ENDPOINT is read when huggingface_hub is imported)
    server.files("tester/repo")  # {"config.json": b"...", ...}
    server.stop()

Clients must set ``HF_HUB_DISABLE_XET=1``: this server has no Xet storage, only Git LFS.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import os
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = ["HubServer"]

REPO_TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}
URL_PREFIXES = {"model": "", "dataset": "datasets/", "space": "spaces/"}
# Files at least this large are stored with Git LFS, like on the Hub.
LFS_THRESHOLD = 10 * 1024 * 1024
# Extensions the Hub's default .gitattributes sends to LFS whatever their size.
LFS_SUFFIXES = (
    ".7z", ".arrow", ".bin", ".bz2", ".ckpt", ".ftz", ".gz", ".h5", ".joblib", ".mlmodel", ".model", ".msgpack",
    ".npy", ".npz", ".onnx", ".ot", ".parquet", ".pb", ".pickle", ".pkl", ".pt", ".pth", ".rar", ".safetensors",
    ".tar", ".tflite", ".tgz", ".wasm", ".xz", ".zip", ".zst",
)  # fmt: skip
MAX_BODY = 2 * 1024**3


def git_blob_sha1(data: bytes) -> str:
    """The git object id of a blob with this content (what ``git hash-object`` prints)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


def _now() -> str:
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class _Blob:
    data: bytes
    lfs: bool

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def oid(self) -> str:
        """Git object id: of the content for regular files, of the pointer file for LFS files."""
        if self.lfs:
            return git_blob_sha1(lfs_pointer(self.sha256, len(self.data)))
        return git_blob_sha1(self.data)

    @property
    def etag(self) -> str:
        return self.sha256 if self.lfs else git_blob_sha1(self.data)

    def tree_entry(self, path: str) -> dict:
        entry = {"type": "file", "oid": self.oid, "size": len(self.data), "path": path}
        if self.lfs:
            pointer = lfs_pointer(self.sha256, len(self.data))
            entry["lfs"] = {"oid": self.sha256, "size": len(self.data), "pointerSize": len(pointer)}
        return entry


@dataclass
class _Commit:
    oid: str
    parent: str | None
    files: dict[str, _Blob]
    title: str
    message: str
    author: str
    date: str = field(default_factory=_now)


@dataclass
class _Repo:
    repo_type: str
    repo_id: str
    private: bool
    created_at: str = field(default_factory=_now)
    branches: dict[str, str] = field(default_factory=dict)  # branch name -> head commit oid
    tags: dict[str, str] = field(default_factory=dict)
    commits: dict[str, _Commit] = field(default_factory=dict)
    pr_count: int = 0


class _HTTPError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        code: str | None = None,
        headers: dict | None = None,
        payload: dict | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = headers or {}
        self.payload = payload or {}


def _repo_not_found(repo_id: str) -> _HTTPError:
    return _HTTPError(404, f"Repository not found: {repo_id}", "RepoNotFound")


class HubServer:
    """In-memory Hub: repos -> branches -> commit history, each commit a full snapshot ``path -> bytes``."""

    def __init__(self, token: str = "hf_test_token", user: str = "tester"):
        self.token = token
        self.user = user
        self.url = ""
        self.commits: list[tuple[str, list[str]]] = []  # (repo_id, sorted paths touched) per commit received
        self.requests: list[tuple[str, str, int]] = []  # (method, path, status) of every request answered
        self._repos: dict[tuple[str, str], _Repo] = {}
        self._lfs: dict[str, bytes] = {}  # sha256 -> content
        self._tickets: dict[str, tuple[str, int]] = {}  # upload ticket -> (sha256, size)
        self._lock = threading.RLock()
        self._counter = itertools.count()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> HubServer:
        if self._httpd is not None:
            return self
        handler = type("_BoundHandler", (_Handler,), {"hub": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="hub-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------------ inspection helpers
    def files(self, repo_id: str, revision: str = "main", repo_type: str = "model") -> dict[str, bytes]:
        """Current file contents of a repo at a revision (branch, tag or commit id)."""
        with self._lock:
            repo = self._repos.get((repo_type, repo_id))
            if repo is None:
                raise KeyError(f"no {repo_type} repo {repo_id!r}")
            commit = self._resolve(repo, revision)
            return {path: blob.data for path, blob in sorted(commit.files.items())}

    def client_env(self, home, token: str | None = "default") -> dict[str, str]:
        """Environment for a client process that talks to this server only: the Hub endpoint, a private HF_HOME,
        no Xet, no proxy, and `token` ("default": the server's own; None: no token)."""
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("HF_", "HUGGINGFACE_", "TRANSFORMERS_")) and "proxy" not in k.lower()
        }
        env.update(
            HF_ENDPOINT=self.url,
            HF_HOME=str(home),
            HF_HUB_DISABLE_XET="1",
            HF_HUB_DISABLE_TELEMETRY="1",
            HF_HUB_OFFLINE="0",
            HF_HUB_DISABLE_PROGRESS_BARS="1",
            NO_PROXY="127.0.0.1,localhost",
            no_proxy="127.0.0.1,localhost",
            TOKENIZERS_PARALLELISM="false",
        )
        if token is not None:
            env["HF_TOKEN"] = self.token if token == "default" else token
        return env

    def repo_ids(self, repo_type: str = "model") -> list[str]:
        with self._lock:
            return sorted(rid for rtype, rid in self._repos if rtype == repo_type)

    # ------------------------------------------------------------------ state helpers (call with the lock held)
    def _new_commit(self, repo: _Repo, parent: _Commit | None, files: dict[str, _Blob], title: str, message: str):
        digest = hashlib.sha1()
        digest.update(f"{repo.repo_type}/{repo.repo_id}\0{next(self._counter)}\0{title}\0{message}\0".encode())
        digest.update((parent.oid if parent else "").encode())
        for path, blob in sorted(files.items()):
            digest.update(f"\0{path}\0{blob.oid}".encode())
        commit = _Commit(digest.hexdigest(), parent.oid if parent else None, dict(files), title, message, self.user)
        repo.commits[commit.oid] = commit
        return commit

    def _get_repo(self, repo_type: str, repo_id: str, authorized: bool) -> _Repo:
        repo = self._repos.get((repo_type, repo_id))
        if repo is None or (repo.private and not authorized):
            raise _repo_not_found(repo_id)
        return repo

    def _resolve(self, repo: _Repo, revision: str) -> _Commit:
        rev = revision[len("refs/heads/") :] if revision.startswith("refs/heads/") else revision
        if rev.startswith("refs/tags/"):
            rev = rev[len("refs/tags/") :]
            oid = repo.tags.get(rev)
        else:
            oid = repo.branches.get(rev) or repo.tags.get(rev)
        if oid is None and re.fullmatch(r"[0-9a-f]{7,40}", rev):
            matches = [c for c in repo.commits if c.startswith(rev)]
            oid = matches[0] if len(matches) == 1 else None
        if oid is None:
            raise _HTTPError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        return repo.commits[oid]

    def _branch_name(self, repo: _Repo, revision: str) -> str:
        branch = revision[len("refs/heads/") :] if revision.startswith("refs/heads/") else revision
        if branch not in repo.branches:
            raise _HTTPError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        return branch

    def _repo_url(self, repo: _Repo) -> str:
        return f"{self.url}/{URL_PREFIXES[repo.repo_type]}{repo.repo_id}"

    def _upload_mode(self, path: str, size: int, sample: bytes) -> str:
        if size == 0:
            return "regular"
        if size >= LFS_THRESHOLD or path.lower().endswith(LFS_SUFFIXES) or b"\0" in sample:
            return "lfs"
        return "regular"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "TestHub/1.0"
    hub: HubServer  # set on the subclass built in HubServer.start

    def log_message(self, format, *args):  # noqa: A002 - silence the default stderr logging
        pass

    def do_GET(self):
        self._dispatch("GET")

    def do_HEAD(self):
        self._dispatch("HEAD")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_DELETE(self):
        self._dispatch("DELETE")

    # ------------------------------------------------------------------ plumbing
    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size_line = self.rfile.readline(1024)
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise _HTTPError(413, "Request body too large")
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self, method: str) -> None:
        self.method = method
        try:
            # Always consume the body first, even when answering an error: otherwise the next request on this
            # keep-alive connection would start in the middle of this one's body.
            self.body = self._read_body()
        except Exception:
            self.close_connection = True
            self._send(400, b'{"error": "Unreadable request body"}', {"Content-Type": "application/json"})
            return
        split = urlsplit(self.path)
        self.query = parse_qs(split.query, keep_blank_values=True)
        segments = [unquote(s) for s in split.path.split("/")[1:]]
        try:
            self._route(method, segments)
        except _HTTPError as err:
            self._error(err)
        except Exception as exc:  # a bug in this server: answer 500 rather than dropping the connection
            self._error(_HTTPError(500, f"Internal test server error: {type(exc).__name__}: {exc}"))

    def _send(self, status: int, body: bytes = b"", headers: dict | None = None, head_length: int | None = None):
        with self.hub._lock:
            self.hub.requests.append((self.method, self.path, status))
        self.send_response(status)
        headers = dict(headers or {})
        headers.setdefault("Content-Type", "application/octet-stream")
        length = head_length if (self.method == "HEAD" and head_length is not None) else len(body)
        headers["Content-Length"] = str(length)
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if self.method != "HEAD" and body:
            self.wfile.write(body)

    def _json(self, obj, status: int = 200, headers: dict | None = None) -> None:
        self._send(status, json.dumps(obj).encode(), {"Content-Type": "application/json", **(headers or {})})

    def _error(self, err: _HTTPError) -> None:
        headers = {"X-Error-Message": err.message.encode("ascii", "replace").decode()[:500], **err.headers}
        if err.code:
            headers["X-Error-Code"] = err.code
        self._json({"error": err.message, **err.payload}, err.status, headers)

    def _json_body(self) -> dict:
        try:
            value = json.loads(self.body or b"{}")
        except ValueError as exc:
            raise _HTTPError(400, f"Invalid JSON body: {exc}") from exc
        if not isinstance(value, dict):
            raise _HTTPError(400, "Expected a JSON object")
        return value

    # ------------------------------------------------------------------ auth
    def _token_state(self) -> bool | None:
        """True: valid token. None: no token. Raises 401 for a wrong token, as the Hub does on every route."""
        auth = self.headers.get("Authorization")
        if not auth:
            return None
        scheme, _, value = auth.partition(" ")
        if scheme.lower() != "bearer" or value.strip() != self.hub.token:
            raise _HTTPError(401, "Invalid credentials in Authorization header")
        return True

    def _require_auth(self) -> None:
        if self._token_state() is None:
            raise _HTTPError(401, "Invalid username or password.")

    # ------------------------------------------------------------------ routing
    def _route(self, method: str, seg: list[str]) -> None:
        if seg[:1] == ["api"]:
            return self._route_api(method, seg[1:])
        if seg[:2] == ["_lfs", "upload"] and len(seg) == 4 and method == "PUT":
            return self._lfs_put(seg[2], seg[3])
        repo_type = "model"
        if seg and seg[0] in ("datasets", "spaces") and len(seg) > 3:
            repo_type = REPO_TYPES[seg[0]]
            seg = seg[1:]
        if len(seg) >= 4 and seg[2] == "resolve" and method in ("GET", "HEAD"):
            return self._resolve_file(repo_type, f"{seg[0]}/{seg[1]}", seg[3], "/".join(seg[4:]))
        if len(seg) == 6 and seg[1].endswith(".git") and seg[2:] == ["info", "lfs", "objects", "batch"]:
            if method == "POST":
                return self._lfs_batch(repo_type, f"{seg[0]}/{seg[1][: -len('.git')]}")
        raise _HTTPError(404, f"Not found: {method} {self.path}")

    def _route_api(self, method: str, seg: list[str]) -> None:  # noqa: C901  one branch per Hub API route of the fake server
        if seg == ["whoami-v2"] and method == "GET":
            return self._whoami()
        if seg == ["repos", "create"] and method == "POST":
            return self._create_repo()
        if seg == ["repos", "delete"] and method == "DELETE":
            return self._delete_repo()
        if seg == ["validate-yaml"] and method == "POST":
            return self._json({"errors": [], "warnings": []})
        if len(seg) >= 3 and seg[0] in REPO_TYPES:
            repo_type, repo_id, rest = REPO_TYPES[seg[0]], f"{seg[1]}/{seg[2]}", seg[3:]
            action = rest[0] if rest else ""
            if method == "GET" and not rest:
                return self._repo_info(repo_type, repo_id, "main")
            if method == "GET" and action == "revision" and len(rest) >= 2:
                return self._repo_info(repo_type, repo_id, "/".join(rest[1:]))
            if method == "GET" and action == "tree" and len(rest) >= 2:
                return self._tree(repo_type, repo_id, rest[1], "/".join(rest[2:]))
            if method == "POST" and action == "paths-info" and len(rest) == 2:
                return self._paths_info(repo_type, repo_id, rest[1])
            if method == "POST" and action == "preupload" and len(rest) == 2:
                return self._preupload(repo_type, repo_id, rest[1])
            if method == "POST" and action == "commit" and len(rest) == 2:
                return self._commit(repo_type, repo_id, rest[1])
            if method in ("POST", "DELETE") and action == "branch" and len(rest) == 2:
                return self._branch(method, repo_type, repo_id, rest[1])
            if method in ("POST", "DELETE") and action == "tag" and len(rest) == 2:
                return self._tag(method, repo_type, repo_id, rest[1])
            if method == "GET" and action == "refs" and len(rest) == 1:
                return self._refs(repo_type, repo_id)
            if method == "GET" and action == "commits" and len(rest) == 2:
                return self._list_commits(repo_type, repo_id, rest[1])
        raise _HTTPError(404, f"Not found: {method} {self.path}")

    # ------------------------------------------------------------------ account & repos
    def _whoami(self) -> None:
        self._require_auth()
        self._json(
            {
                "type": "user",
                "id": "0" * 24,
                "name": self.hub.user,
                "fullname": self.hub.user.title(),
                "email": f"{self.hub.user}@example.invalid",
                "emailVerified": True,
                "canPay": False,
                "isPro": False,
                "orgs": [],
                "auth": {"type": "access_token", "accessToken": {"displayName": "test", "role": "write"}},
            }
        )

    def _repo_target(self) -> tuple[str, str]:
        body = self._json_body()
        name = body.get("name")
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
            raise _HTTPError(400, f"Invalid repo name: {name!r}")
        namespace = body.get("organization") or self.hub.user
        repo_type = body.get("type") or "model"
        if repo_type not in URL_PREFIXES:
            raise _HTTPError(400, f"Invalid repo type: {repo_type!r}")
        return repo_type, f"{namespace}/{name}"

    def _create_repo(self) -> None:
        self._require_auth()
        repo_type, repo_id = self._repo_target()
        body = self._json_body()
        private = bool(body.get("private")) or body.get("visibility") in ("private", "protected")
        hub = self.hub
        with hub._lock:
            existing = hub._repos.get((repo_type, repo_id))
            if existing is not None:
                url = hub._repo_url(existing)
                raise _HTTPError(409, f"You already created this {repo_type} repo", payload={"url": url})
            repo = _Repo(repo_type, repo_id, private)
            initial = hub._new_commit(repo, None, {}, "initial commit", "")
            repo.branches["main"] = initial.oid
            hub._repos[(repo_type, repo_id)] = repo
            url = hub._repo_url(repo)
        self._json({"url": url, "name": repo_id, "id": hashlib.sha1(repo_id.encode()).hexdigest()[:24]})

    def _delete_repo(self) -> None:
        self._require_auth()
        repo_type, repo_id = self._repo_target()
        with self.hub._lock:
            if self.hub._repos.pop((repo_type, repo_id), None) is None:
                raise _repo_not_found(repo_id)
        self._json({})

    def _repo_info(self, repo_type: str, repo_id: str, revision: str) -> None:
        hub = self.hub
        with hub._lock:
            repo = hub._get_repo(repo_type, repo_id, bool(self._token_state()))
            commit = hub._resolve(repo, revision)
            siblings = []
            for path, blob in sorted(commit.files.items()):
                sibling = {"rfilename": path, "size": len(blob.data), "blobId": blob.oid}
                if blob.lfs:
                    pointer = lfs_pointer(blob.sha256, len(blob.data))
                    sibling["lfs"] = {"size": len(blob.data), "sha256": blob.sha256, "pointerSize": len(pointer)}
                siblings.append(sibling)
            info = {
                "_id": hashlib.sha1(repo_id.encode()).hexdigest()[:24],
                "id": repo_id,
                "author": repo_id.split("/")[0],
                "sha": commit.oid,
                "lastModified": commit.date,
                "createdAt": repo.created_at,
                "private": repo.private,
                "gated": False,
                "disabled": False,
                "downloads": 0,
                "likes": 0,
                "tags": [],
                "siblings": siblings,
                "usedStorage": sum(len(b.data) for b in commit.files.values()),
            }
            if repo_type == "model":
                info["modelId"] = repo_id
        self._json(info)

    # ------------------------------------------------------------------ listing
    def _tree(self, repo_type: str, repo_id: str, revision: str, path: str) -> None:
        recursive = self.query.get("recursive", ["false"])[-1].lower() in ("1", "true")
        path = path.strip("/")
        hub = self.hub
        with hub._lock:
            repo = hub._get_repo(repo_type, repo_id, bool(self._token_state()))
            commit = hub._resolve(repo, revision)
            prefix = f"{path}/" if path else ""
            below = {p: b for p, b in commit.files.items() if p.startswith(prefix)}
            if path and not below:
                raise _HTTPError(404, f"Path {path} not found in tree", "EntryNotFound")
            entries: dict[str, dict] = {}
            for file_path, blob in below.items():
                parts = file_path[len(prefix) :].split("/")
                depth = len(parts) if recursive else 1
                for i in range(1, min(depth, len(parts) - 1) + 1):
                    folder = prefix + "/".join(parts[:i])
                    entries.setdefault(folder, _folder_entry(commit, folder))
                if recursive or len(parts) == 1:
                    entries[file_path] = blob.tree_entry(file_path)
        self._json([entries[key] for key in sorted(entries)])

    def _paths_info(self, repo_type: str, repo_id: str, revision: str) -> None:
        form = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        paths = form.get("paths", [])
        if not paths and self.body.startswith(b"{"):
            paths = self._json_body().get("paths", [])
        hub = self.hub
        with hub._lock:
            repo = hub._get_repo(repo_type, repo_id, bool(self._token_state()))
            commit = hub._resolve(repo, revision)
            result = []
            for raw in paths:
                path = raw.strip("/")
                if path in commit.files:
                    result.append(commit.files[path].tree_entry(path))
                elif path and any(p.startswith(path + "/") for p in commit.files):
                    result.append(_folder_entry(commit, path))
        self._json(result)

    def _refs(self, repo_type: str, repo_id: str) -> None:
        hub = self.hub
        with hub._lock:
            repo = hub._get_repo(repo_type, repo_id, bool(self._token_state()))
            branches = [
                {"name": name, "ref": f"refs/heads/{name}", "targetCommit": oid}
                for name, oid in sorted(repo.branches.items())
                if not name.startswith("refs/pr/")
            ]
            prs = [
                {"name": name, "ref": name, "targetCommit": oid}
                for name, oid in sorted(repo.branches.items())
                if name.startswith("refs/pr/")
            ]
            tags = [
                {"name": name, "ref": f"refs/tags/{name}", "targetCommit": oid}
                for name, oid in sorted(repo.tags.items())
            ]
        payload = {"branches": branches, "converts": [], "tags": tags}
        if self.query.get("include_prs"):
            payload["pullRequests"] = prs
        self._json(payload)

    def _list_commits(self, repo_type: str, repo_id: str, revision: str) -> None:
        hub = self.hub
        with hub._lock:
            repo = hub._get_repo(repo_type, repo_id, bool(self._token_state()))
            commit: _Commit | None = hub._resolve(repo, revision)
            history = []
            while commit is not None:
                history.append(
                    {
                        "id": commit.oid,
                        "title": commit.title,
                        "message": commit.message,
                        "date": commit.date,
                        "authors": [{"user": commit.author}],
                    }
                )
                commit = repo.commits.get(commit.parent) if commit.parent else None
        self._json(history)

    # ------------------------------------------------------------------ branches & tags
    def _branch(self, method: str, repo_type: str, repo_id: str, branch: str) -> None:
        self._require_auth()
        starting_point = self._json_body().get("startingPoint") if method == "POST" else None
        hub = self.hub
        with hub._lock:
            repo = hub._get_repo(repo_type, repo_id, True)
            if method == "DELETE":
                if branch not in repo.branches:
                    raise _HTTPError(404, f"Invalid rev id: {branch}", "RevisionNotFound")
                if branch == "main":
                    raise _HTTPError(403, "Cannot delete the default branch")
                del repo.branches[branch]
            else:
                if branch.startswith("refs/") or not branch:
                    raise _HTTPError(400, f"Invalid reference for a branch: {branch}")
                if branch in repo.branches:
                    raise _HTTPError(409, f"Reference already exists: refs/heads/{branch}")
                repo.branches[branch] = hub._resolve(repo, starting_point or "main").oid
        self._json({})

    def _tag(self, method: str, repo_type: str, repo_id: str, name: str) -> None:
        self._require_auth()
        body = self._json_body() if method == "POST" else {}
        hub = self.hub
        with hub._lock:
            repo = hub._get_repo(repo_type, repo_id, True)
            if method == "DELETE":
                if repo.tags.pop(name, None) is None:
                    raise _HTTPError(404, f"Invalid rev id: {name}", "RevisionNotFound")
            else:
                # huggingface_hub: POST .../tag/{revision} with {"tag": name}
                tag = body.get("tag")
                if not isinstance(tag, str) or not tag:
                    raise _HTTPError(400, "Missing tag name")
                if tag in repo.tags:
                    raise _HTTPError(409, f"Tag {tag} already exists")
                repo.tags[tag] = hub._resolve(repo, name).oid
        self._json({})

    # ------------------------------------------------------------------ uploads
    def _preupload(self, repo_type: str, repo_id: str, revision: str) -> None:
        self._require_auth()
        body = self._json_body()
        files = body.get("files")
        if not isinstance(files, list):
            raise _HTTPError(400, "Expected a `files` list")
        hub = self.hub
        with hub._lock:
            repo = hub._get_repo(repo_type, repo_id, True)
            current = hub._resolve(repo, revision).files
            answers = []
            for item in files:
                path = str(item.get("path", ""))
                sample = base64.b64decode(item.get("sample") or "")
                mode = hub._upload_mode(path, int(item.get("size") or 0), sample)
                existing = current.get(path)
                # `oid` is what the client compares with its local file to skip unchanged files: the sha256 for
                # LFS files, the git blob sha1 for regular ones.
                oid = None
                if existing is not None:
                    oid = existing.sha256 if mode == "lfs" else git_blob_sha1(existing.data)
                answers.append({"path": path, "uploadMode": mode, "shouldIgnore": False, "oid": oid})
        self._json({"files": answers, "commitOid": hub._resolve(repo, revision).oid})

    def _lfs_batch(self, repo_type: str, repo_id: str) -> None:
        self._require_auth()
        body = self._json_body()
        hub = self.hub
        objects = []
        with hub._lock:
            hub._get_repo(repo_type, repo_id, True)
            if body.get("operation") != "upload":
                raise _HTTPError(400, "Only the upload operation is supported")
            for obj in body.get("objects") or []:
                oid, size = str(obj.get("oid", "")), int(obj.get("size") or 0)
                entry: dict = {"oid": oid, "size": size, "authenticated": True}
                if not re.fullmatch(r"[0-9a-f]{64}", oid):
                    entry["error"] = {"code": 422, "message": "Invalid sha256 oid"}
                elif oid not in hub._lfs:
                    ticket = secrets.token_hex(16)
                    hub._tickets[ticket] = (oid, size)
                    href = f"{hub.url}/_lfs/upload/{oid}/{ticket}"
                    entry["actions"] = {"upload": {"href": href, "expires_in": 3600}}
                objects.append(entry)
        self._json(
            {"transfer": "basic", "objects": objects, "hash_algo": "sha256"},
            headers={"Content-Type": "application/vnd.git-lfs+json"},
        )

    def _lfs_put(self, oid: str, ticket: str) -> None:
        # Like a pre-signed S3 URL: the ticket in the path is the authorization, no Authorization header is sent.
        hub = self.hub
        with hub._lock:
            expected = hub._tickets.get(ticket)
        if expected is None or expected[0] != oid:
            raise _HTTPError(403, "Invalid or expired upload URL")
        if hashlib.sha256(self.body).hexdigest() != oid or len(self.body) != expected[1]:
            raise _HTTPError(400, "Uploaded content does not match the announced sha256/size")
        with hub._lock:
            hub._tickets.pop(ticket, None)
            hub._lfs[oid] = self.body
        self._send(200, b"", {"ETag": f'"{hashlib.md5(self.body).hexdigest()}"'})

    def _commit(self, repo_type: str, repo_id: str, revision: str) -> None:  # noqa: C901  one branch per commit operation of the fake server
        self._require_auth()
        lines = []
        for raw in self.body.splitlines():
            if raw.strip():
                try:
                    lines.append(json.loads(raw))
                except ValueError as exc:
                    raise _HTTPError(400, f"Invalid NDJSON line: {exc}") from exc
        if not lines or lines[0].get("key") != "header":
            raise _HTTPError(400, "The first NDJSON line must be the commit header")
        header = lines[0].get("value") or {}
        create_pr = self.query.get("create_pr", ["0"])[-1] in ("1", "true", "True")
        hub = self.hub
        with hub._lock:
            repo = hub._get_repo(repo_type, repo_id, True)
            branch = hub._branch_name(repo, revision)
            parent = repo.commits[repo.branches[branch]]
            if header.get("parentCommit") and header["parentCommit"] != parent.oid:
                raise _HTTPError(412, "A commit has happened since. Please refresh and try again.")
            files = dict(parent.files)
            touched: list[str] = []
            for line in lines[1:]:
                key, value = line.get("key"), line.get("value") or {}
                path = str(value.get("path", "")).strip("/")
                if key in ("file", "lfsFile", "deletedFile", "deletedFolder") and not path:
                    raise _HTTPError(400, f"Missing path in {key} operation")
                if key == "file":
                    content = value.get("content", "")
                    if value.get("encoding") == "base64":
                        data = base64.b64decode(content)
                    else:
                        data = str(content).encode()
                    files[path] = _Blob(data, lfs=False)
                    touched.append(path)
                elif key == "lfsFile":
                    data = hub._lfs.get(str(value.get("oid")))
                    if data is None:
                        raise _HTTPError(400, f"LFS object {value.get('oid')} for {path} was never uploaded")
                    if value.get("size") is not None and int(value["size"]) != len(data):
                        raise _HTTPError(400, f"Size mismatch for LFS file {path}")
                    files[path] = _Blob(data, lfs=True)
                    touched.append(path)
                elif key == "deletedFile":
                    if files.pop(path, None) is None:
                        raise _HTTPError(404, f"A file with this name doesn't exist: {path}", "EntryNotFound")
                    touched.append(path)
                elif key == "deletedFolder":
                    gone = [p for p in files if p.startswith(path + "/")]
                    if not gone:
                        raise _HTTPError(404, f"A folder with this name doesn't exist: {path}", "EntryNotFound")
                    for p in gone:
                        del files[p]
                    touched.extend(gone)
                else:
                    raise _HTTPError(400, f"Unknown commit operation: {key!r}")
            pr_url = None
            if create_pr:
                repo.pr_count += 1
                branch = f"refs/pr/{repo.pr_count}"
                pr_url = f"{hub._repo_url(repo)}/discussions/{repo.pr_count}"
            commit = hub._new_commit(
                repo, parent, files, str(header.get("summary") or "Commit"), str(header.get("description") or "")
            )
            repo.branches[branch] = commit.oid
            hub.commits.append((repo_id, sorted(set(touched))))
        self._json(
            {
                "success": True,
                "commitOid": commit.oid,
                "commitUrl": f"{hub._repo_url(repo)}/commit/{commit.oid}",
                "pullRequestUrl": pr_url,
            }
        )

    # ------------------------------------------------------------------ downloads
    def _resolve_file(self, repo_type: str, repo_id: str, revision: str, path: str) -> None:
        hub = self.hub
        with hub._lock:
            repo = hub._get_repo(repo_type, repo_id, bool(self._token_state()))
            commit = hub._resolve(repo, revision)
            blob = commit.files.get(path)
        if blob is None:
            raise _HTTPError(404, f"Entry not found: {path}", "EntryNotFound", headers={"X-Repo-Commit": commit.oid})
        data = blob.data
        headers = {
            "X-Repo-Commit": commit.oid,
            "ETag": f'"{blob.etag}"',
            "Accept-Ranges": "bytes",
            "Content-Type": "application/octet-stream",
        }
        if blob.lfs:
            headers["X-Linked-Etag"] = f'"{blob.sha256}"'
            headers["X-Linked-Size"] = str(len(data))
        status, start, end = 200, 0, len(data)
        range_header = self.headers.get("Range")
        if range_header:
            parsed = _parse_range(range_header, len(data))
            if parsed is None:
                headers["Content-Range"] = f"bytes */{len(data)}"
                self._send(416, b"", headers)
                return
            status, (start, end) = 206, parsed
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{len(data)}"
        body = data[start:end]
        self._send(status, body if self.method == "GET" else b"", headers, head_length=len(body))


def _folder_entry(commit: _Commit, folder: str) -> dict:
    digest = hashlib.sha1()
    for path, blob in sorted(commit.files.items()):
        if path.startswith(folder + "/"):
            digest.update(f"{path}\0{blob.oid}\0".encode())
    return {"type": "directory", "oid": digest.hexdigest(), "size": 0, "path": folder}


def _parse_range(value: str, total: int) -> tuple[int, int] | None:
    """Parse a single ``bytes=a-b`` range into a half-open ``(start, end)``; None when unsatisfiable."""
    match = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", value)
    if not match or (not match.group(1) and not match.group(2)):
        return None
    first, last = match.groups()
    if first:
        start = int(first)
        end = min(int(last) + 1, total) if last else total
    else:
        start, end = max(total - int(last), 0), total
    if start >= total or start >= end:
        return None
    return start, end
