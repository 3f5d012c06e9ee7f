"""Batched log output: nothing is lost, warnings are not delayed, close flushes."""

from __future__ import annotations

import io
import logging

from registry_server.log_output import MAX_BUFFERED_LINES, BufferedStreamHandler


def make_logger(stream: io.StringIO) -> tuple[logging.Logger, BufferedStreamHandler]:
    handler = BufferedStreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger(f"test.log_output.{id(stream)}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, handler


def test_info_lines_are_batched_and_close_flushes_them() -> None:
    stream = io.StringIO()
    logger, handler = make_logger(stream)
    logger.info("rpc one")
    logger.info("rpc two")
    handler.close()
    assert stream.getvalue() == "INFO rpc one\nINFO rpc two\n"


def test_warnings_flush_at_once_with_what_came_before() -> None:
    stream = io.StringIO()
    logger, handler = make_logger(stream)
    logger.info("before")
    logger.warning("database locked")
    assert stream.getvalue() == "INFO before\nWARNING database locked\n"
    handler.close()


def test_a_full_buffer_is_written() -> None:
    stream = io.StringIO()
    logger, handler = make_logger(stream)
    for index in range(MAX_BUFFERED_LINES):
        logger.info("line %d", index)
    assert stream.getvalue().count("\n") == MAX_BUFFERED_LINES
    handler.close()
