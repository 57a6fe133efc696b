"""The ``initialize`` answer given before the server module is imported (``lsp/early_initialize.py``): the
same result pygls gives, exactly one response per request, and anything unusual left to pygls."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
from lsprotocol import types
from pytest_lsp import client_capabilities

from doeff_migrate.lsp.early_initialize import PrefixedStdin, answer_initialize, initialize_result, well_formed

SERVER_COMMAND = [sys.executable, "-m", "doeff_migrate.lsp"]


def _capabilities(client: str) -> dict:
    from doeff_migrate.lsp.server import server

    return server.protocol._converter.unstructure(client_capabilities(client))


CLIENTS = ["visual-studio-code", "neovim", "emacs"]


@pytest.mark.parametrize("client", CLIENTS)
def test_early_result_is_pyglss_result_for_real_clients(client):
    from doeff_migrate.lsp.server import initialize_result_from_pygls

    params = {"processId": 1, "rootUri": "file:///tmp/project", "capabilities": _capabilities(client)}
    assert initialize_result(params) == initialize_result_from_pygls(params)


@pytest.mark.parametrize(
    "capabilities",
    [
        {},
        {"general": {"positionEncodings": ["utf-8", "utf-16"]}},
        {"general": {"positionEncodings": ["utf-32"]}},
        {"general": {"positionEncodings": ["latin-1", "utf-8"]}},
        {"general": {"positionEncodings": ["latin-1"]}},
        {"notebookDocument": {"synchronization": {}}},
        {"textDocument": {"synchronization": {"willSave": True, "willSaveWaitUntil": True}, "rename": {"prepareSupport": True}}},
        {"workspace": {"fileOperations": {"didCreate": True, "willRename": True}}},
        {"textDocument": {"diagnostic": {}}},
    ],
)
def test_early_result_is_pyglss_result_for_each_capability_it_could_depend_on(capabilities):
    from doeff_migrate.lsp.server import initialize_result_from_pygls

    params = {"processId": None, "rootUri": None, "capabilities": capabilities}
    assert initialize_result(params) == initialize_result_from_pygls(params)


def _frame(message: dict) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def _messages(data: bytes) -> list[dict]:
    messages = []
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
        messages.append(json.loads(rest[:length]))
        data = rest[length:]
    return messages


def test_answer_initialize_writes_the_result_and_keeps_what_it_read():
    params = {"processId": None, "rootUri": None, "capabilities": {"general": {"positionEncodings": ["utf-8"]}}}
    first = _frame({"jsonrpc": "2.0", "id": 7, "method": "initialize", "params": params})
    after = _frame({"jsonrpc": "2.0", "method": "initialized", "params": {}})
    stdin, stdout = io.BufferedReader(io.BytesIO(first + after)), io.BytesIO()
    early = answer_initialize(stdin, stdout)
    assert early.request_id == 7 and early.consumed == first
    (response,) = _messages(stdout.getvalue())
    assert response == {"id": 7, "jsonrpc": "2.0", "result": initialize_result(params)}
    assert response["result"]["capabilities"]["positionEncoding"] == "utf-8"
    assert stdin.read() == after  # the rest is left for pygls


@pytest.mark.parametrize(
    "first",
    [
        _frame({"jsonrpc": "2.0", "id": 1, "method": "shutdown", "params": None}),
        _frame({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"processId": "x", "capabilities": {}}}),
        _frame({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"processId": 1}}),
        _frame({"jsonrpc": "2.0", "method": "initialize", "params": {"processId": 1, "capabilities": {}}}),
        b"Content-Length: 5\r\n\r\n{nope",
        b"Content-Length: 50\r\n\r\n{}",  # ends early
        b"garbage\r\n",
        b"",
    ],
)
def test_anything_but_a_well_formed_initialize_is_left_to_pygls(first):
    stdin, stdout = io.BufferedReader(io.BytesIO(first)), io.BytesIO()
    early = answer_initialize(stdin, stdout)
    assert early.request_id is None and stdout.getvalue() == b""
    assert early.consumed == first


@pytest.mark.parametrize(
    "params",
    [
        {"processId": True, "capabilities": {}},
        {"processId": 1, "capabilities": {}, "rootUri": 3},
        {"processId": 1, "capabilities": {}, "trace": "loud"},
        {"processId": 1, "capabilities": {}, "workspaceFolders": [{"uri": "file:///x"}]},
        {"processId": 1, "capabilities": {"general": {"positionEncodings": "utf-8"}}},
        {"processId": 1, "capabilities": {"workspace": []}},
        {"processId": 1, "capabilities": {}, "clientInfo": {"version": "1"}},
    ],
)
def test_malformed_params_are_not_well_formed(params):
    assert not well_formed(params)


def test_prefixed_stdin_reads_the_prefix_then_the_stream():
    stream = io.BufferedReader(io.BytesIO(b"tail\r\nrest"))
    stdin = PrefixedStdin(b"a\r\nbody-and-he", stream)
    assert stdin.readline() == b"a\r\n"
    assert stdin.read(4) == b"body"
    assert stdin.readline() == b"-and-hetail\r\n"  # a line cut where the prefix ends goes on in the stream
    assert stdin.read(2) == b"re"
    assert PrefixedStdin(b"ab", io.BufferedReader(io.BytesIO(b"cd"))).read(3) == b"abc"
    assert PrefixedStdin(b"ab", io.BufferedReader(io.BytesIO(b"cd"))).read() == b"abcd"


def _run_server(messages: list[bytes]) -> list[dict]:
    """The real server process fed ``messages`` at once, up to ``exit``: every message it wrote."""
    proc = subprocess.run(SERVER_COMMAND, input=b"".join(messages), capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert b"differs from the early answer" not in proc.stderr and b"failed after its early answer" not in proc.stderr
    return _messages(proc.stdout)


def _session(initialize_params: dict) -> list[bytes]:
    return [
        _frame({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": initialize_params}),
        _frame({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
        _frame({"jsonrpc": "2.0", "id": 2, "method": "shutdown", "params": None}),
        _frame({"jsonrpc": "2.0", "method": "exit", "params": None}),
    ]


def test_the_server_answers_initialize_once_and_goes_on_with_the_session():
    params = {"processId": None, "rootUri": None, "capabilities": _capabilities("visual-studio-code"), "initializationOptions": {"settings": {}}}
    responses = [m for m in _run_server(_session(params)) if "id" in m and "method" not in m]
    assert [r["id"] for r in responses] == [1, 2]
    assert responses[0]["result"] == initialize_result(params)
    assert responses[1] == {"id": 2, "jsonrpc": "2.0", "result": None}


def test_a_malformed_initialize_gets_pyglss_error_once():
    responses = [m for m in _run_server(_session({"processId": "x", "capabilities": {}})) if "id" in m and "method" not in m]
    assert [r["id"] for r in responses] == [1, 2]
    assert responses[0]["error"]["code"] == types.ErrorCodes.InvalidParams
