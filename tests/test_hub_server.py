"""The loopback Hub server (tests/hub_server.py) against the REAL huggingface_hub and transformers clients.

Each client session runs in a subprocess: ``HF_ENDPOINT`` is read when huggingface_hub is imported, and the
parent test process runs with ``HF_HUB_OFFLINE=1`` (conftest.py).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from hub_server import HubServer, git_blob_sha1

BIG_SIZE = 12 * 1024 * 1024  # above the 10 MB LFS threshold


@pytest.fixture(scope="module")
def server():
    hub = HubServer().start()
    yield hub
    hub.stop()


@pytest.fixture(scope="module")
def upload_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("upload")
    (folder / "notes.txt").write_text("a small text file\nwith two lines\n")
    (folder / "nested").mkdir()
    (folder / "nested" / "info.json").write_text('{"answer": 42}\n')
    # Deterministic pseudo-random bytes (contains NUL bytes, so binary even without the size rule).
    chunk = hashlib.sha256(b"seed").digest() * 1024
    data = bytearray()
    i = 0
    while len(data) < BIG_SIZE:
        data += hashlib.sha256(chunk + i.to_bytes(4, "little")).digest() * 2048
        i += 1
    (folder / "weights.bin").write_bytes(bytes(data[:BIG_SIZE]))
    return folder


def local_files(folder) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and ".cache" not in p.parts
    }


def run_client(server: HubServer, code: str, home, token: str | None = "default", args=()) -> dict:
    """Run `code` in a fresh interpreter pointed at `server`; the code prints one JSON line last."""
    env = server.client_env(home, token)
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, f"client failed:\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


PUSH = """
import json, sys
from huggingface_hub import HfApi
api = HfApi()
first = api.create_repo("{repo}", exist_ok=True)
second = api.create_repo("{repo}", exist_ok=True)
info = api.upload_folder(repo_id="{repo}", folder_path={folder!r})
print(json.dumps({{"urls": [str(first), str(second)], "oid": info.oid, "user": api.whoami()["name"]}}))
"""


def push(server, repo, folder, home):
    return run_client(server, PUSH.format(repo=repo, folder=str(folder)), home)


def test_upload_then_download_is_byte_identical(server, upload_dir, tmp_path):
    out = push(server, "tester/roundtrip", upload_dir, tmp_path / "push_home")
    assert out["urls"] == [f"{server.url}/tester/roundtrip"] * 2
    assert out["user"] == "tester"
    expected = local_files(upload_dir)
    assert server.files("tester/roundtrip") == expected

    code = f"""
    import json
    from huggingface_hub import HfApi, hf_hub_download, snapshot_download
    api = HfApi()
    snap = snapshot_download("tester/roundtrip")
    single = {{name: hf_hub_download("tester/roundtrip", name, cache_dir={str(tmp_path / "single")!r})
              for name in {sorted(expected)!r}}}
    tree = {{f.path: getattr(f, "lfs", None) is not None
            for f in api.list_repo_tree("tester/roundtrip", recursive=True) if type(f).__name__ == "RepoFile"}}
    try:
        hf_hub_download("tester/roundtrip", "missing.txt")
        missing = "no error"
    except Exception as exc:
        missing = type(exc).__name__
    print(json.dumps({{"snap": snap, "single": single, "tree": tree, "sha": api.model_info("tester/roundtrip").sha,
                      "missing": missing}}))
    """
    got = run_client(server, code, tmp_path / "download_home")
    assert got["sha"] == out["oid"]
    assert got["tree"] == {"notes.txt": False, "nested/info.json": False, "weights.bin": True}
    assert got["missing"] == "RemoteEntryNotFoundError"
    assert local_files(Path(got["snap"])) == expected
    assert {name: Path(path).read_bytes() for name, path in got["single"].items()} == expected


def test_identical_second_push_makes_no_commit(server, upload_dir, tmp_path):
    push(server, "tester/twice", upload_dir, tmp_path / "a")
    commits_after_first = list(server.commits)
    assert commits_after_first[-1] == ("tester/twice", ["nested/info.json", "notes.txt", "weights.bin"])
    out = push(server, "tester/twice", upload_dir, tmp_path / "b")  # fresh session, same content
    assert server.commits == commits_after_first
    assert out["oid"] == run_client(
        server,
        'import json; from huggingface_hub import HfApi; print(json.dumps(HfApi().model_info("tester/twice").sha))',
        tmp_path / "c",
    )

    (upload_dir / "notes.txt").write_text("changed\n")
    try:
        push(server, "tester/twice", upload_dir, tmp_path / "d")
    finally:
        (upload_dir / "notes.txt").write_text("a small text file\nwith two lines\n")
    assert server.commits[len(commits_after_first) :] == [("tester/twice", ["notes.txt"])]
    assert server.files("tester/twice")["notes.txt"] == b"changed\n"


def test_wrong_or_missing_token_is_rejected(server, upload_dir, tmp_path):
    push(server, "tester/guarded", upload_dir, tmp_path / "ok")
    before_files, before_commits = server.files("tester/guarded"), list(server.commits)

    code = """
    import json
    from huggingface_hub import HfApi
    results = {}
    for label, token in (("wrong", "hf_wrong_token"), ("none", False)):
        api = HfApi(token=token)
        for op, call in (
            ("create", lambda: api.create_repo("tester/guarded-new", exist_ok=True)),
            ("create_existing", lambda: api.create_repo("tester/guarded", exist_ok=True)),
            ("upload", lambda: api.upload_file(path_or_fileobj=b"evil", path_in_repo="notes.txt",
                                               repo_id="tester/guarded")),
        ):
            try:
                call()
                results[f"{label}_{op}"] = "accepted"
            except Exception as exc:
                response = getattr(exc, "response", None)
                results[f"{label}_{op}"] = getattr(response, "status_code", type(exc).__name__)
    print(json.dumps(results))
    """
    results = run_client(server, code, tmp_path / "bad", token=None)
    assert results == {
        "wrong_create": 401,
        "wrong_create_existing": 401,
        "wrong_upload": 401,
        "none_create": 401,
        # huggingface_hub answers a 401 on create_repo(exist_ok=True) by checking (anonymously here) that the
        # repo exists, and then returns its URL without writing anything: the Hub behaves the same.
        "none_create_existing": "accepted",
        "none_upload": 401,
    }
    assert server.files("tester/guarded") == before_files
    assert server.commits == before_commits
    assert "tester/guarded-new" not in server.repo_ids()


def test_transformers_push_to_hub_and_from_pretrained(server, tmp_path):
    push_code = """
    import json, sys
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer
    torch.manual_seed(0)
    config = BertConfig(vocab_size=50, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=16, max_position_embeddings=32)
    model = BertModel(config)
    model.push_to_hub("tester/tiny-bert")
    with open(sys.argv[1], "w") as f:
        f.write("\\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world"]) + "\\n")
    tokenizer = BertTokenizer(vocab_file=sys.argv[1])
    tokenizer.push_to_hub("tester/tiny-bert")
    print(json.dumps({"checksum": float(sum(p.double().sum() for p in model.state_dict().values())),
                      "ids": tokenizer("hello world [SEP] unknown")["input_ids"]}))
    """
    pushed = run_client(server, push_code, tmp_path / "push", args=[str(tmp_path / "vocab.txt")])
    files = server.files("tester/tiny-bert")
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"} <= set(files), sorted(files)
    assert json.loads(files["config.json"])["hidden_size"] == 8

    load_code = """
    import json
    from transformers import AutoConfig, AutoModel, AutoTokenizer
    config = AutoConfig.from_pretrained("tester/tiny-bert")
    model = AutoModel.from_pretrained("tester/tiny-bert")
    tokenizer = AutoTokenizer.from_pretrained("tester/tiny-bert")
    print(json.dumps({"model_type": config.model_type, "hidden_size": config.hidden_size,
                      "ids": tokenizer("hello world [SEP] unknown")["input_ids"],
                      "checksum": float(sum(p.double().sum() for p in model.state_dict().values()))}))
    """
    first_request = len(server.requests)
    got = run_client(server, load_code, tmp_path / "load")
    # transformers probed optional files that do not exist, got EntryNotFound (404) and carried on.
    probes = [path for _, path, status in server.requests[first_request:] if status == 404 and "/resolve/" in path]
    assert probes, server.requests[first_request:]
    assert got["ids"] == pushed["ids"]
    assert got["model_type"] == "bert"
    assert got["hidden_size"] == 8
    assert got["checksum"] == pytest.approx(pushed["checksum"])


def _request(server, method, path, headers=None):
    request = urllib.request.Request(server.url + path, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def test_raw_http_headers_range_and_error_codes(server, upload_dir, tmp_path):
    push(server, "tester/raw", upload_dir, tmp_path / "raw")
    notes = (upload_dir / "notes.txt").read_bytes()
    big = (upload_dir / "weights.bin").read_bytes()
    sha = json.loads(_request(server, "GET", "/api/models/tester/raw")[2])["sha"]

    status, headers, body = _request(server, "HEAD", "/tester/raw/resolve/main/notes.txt")
    assert status == 200 and body == b""
    assert headers["X-Repo-Commit"] == sha
    assert headers["ETag"] == f'"{git_blob_sha1(notes)}"'
    assert int(headers["Content-Length"]) == len(notes)

    status, headers, _ = _request(server, "HEAD", "/tester/raw/resolve/main/weights.bin")
    assert headers["ETag"] == headers["X-Linked-Etag"] == f'"{hashlib.sha256(big).hexdigest()}"'
    assert int(headers["X-Linked-Size"]) == len(big)

    status, headers, body = _request(server, "GET", f"/tester/raw/resolve/{sha}/notes.txt", {"Range": "bytes=2-6"})
    assert status == 206 and body == notes[2:7]
    assert headers["Content-Range"] == f"bytes 2-6/{len(notes)}"
    status, _, body = _request(server, "GET", "/tester/raw/resolve/main/weights.bin", {"Range": "bytes=-10"})
    assert status == 206 and body == big[-10:]

    for path, code in (
        ("/tester/raw/resolve/main/nope.txt", "EntryNotFound"),
        ("/tester/raw/resolve/no-such-branch/notes.txt", "RevisionNotFound"),
        ("/tester/none/resolve/main/notes.txt", "RepoNotFound"),
        ("/api/models/tester/none", "RepoNotFound"),
    ):
        status, headers, _ = _request(server, "GET", path)
        assert (status, headers.get("X-Error-Code")) == (404, code), path
