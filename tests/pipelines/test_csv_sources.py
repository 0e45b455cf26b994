"""Finding inputs and cutting them into chunks: errors name the path; chunks hold whole records."""

from __future__ import annotations

import pytest
from conftest import HEADER, good_rows

from cluster.errors import InputError
from pipelines.csv_chunk import CsvOptions, parse_chunk
from pipelines.csv_sources import plan_input


def test_missing_path_names_it(tmp_path):
    with pytest.raises(InputError, match="no such file or folder: .*nope.csv"):
        plan_input(str(tmp_path / "nope.csv"), CsvOptions(), 1 << 20)


def test_glob_matching_nothing_names_it(tmp_path):
    with pytest.raises(InputError, match=r"no files match .*\*.csv"):
        plan_input(str(tmp_path / "*.csv"), CsvOptions(), 1 << 20)


def test_glob_and_folder_find_the_same_files(write_csv, tmp_path):
    write_csv("d/a.csv", good_rows(2))
    write_csv("d/b.csv", good_rows(2))
    write_csv("d/notes.txt", ["x"])
    by_glob = plan_input(str(tmp_path / "d" / "*.csv"), CsvOptions(), 1 << 20)
    by_folder = plan_input(str(tmp_path / "d"), CsvOptions(), 1 << 20)
    assert [f.path for f in by_glob.files] == [f.path for f in by_folder.files]
    assert len(by_glob.files) == 2


def test_bom_and_quoted_header_give_exact_names(write_csv):
    header = ",".join(f'"{n}"' for n in HEADER.split(","))
    path = write_csv("bom.csv", raw=b"\xef\xbb\xbf" + (header + "\n" + good_rows(1)[0] + "\n").encode())
    plan = plan_input(str(path), CsvOptions(), 1 << 20)
    assert plan.files[0].column_names[0] == "year"
    assert plan.chunks[0].first_line == 2


def test_header_that_misses_a_column_is_an_error_naming_file_and_column(write_csv):
    path = write_csv("bad.csv", good_rows(1), header=HEADER.replace(",distance", ""))
    with pytest.raises(InputError, match=r"bad.csv: header .*missing columns \['distance'\]"):
        plan_input(str(path), CsvOptions(), 1 << 20)


def test_empty_and_header_only_files_are_reported(write_csv, tmp_path):
    write_csv("d/empty.csv", raw=b"")
    write_csv("d/header.csv", [])
    plan = plan_input(str(tmp_path / "d"), CsvOptions(), 1 << 20)
    assert sorted(f.status for f in plan.files) == ["empty", "header_only"]
    assert plan.chunks == ()


def test_large_file_is_cut_at_record_boundaries_outside_quotes(write_csv):
    lines = good_rows(3000)
    lines[1500] = lines[1500].replace(",N14228,", ',"N1\n4,2""28",')
    path = write_csv("big.csv", lines)
    plan = plan_input(str(path), CsvOptions(), 1 << 16)
    assert len(plan.chunks) > 1
    data = path.read_bytes()
    rows, starts = 0, []
    for chunk in plan.chunks:
        parsed = parse_chunk(data[chunk.start:chunk.end], chunk, CsvOptions())
        assert parsed.rejects == []
        rows += parsed.table.num_rows
        starts.append(chunk.first_line)
        assert data[chunk.start - 1:chunk.start] == b"\n"
    assert rows == 3000
    assert starts[0] == 2 and starts == sorted(starts)


def test_blank_lines_before_the_header_are_skipped_and_counted(write_csv):
    path = write_csv("blank.csv", raw=("\n\n" + HEADER + "\n" + "\n".join(good_rows(3)) + "\n").encode())
    plan = plan_input(str(path), CsvOptions(), 1 << 20)
    assert plan.files[0].status == "ok" and plan.chunks[0].first_line == 4


def test_repeated_column_is_named(write_csv):
    path = write_csv("rep.csv", good_rows(1), header=HEADER.replace("time_hour", "year"))
    with pytest.raises(InputError, match=r"repeated columns \['year'\]"):
        plan_input(str(path), CsvOptions(), 1 << 20)
