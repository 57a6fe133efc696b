"""The ``initialize`` answer given before pygls and the analysis are imported.

Importing the server costs ~0.5 s, more than half of it ``lsprotocol.types`` alone (hundreds of attrs
classes built at import). The server's ``initialize`` result does not depend on anything that import
computes: it is the capabilities of the registered features, fixed in ``initialize_result.json``, plus the
position encoding, chosen from the client's list by pygls' rule (:func:`position_encoding`). So
``python -m doeff_migrate.lsp`` starts the import on a thread, reads the first message from stdin with the
standard library only, answers an ``initialize`` request from that file, and hands the same message to
pygls once the import is done (:class:`PrefixedStdin`): pygls initializes exactly as usual, and its own
response to that request is dropped (``server.DoeffMigrateProtocol``), after a check that it is the one sent.

A first message that is not an ``initialize`` request whose params have the expected shape is not
answered here: pygls reads it as usual (and answers a malformed one with its error).
``tests/lsp/test_early_initialize.py`` checks the file against pygls' answer for several clients;
``server.write_initialize_result()`` rewrites it from the server's features.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any, BinaryIO

__all__ = ["RESULT_FILE", "EarlyAnswer", "PrefixedStdin", "answer_initialize", "position_encoding", "initialize_result", "well_formed"]

RESULT_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "initialize_result.json")
"""The server's ``InitializeResult`` for a client that states no position encoding (UTF-16)."""

_SUPPORTED_ENCODINGS = ("utf-8", "utf-16", "utf-32")
"""pygls' ``_SUPPORTED_ENCODINGS``: the client's first of these wins, else UTF-16."""

_CONTENT_LENGTH = re.compile(rb"^Content-Length: (\d+)\r\n$")
"""pygls' header pattern: a message pygls would not read is not answered here either."""

_MAX_HEADER_LINES = 16


def position_encoding(params: dict[str, Any]) -> str:
    """The encoding pygls chooses (``ServerCapabilitiesBuilder.choose_position_encoding``): the client's
    first supported one, else UTF-16."""
    general = params["capabilities"].get("general") or {}
    for encoding in general.get("positionEncodings") or ():
        if encoding in _SUPPORTED_ENCODINGS:
            return encoding
    return "utf-16"


def initialize_result(params: dict[str, Any]) -> dict[str, Any]:
    """The result the server gives to an ``initialize`` request with these params: the file's, plus the
    fields pygls derives from the client's capabilities (``ServerCapabilitiesBuilder``)."""
    with open(RESULT_FILE, encoding="utf-8") as file:
        result = json.load(file)
    capabilities = result["capabilities"]
    capabilities["positionEncoding"] = position_encoding(params)
    synchronization = (params["capabilities"].get("textDocument") or {}).get("synchronization") or {}
    for key in ("willSave", "willSaveWaitUntil"):
        # pygls writes ``client's value and feature registered``: absent when the client states nothing,
        # else false (the server registers neither feature).
        if synchronization.get(key) is not None:
            capabilities["textDocumentSync"][key] = False
    return result


def _is_str_or_none(value: Any) -> bool:
    return value is None or isinstance(value, str)


def well_formed(params: Any) -> bool:
    """Whether ``params`` has the shape of ``InitializeParams`` in the fields the answer or pygls' reading
    of them depends on; anything else is left to pygls (which answers a malformed request with an error)."""
    if not isinstance(params, dict) or not isinstance(params.get("capabilities"), dict):
        return False
    process_id = params.get("processId")
    if "processId" not in params or not (process_id is None or (isinstance(process_id, int) and not isinstance(process_id, bool))):
        return False
    if not all(_is_str_or_none(params.get(key)) for key in ("rootUri", "rootPath", "locale")):
        return False
    if params.get("trace") not in (None, "off", "messages", "verbose"):
        return False
    client = params.get("clientInfo")
    if client is not None and not (isinstance(client, dict) and isinstance(client.get("name"), str)):
        return False
    folders = params.get("workspaceFolders")
    if folders is not None and not (
        isinstance(folders, list)
        and all(isinstance(f, dict) and isinstance(f.get("uri"), str) and isinstance(f.get("name"), str) for f in folders)
    ):
        return False
    capabilities = params["capabilities"]
    if not all(isinstance(capabilities.get(key), (dict, type(None))) for key in ("general", "workspace", "textDocument", "window", "notebookDocument")):
        return False
    synchronization = (capabilities.get("textDocument") or {}).get("synchronization")
    if synchronization is not None and not isinstance(synchronization, dict):
        return False
    encodings = (capabilities.get("general") or {}).get("positionEncodings")
    return encodings is None or (isinstance(encodings, list) and all(isinstance(e, str) for e in encodings))


class EarlyAnswer:
    """What :func:`answer_initialize` read and sent."""

    def __init__(self, consumed: bytes, request_id: int | str | None = None, result: dict[str, Any] | None = None) -> None:
        self.consumed = consumed
        """The bytes read from stdin (pygls reads them first, then the rest of stdin)."""
        self.request_id = request_id
        """The id of the ``initialize`` request answered here; None when nothing was answered."""
        self.result = result


def _read_message(stdin: BinaryIO) -> tuple[bytes, bytes | None]:
    """(bytes read, body): one message as pygls reads it; body None when what came is not one."""
    consumed = b""
    length = 0
    for _ in range(_MAX_HEADER_LINES):
        line = stdin.readline()
        consumed += line
        if not line:
            return consumed, None
        match = _CONTENT_LENGTH.fullmatch(line)
        if match and not length:
            length = int(match.group(1))
        if not line.strip():
            if not length:
                return consumed, None
            body = stdin.read(length)
            consumed += body
            return consumed, body if len(body) == length else None
    return consumed, None


def answer_initialize(stdin: BinaryIO, stdout: BinaryIO) -> EarlyAnswer:
    """Effect: reads the first message from ``stdin``; when it is a well-formed ``initialize`` request,
    writes the server's result to ``stdout`` (framed as pygls frames it)."""
    consumed, body = _read_message(stdin)
    if body is None:
        return EarlyAnswer(consumed)
    try:
        message = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return EarlyAnswer(consumed)
    if not (
        isinstance(message, dict) and message.get("jsonrpc") == "2.0" and message.get("method") == "initialize"
        and isinstance(message.get("id"), (int, str)) and not isinstance(message.get("id"), bool)
        and well_formed(message.get("params"))
    ):
        return EarlyAnswer(consumed)
    result = initialize_result(message["params"])
    response = json.dumps({"id": message["id"], "jsonrpc": "2.0", "result": result})
    stdout.write(
        f"Content-Length: {len(response)}\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n{response}".encode()
    )
    stdout.flush()
    return EarlyAnswer(consumed, message["id"], result)


class PrefixedStdin:
    """``stdin`` with ``prefix`` (the bytes already read from it) in front: what pygls' reader calls
    (``readline``, ``read(n)``)."""

    def __init__(self, prefix: bytes, stream: BinaryIO) -> None:
        self._prefix = prefix
        self._stream = stream

    def readline(self) -> bytes:
        if not self._prefix:
            return self._stream.readline()
        end = self._prefix.find(b"\n")
        if end < 0:
            line, self._prefix = self._prefix, b""
            return line + self._stream.readline()
        line, self._prefix = self._prefix[: end + 1], self._prefix[end + 1 :]
        return line

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            data, self._prefix = self._prefix, b""
            return data + self._stream.read()
        data, self._prefix = self._prefix[:size], self._prefix[size:]
        if len(data) < size:
            data += self._stream.read(size - len(data))
        return data
