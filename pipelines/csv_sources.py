"""Find the CSV files of a source (file, folder or glob; local or any pyarrow filesystem URI),
check their headers, and cut them into byte-range chunks that each hold whole records.

Runs on the driver and reads only headers, except for files larger than one chunk, which are
scanned once for record boundaries (a newline outside quotes) and line counts.
"""

from __future__ import annotations

import csv
import fnmatch
import os
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.fs as pafs

from cluster.errors import InputError
from pipelines.csv_chunk import ChunkRef, CsvOptions
from pipelines.flights_schema import check_header

_BOM = b"\xef\xbb\xbf"
_HEADER_LIMIT = 1 << 20
_SCAN_PIECE = 16 << 20
_GLOB_CHARS = "*?["
_MIN_TASKS = 4  # cut a small input into at least this many chunks, so every core gets work
_MIN_CHUNK = 4 << 20


@dataclass(frozen=True)
class SourceFile:
    """One input file: where it is, how big, and whether it holds data rows."""

    path: str
    size: int
    mtime_ns: int | None
    status: str  # "ok", "empty" (zero bytes) or "header_only"
    column_names: tuple[str, ...] = ()
    data_start: int = 0
    first_data_line: int = 2  # line number of the first byte after the header


@dataclass(frozen=True)
class InputPlan:
    """The resolved files of a source and the chunks that cover their data rows."""

    source: str
    filesystem: pafs.FileSystem
    files: tuple[SourceFile, ...]
    chunks: tuple[ChunkRef, ...]

    @property
    def bytes_in(self) -> int:
        return sum(f.size for f in self.files)


def plan_input(source: str, opts: CsvOptions, chunk_bytes: int) -> InputPlan:
    """Resolve `source`, read each header and cut the data into chunks of at most `chunk_bytes`
    (smaller when the whole input is small, so that it still spreads over several tasks)."""
    filesystem, paths = resolve_paths(source)
    try:
        files = tuple(_inspect(filesystem, path, opts) for path in paths)
    except (OSError, pa.ArrowException) as e:
        raise InputError(f"cannot read {source}: {e}") from e
    data_bytes = sum(f.size - f.data_start for f in files if f.status == "ok")
    chunk_bytes = min(chunk_bytes, max(_MIN_CHUNK, -(-data_bytes // _MIN_TASKS)))
    chunks: list[ChunkRef] = []
    for index, info in enumerate(files):
        if info.status == "ok":
            chunks += _chunks_of(filesystem, info, index, len(chunks), chunk_bytes)
    return InputPlan(source, filesystem, files, tuple(chunks))


def resolve_paths(source: str) -> tuple[pafs.FileSystem, list[str]]:
    """The sorted CSV file paths a file, folder or glob names; InputError when there are none."""
    try:
        return _resolve_paths(source)
    except (OSError, pa.ArrowException) as e:
        raise InputError(f"cannot read {source}: {e}") from e


def _resolve_paths(source: str) -> tuple[pafs.FileSystem, list[str]]:
    if "://" in source:
        filesystem, path = pafs.FileSystem.from_uri(source)
        prefix = source[: len(source) - len(path)] if source.endswith(path) else ""
    else:
        filesystem, path, prefix = pafs.LocalFileSystem(), os.path.abspath(os.path.expanduser(source)), ""
    if any(ch in path for ch in _GLOB_CHARS):
        found = _glob(filesystem, path)
        if not found:
            raise InputError(f"no files match {source}")
        return filesystem, [prefix + p for p in found] if prefix else found
    info = filesystem.get_file_info(path)
    if info.type == pafs.FileType.NotFound:
        raise InputError(f"no such file or folder: {source}")
    if info.type == pafs.FileType.Directory:
        found = _csv_files_in(filesystem, path)
        if not found:
            raise InputError(f"no .csv files in folder {source}")
        return filesystem, [prefix + p for p in found] if prefix else found
    return filesystem, [source if prefix else path]


def _glob(filesystem: pafs.FileSystem, pattern: str) -> list[str]:
    base = pattern[: min(pattern.index(c) for c in _GLOB_CHARS if c in pattern)]
    base = base.rsplit("/", 1)[0] or "/"
    if filesystem.get_file_info(base).type != pafs.FileType.Directory:
        return []
    selector = pafs.FileSelector(base, recursive="**" in pattern or pattern.count("/") > base.count("/") + 1)
    return sorted(i.path for i in filesystem.get_file_info(selector)
                  if i.type == pafs.FileType.File and fnmatch.fnmatchcase(i.path, pattern))


def _csv_files_in(filesystem: pafs.FileSystem, folder: str) -> list[str]:
    infos = filesystem.get_file_info(pafs.FileSelector(folder, recursive=False))
    return sorted(i.path for i in infos if i.type == pafs.FileType.File
                  and i.base_name.lower().endswith(".csv") and not i.base_name.startswith((".", "_")))


def _inspect(filesystem: pafs.FileSystem, path: str, opts: CsvOptions) -> SourceFile:
    """Size, modification time and header of one file; InputError on a header that does not fit."""
    fs_path = _fs_path(filesystem, path)
    info = filesystem.get_file_info(fs_path)
    if info.size == 0:
        return SourceFile(path, 0, info.mtime_ns, "empty")
    with filesystem.open_input_file(fs_path) as f:
        head = f.read(min(info.size, _HEADER_LIMIT))
    skip = len(_BOM) if head.startswith(_BOM) else 0
    header_line = 1
    while True:  # blank lines before the header are skipped, and counted
        end = head.find(b"\n", skip)
        if end < 0 or head[skip:end].strip():
            break
        skip, header_line = end + 1, header_line + 1
    if end < 0 and info.size > _HEADER_LIMIT:
        raise InputError(f"{path}: no end of header line in the first {_HEADER_LIMIT} bytes")
    header_bytes = head[skip: end if end >= 0 else len(head)].rstrip(b"\r")
    if not header_bytes.strip():
        return SourceFile(path, info.size, info.mtime_ns, "empty")
    names = _parse_header(header_bytes, path, opts)
    data_start = end + 1 if end >= 0 else info.size
    rest_blank = data_start >= info.size or not head[data_start:].strip() and info.size <= _HEADER_LIMIT
    status = "header_only" if rest_blank else "ok"
    return SourceFile(path, info.size, info.mtime_ns, status, names, data_start, header_line + 1)


def _parse_header(header: bytes, path: str, opts: CsvOptions) -> tuple[str, ...]:
    try:
        text = header.decode(opts.encoding)
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: header is not valid {opts.encoding} at byte {e.start + 1}") from e
    names = tuple(next(csv.reader([text], delimiter=opts.delimiter)))
    missing, unexpected = check_header(list(names))
    if missing or unexpected or len(set(names)) != len(names):
        problems = []
        if missing:
            problems.append(f"missing columns {missing}")
        if unexpected:
            problems.append(f"unexpected columns {unexpected}")
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            problems.append(f"repeated columns {repeated}")
        raise InputError(f"{path}: header does not match the flights schema: {'; '.join(problems)}")
    return names


def _fs_path(filesystem: pafs.FileSystem, path: str) -> str:
    return pafs.FileSystem.from_uri(path)[1] if "://" in path else path


def _chunks_of(filesystem: pafs.FileSystem, info: SourceFile, file_index: int,
               first_index: int, chunk_bytes: int) -> list[ChunkRef]:
    """Chunks covering the data rows of one file; large files are cut at record boundaries."""
    bounds = [(info.data_start, info.first_data_line)]
    if info.size - info.data_start > chunk_bytes:
        bounds = _record_boundaries(filesystem, info, chunk_bytes)
    ends = [start for start, _ in bounds[1:]] + [info.size]
    return [ChunkRef(info.path, file_index, first_index + i, start, end, line, info.column_names)
            for i, ((start, line), end) in enumerate(zip(bounds, ends, strict=True))]


def _record_boundaries(filesystem: pafs.FileSystem, info: SourceFile,
                       chunk_bytes: int) -> list[tuple[int, int]]:
    """(byte offset, line number) of each chunk start: a newline with an even count of quotes before it."""
    bounds = [(info.data_start, info.first_data_line)]
    pos, lines, quotes = info.data_start, info.first_data_line - 1, 0
    target = info.data_start + chunk_bytes
    with filesystem.open_input_file(_fs_path(filesystem, info.path)) as f:
        f.seek(info.data_start)
        while piece := f.read(_SCAN_PIECE):
            while target < pos + len(piece):
                cut = _boundary_in(piece, max(target - pos, 0), quotes)
                if cut < 0:
                    target = pos + len(piece)
                    break
                bounds.append((pos + cut, lines + piece.count(b"\n", 0, cut) + 1))
                target = pos + cut + chunk_bytes
            quotes += piece.count(b'"')
            lines += piece.count(b"\n")
            pos += len(piece)
    return [b for b in bounds if b[0] < info.size]


def _boundary_in(piece: bytes, offset: int, quotes_before: int) -> int:
    """Offset just past the first newline at or after `offset` that is outside quotes, or -1."""
    newline = piece.find(b"\n", offset)
    while newline >= 0:
        if (quotes_before + piece.count(b'"', 0, newline)) % 2 == 0:
            return newline + 1
        newline = piece.find(b"\n", newline + 1)
    return -1
