"""Log output: lines go through the standard QueueHandler to a QueueListener thread, as text or JSON.

Request text in messages is escaped (control characters) and capped, so no request can forge or flood a line.
"""

from __future__ import annotations

import io
import json
import logging
import logging.handlers
import queue
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from registry_server.domain.log_text import escape_controls
from registry_server.domain.request_id import current_request_id

MAX_MESSAGE_CHARS = 4096
# Fields an RPC line carries besides its message (passed with `extra=`); JSON output names them.
RPC_FIELDS = ("method", "code", "ms", "principal", "peer", "agent")
_PLAIN = logging.Formatter()
# Argument types a message can be merged from later, on the listener thread, with the same result.
_IMMUTABLE = frozenset({str, int, float, bool, type(None)})


def _bounded(message: str) -> str:
    if len(message) > MAX_MESSAGE_CHARS:
        message = f"{message[:MAX_MESSAGE_CHARS]}...({len(message)} chars)"
    return escape_controls(message)


class TextFormatter(logging.Formatter):
    """`time level logger: message [request id]`, one line per record plus an indented traceback."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line, and its traceback with every continuation line indented."""
        record.message = _bounded(record.getMessage())
        record.asctime = self.formatTime(record)
        line = self.formatMessage(record)
        request_id = getattr(record, "request_id", "")
        if request_id:
            line = f"{line} [{request_id}]"
        trace = record.exc_text or (self.formatException(record.exc_info) if record.exc_info else "")
        if trace:
            # Indented, so text inside an exception can never pass for a record of its own.
            line += "\n    " + escape_controls(trace).replace("\\n", "\n    ")
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id and the RPC fields present."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        document: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": _bounded(record.getMessage()),
            "request_id": getattr(record, "request_id", ""),
        }
        for name in RPC_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                document[name] = value
        if record.exc_info:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            document["exception"] = record.exc_text
        return json.dumps(document, ensure_ascii=False, default=str)


class RequestIdQueueHandler(logging.handlers.QueueHandler):
    """Hands records to the listener thread, stamped with the current request id.

    Unlike the standard prepare(), the traceback stays apart from the message, for the formatter to lay out.
    """

    def handle(self, record: logging.LogRecord) -> bool:
        """Filters and queues the record; the queue is thread-safe, so no handler lock is taken."""
        accepted = bool(self.filter(record))
        if accepted:
            self.emit(record)
        return accepted

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        """The record made safe to format on another thread: traceback rendered to text, and the message
        merged now unless its arguments are immutable (then the listener thread merges them).

        It is changed in place rather than copied: this handler is the only one on the root logger.
        """
        args = record.args
        if args and not (isinstance(args, tuple) and all(type(arg) in _IMMUTABLE for arg in args)):
            record.msg = record.getMessage()
            record.args = None
        record.request_id = current_request_id()
        if record.exc_info:
            record.exc_text = _PLAIN.formatException(record.exc_info)
            record.exc_info = None
        return record


class _BatchingStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes without a flush per line; the listener flushes whenever its queue runs dry."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.stream.write(self.format(record) + self.terminator)
        except Exception:
            self.handleError(record)


class _DrainingListener(logging.handlers.QueueListener):
    """The standard listener thread, flushing its handlers each time the queue is empty."""

    def handle(self, record: logging.LogRecord) -> None:
        super().handle(record)
        if self.queue.empty():  # type: ignore[attr-defined]  # a SimpleQueue, see LogOutput
            for handler in self.handlers:
                handler.flush()


class LogOutput:
    """The running log pipeline; close() flushes what is waiting and stops the listener thread."""

    def __init__(self, stream: TextIO, formatter: logging.Formatter) -> None:
        self._queue: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
        self._sink = _BatchingStreamHandler(stream)
        self._sink.setFormatter(formatter)
        self.handler = RequestIdQueueHandler(self._queue)
        self._listener = _DrainingListener(self._queue, self._sink)
        self._listener.start()

    def close(self) -> None:
        """Writes every waiting line and stops the listener."""
        self._listener.stop()
        self._sink.flush()


def _buffered(stream: TextIO) -> TextIO:
    """A block-buffered writer on `stream`'s file descriptor when it has one (stderr is line-buffered)."""
    try:
        descriptor = stream.fileno()
    except (OSError, io.UnsupportedOperation, AttributeError):
        return stream
    return open(descriptor, "w", buffering=1 << 16, encoding="utf-8", errors="replace", closefd=False)


def configure_logging(level: str, log_format: str = "text", stream: TextIO | None = None) -> LogOutput:
    """Routes every log record through one queue to `stream` (stderr) in `log_format` ("text" or "json")."""
    formatter = JsonFormatter() if log_format == "json" else TextFormatter()
    _skip_unused_record_fields()
    output = LogOutput(_buffered(stream or sys.stderr), formatter)
    root = logging.getLogger()
    root.handlers[:] = [output.handler]
    root.setLevel(getattr(logging, level))
    return output


def _skip_unused_record_fields() -> None:
    """Stops the logging module gathering what no formatter here prints (the caller's file and line, the
    thread, the process), as the logging HOWTO's optimization notes describe: every RPC logs a line."""
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
