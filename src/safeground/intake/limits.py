"""Reading untrusted files within limits: archives, JSON and CSV text.

Every file the intake reads may be hostile: a zip that expands a thousandfold, headers that lie
about sizes, JSON nested a hundred thousand levels deep, a CSV cell of a gigabyte. The readers
here refuse such a file as a whole with a coded problem (``FileProblem``) before it costs
memory or time, and never let a library exception through. The limits are settings
(``Settings.intake_*``, docs/intake.md "Limits").

- ``SafeZip``: the headers are checked when the archive is opened (member count, declared total
  size, declared compression ratio, the encryption flag, the compression method), and again
  while each member is streamed (headers can lie): reading stops as soon as the bytes read pass
  the declared size, the total or the ratio.
- ``load_json``: size, UTF-8, nesting depth (counted on the raw bytes before parsing), syntax.
- ``csv_rows``: rows of a CSV text, a cell over the size limit refused with its row number.
"""

from __future__ import annotations

import csv
import io
import json
import lzma
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from safeground.intake.errors import FileProblem
from safeground.settings import Settings

_CHUNK = 1 << 20
#: members smaller than this are never refused for their compression ratio (a CSV of one
#: repeated line compresses very well and is harmless)
_RATIO_FLOOR = 1 << 20
_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
_METHOD_NAMES = {0: "stored", 8: "deflate", 12: "bzip2", 14: "lzma"}


def _mib(n: int) -> str:
    return f"{n / (1 << 20):,.0f} MiB" if n >= 1 << 20 else f"{n:,} bytes"


class SafeZip:
    """A zip archive opened within the limits of ``settings``.

    Raises FileProblem on opening (FILE_UNREADABLE, ARCHIVE_TOO_MANY_MEMBERS,
    ARCHIVE_TOO_LARGE, ARCHIVE_RATIO, FILE_ENCRYPTED, ARCHIVE_METHOD) and on reading
    (ARCHIVE_CORRUPT and the size limits again, measured on the bytes actually read).
    """

    def __init__(self, path: Path, settings: Settings | None = None,
                 label: str | None = None) -> None:
        self.path = Path(path)
        self.settings = settings or Settings()
        self.label = label or self.path.name
        self.read_total = 0
        try:
            self.zf = zipfile.ZipFile(self.path)
            infos = self.zf.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError,
                struct.error, UnicodeDecodeError, NotImplementedError, IndexError,
                KeyError) as exc:
            raise FileProblem("FILE_UNREADABLE", self.label,
                              reason=f"not a readable zip archive ({str(exc)[:100]})") from exc
        try:
            self._check_headers(infos)
        except FileProblem:
            self.zf.close()
            raise
        # members with a name (an empty name is possible in a damaged archive), not folders
        self.infos = [i for i in infos if i.filename and not i.filename.endswith("/")]

    def _check_headers(self, infos: list[zipfile.ZipInfo]) -> None:
        s = self.settings
        if len(infos) > s.intake_max_members:
            raise FileProblem("ARCHIVE_TOO_MANY_MEMBERS", self.label, value=len(infos),
                              limit=s.intake_max_members)
        declared = sum(i.file_size for i in infos)
        if declared > s.intake_max_unpacked_bytes:
            raise FileProblem("ARCHIVE_TOO_LARGE", self.label, value=_mib(declared),
                              limit=_mib(s.intake_max_unpacked_bytes), how="its headers declare")
        for info in infos:
            if info.flag_bits & 0x1:
                raise FileProblem("FILE_ENCRYPTED", f"{self.label}:{_name(info)}")
            if info.compress_type not in _METHODS:
                raise FileProblem("ARCHIVE_METHOD", f"{self.label}:{_name(info)}",
                                  value=info.compress_type)
            self._check_ratio(info, info.file_size, "declared")

    def _check_ratio(self, info: zipfile.ZipInfo, size: int, how: str) -> None:
        limit = self.settings.intake_max_ratio
        if size >= _RATIO_FLOOR and size > limit * max(info.compress_size, 1):
            raise FileProblem("ARCHIVE_RATIO", f"{self.label}:{_name(info)}",
                              value=size / max(info.compress_size, 1), limit=limit, how=how)

    def __enter__(self) -> SafeZip:
        return self

    def __exit__(self, *exc: object) -> None:
        self.zf.close()

    def close(self) -> None:
        self.zf.close()

    def names(self) -> list[str]:
        return [i.filename for i in self.infos]

    def stream(self, info: zipfile.ZipInfo) -> Iterator[bytes]:
        """A member's bytes, chunk by chunk, within every limit."""
        where = f"{self.label}:{_name(info)}"
        limit = self.settings.intake_max_unpacked_bytes
        got = 0
        try:
            with self.zf.open(info) as fh:
                while chunk := fh.read(_CHUNK):
                    got += len(chunk)
                    self.read_total += len(chunk)
                    if got > info.file_size:
                        raise FileProblem("ARCHIVE_CORRUPT", where,
                                          reason=f"it holds more than the {info.file_size:,} "
                                                 "bytes its header declares")
                    if self.read_total > limit:
                        raise FileProblem("ARCHIVE_TOO_LARGE", self.label,
                                          value=f"more than {_mib(limit)}", limit=_mib(limit),
                                          how="reading it shows")
                    self._check_ratio(info, got, "read")
                    yield chunk
        except FileProblem:
            raise
        except (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError,
                RuntimeError, NotImplementedError, ValueError, struct.error, IndexError,
                KeyError) as exc:
            raise FileProblem("ARCHIVE_CORRUPT", where, reason=str(exc)[:120] or
                              type(exc).__name__) from exc

    def read(self, name: str | zipfile.ZipInfo) -> bytes:
        info = name if isinstance(name, zipfile.ZipInfo) else self.zf.getinfo(name)
        return b"".join(self.stream(info))

    def extract(self, dest: Path) -> list[Path]:
        """Every member into ``dest`` under its own base name (no folders, nothing outside
        ``dest``), streamed within the limits. Returns the files written."""
        out: list[Path] = []
        for info in self.infos:
            base = _SAFE.sub("_", Path(info.filename.replace("\\", "/")).name).lstrip(".")
            if not base:
                continue
            target = dest / base
            if target.exists():  # the same base name in two folders: keep the first
                continue
            with target.open("wb") as fh:
                for chunk in self.stream(info):
                    fh.write(chunk)
            out.append(target)
        return out


_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _name(info: zipfile.ZipInfo) -> str:
    return info.filename[:80]


# -------------------------------------------------------------------------------- JSON
def json_depth(data: bytes, chunk: int = 16 << 20) -> int:
    """The deepest nesting of ``[`` / ``{`` in a JSON text, brackets inside strings not
    counted; measured on the bytes (no parsing, no recursion), chunk by chunk."""
    depth = deepest = 0
    in_string = False
    slashes = 0  # backslashes that end the previous chunk
    for start in range(0, len(data), chunk):
        a = np.frombuffer(data, dtype=np.uint8, count=min(chunk, len(data) - start),
                          offset=start)
        n = len(a)
        quotes = np.flatnonzero(a == 34)
        bsl = np.flatnonzero(a == 92)
        if len(bsl) and len(quotes):
            # a quote is escaped when an odd number of backslashes runs up to it
            breaks = np.flatnonzero(np.diff(bsl) != 1) + 1
            run_start = np.zeros(len(bsl), dtype=np.int64)
            run_start[breaks] = breaks
            run_start = np.maximum.accumulate(run_start)
            k = np.searchsorted(bsl, quotes) - 1
            hit = (k >= 0) & (bsl[np.maximum(k, 0)] == quotes - 1)
            runs = np.where(hit, k - run_start[np.maximum(k, 0)] + 1, 0)
            runs += np.where(hit & (bsl[run_start[np.maximum(k, 0)]] == 0), slashes, 0)
            runs[quotes == 0] = slashes
            quotes = quotes[runs % 2 == 0]
        elif slashes % 2 and len(quotes) and quotes[0] == 0:
            quotes = quotes[1:]
        step = ((a == 91) | (a == 123)).astype(np.int8) - ((a == 93) | (a == 125))
        at = np.flatnonzero(step)
        if len(at):
            inside = (np.searchsorted(quotes, at) + in_string) % 2 == 1
            levels = np.cumsum(step[at][~inside], dtype=np.int64) + depth
            if len(levels):
                deepest = max(deepest, int(levels.max()))
                depth = int(levels[-1])
        in_string = bool((len(quotes) + in_string) % 2)
        if len(bsl) and bsl[-1] == n - 1:
            breaks = np.flatnonzero(np.diff(bsl) != 1)
            first = int(bsl[breaks[-1] + 1]) if len(breaks) else int(bsl[0])
            slashes = n - first + (slashes if first == 0 else 0)
        else:
            slashes = 0
    return deepest


def load_json(data: bytes, label: str, settings: Settings | None = None) -> Any:
    """A JSON document from untrusted bytes. Raises FileProblem (FILE_TOO_LARGE,
    FILE_ENCODING, JSON_TOO_DEEP, FILE_UNREADABLE)."""
    s = settings or Settings()
    if len(data) > s.intake_max_json_bytes:
        raise FileProblem("FILE_TOO_LARGE", label, value=_mib(len(data)),
                          limit=_mib(s.intake_max_json_bytes), what="a JSON file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileProblem("FILE_ENCODING", label, encoding="UTF-8",
                          reason=f"byte {exc.start}: {exc.reason}") from exc
    depth = json_depth(data)
    if depth > s.intake_max_json_depth:
        raise FileProblem("JSON_TOO_DEEP", label, value=depth, limit=s.intake_max_json_depth)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FileProblem("FILE_UNREADABLE", label,
                          reason=f"not JSON: {exc.msg} at line {exc.lineno}") from exc
    except RecursionError as exc:  # only if the depth count was fooled
        raise FileProblem("JSON_TOO_DEEP", label, value="too many",
                          limit=s.intake_max_json_depth) from exc
    except ValueError as exc:  # an integer of more than 4,300 digits
        raise FileProblem("FILE_UNREADABLE", label, reason=f"not JSON: {str(exc)[:100]}") \
            from exc


# --------------------------------------------------------------------------------- CSV
def csv_rows(text: str, label: str, settings: Settings | None = None, *,
             delimiter: str = ",", start: int = 1) -> Iterator[list[str]]:
    """Rows of a CSV text. Raises FileProblem naming the row: CELL_TOO_LARGE for a cell over
    ``intake_max_cell_chars``, FILE_UNREADABLE for any other CSV error."""
    s = settings or Settings()
    csv.field_size_limit(s.intake_max_cell_chars)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            where = f"{label} row {reader.line_num + start - 1}"
            if "field larger than field limit" in str(exc):
                raise FileProblem("CELL_TOO_LARGE", where,
                                  limit=f"{s.intake_max_cell_chars:,}") from exc
            raise FileProblem("FILE_UNREADABLE", where, reason=str(exc)[:120]) from exc
        yield row


__all__ = ["SafeZip", "csv_rows", "json_depth", "load_json"]
