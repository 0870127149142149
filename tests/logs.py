"""Capturing what the loggers emit during a test, formatted as a handler of ours would write it."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator


@contextlib.contextmanager
def captured_lines(formatter: logging.Formatter, *, level: int = logging.NOTSET,
                   filters: tuple[logging.Filter, ...] = (), loggers: tuple[str, ...] = ()) -> Iterator[list[str]]:
    """Every record reaching the root logger in the block, as `formatter` writes it. With `level`, the root and
    the named `loggers` are lowered to it for the block (so DEBUG lines of libraries are seen too)."""
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record):
            lines.append(self.format(record))

    handler = Collect(level=level)
    handler.setFormatter(formatter)
    for log_filter in filters:
        handler.addFilter(log_filter)
    lowered = [logging.getLogger(), *(logging.getLogger(name) for name in loggers)] if level else []
    saved = [(logger, logger.level) for logger in lowered]
    for logger in lowered:
        logger.setLevel(level)
    logging.getLogger().addHandler(handler)
    try:
        yield lines
    finally:
        logging.getLogger().removeHandler(handler)
        for logger, previous in saved:
            logger.setLevel(previous)
