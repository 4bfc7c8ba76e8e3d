"""Contact lists: CSV import through the CLI and the library, bad rows reported by line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.broadcast.contacts import Contact, RowProblem, language_code, read_contacts
from gateway.cli import main
from gateway.exceptions import ContactsFileError

GOOD_AND_BAD = (
    "\ufeffPhone,Name,Language,Area,Account,Building\n"  # a BOM and capitals, as Excel writes them
    "09121234567,Ali,fa,north,48213,A\n"
    "+447700900123,John,English,north,5000,B\n"
    "12,Too short,,north,,\n"
    "09129999999,Sara,klingon,north,,\n"
    "۰۹۳۵۱۱۱۲۲۳۳,Reza,فارسی,south,77031,\n"  # Persian digits, the language in Persian
    "09121112222,Only,three\n"
    "\n"
    "0912 111 3333,Spaced,,north,,C\n"
)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_good_rows_go_in_and_bad_rows_are_reported_by_line(tmp_path: Path) -> None:
    csv_file = tmp_path / "customers.csv"
    csv_file.write_text(GOOD_AND_BAD, encoding="utf-8")
    db = str(tmp_path / "gw.db")
    code, out, err = run("contacts", "import", str(csv_file), "--group", "north", "--db", db)
    assert code == 0, err
    assert "imported 4 row(s) into group north: 4 new, 0 updated; 3 skipped" in out
    assert f"{csv_file}:4: skipped: phone '12' is not a possible phone number in IR" in err
    assert f"{csv_file}:5: skipped: language 'klingon' is not fa, ar or en" in err
    assert f"{csv_file}:7: skipped: 3 fields, the header has 6" in err
    rows = json.loads(run("contacts", "list", "--json", "--db", db)[1])
    by_phone = {r["phone"]: r for r in rows}
    assert set(by_phone) == {"+989121234567", "+447700900123", "+989351112233", "+989121113333"}
    assert by_phone["+989351112233"]["language"] == "fa" and by_phone["+447700900123"]["language"] == "en"
    assert by_phone["+989121234567"]["attrs"] == {"building": "A"} and by_phone["+989121234567"]["account"] == "48213"
    assert run("contacts", "count", "--group", "north", "--db", db)[1].strip() == "4"
    assert run("contacts", "count", "--area", "south", "--db", db)[1].strip() == "1"
    assert json.loads(run("groups", "list", "--json", "--db", db)[1]) == [{"group": "north", "contacts": 4}]


def test_importing_again_updates_and_an_empty_cell_keeps_what_was_known(tmp_path: Path) -> None:
    db = str(tmp_path / "gw.db")
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text("phone;name;area\n09121234567;Ali;north\n", encoding="utf-8")  # semicolons, as some locales
    second.write_text("phone,name,area,floor\n+989121234567,Ali Rezaei,,3\n", encoding="utf-8")
    assert "1 new" in run("contacts", "import", str(first), "--db", db)[1]
    assert "0 new, 1 updated" in run("contacts", "import", str(second), "--group", "vip", "--db", db)[1]
    [row] = json.loads(run("contacts", "list", "--json", "--db", db)[1])
    assert (row["name"], row["area"], row["attrs"]) == ("Ali Rezaei", "north", {"floor": "3"})


def test_a_file_that_is_not_utf8_is_refused_before_anything_is_imported(tmp_path: Path) -> None:
    bad = tmp_path / "excel.csv"
    bad.write_bytes("phone,name\n09121234567,علي\n".encode("cp1256"))  # Arabic Windows code page
    code, out, err = run("contacts", "import", str(bad), "--db", str(tmp_path / "gw.db"))
    assert code == 1 and "not UTF-8" in out + err and "iconv" in out + err
    assert not (tmp_path / "gw.db").exists()  # refused before the database was even opened


def test_a_file_without_a_phone_column_says_which_columns_it_has(tmp_path: Path) -> None:
    bad = tmp_path / "x.csv"
    bad.write_text("mobile,name\n09121234567,Ali\n", encoding="utf-8")
    code, out, err = run("contacts", "import", str(bad), "--db", str(tmp_path / "gw.db"))
    assert code == 1 and "no 'phone' column" in out + err and "mobile, name" in out + err


def test_more_bad_rows_than_shown_are_all_written_with_errors(tmp_path: Path) -> None:
    many = tmp_path / "many.csv"
    many.write_text("phone\n" + "".join(f"x{i}\n" for i in range(80)) + "09121234567\n", encoding="utf-8")
    errors = tmp_path / "errors.csv"
    code, out, err = run("contacts", "import", str(many), "--errors", str(errors), "--db", str(tmp_path / "gw.db"))
    assert code == 0 and "imported 1 row(s)" in out and f"... and 30 more skipped row(s) (all in {errors})" in err
    lines = errors.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "line,problem" and len(lines) == 81 and lines[-1].startswith("81,")


@pytest.mark.parametrize(("given_", "code"), [("FA", "fa"), ("Persian", "fa"), ("عربي", "ar"), ("english", "en")])
def test_language_names(given_: str, code: str) -> None:
    assert language_code(given_) == code


@given(st.text(max_size=400))
@settings(max_examples=300)
def test_reading_any_text_yields_contacts_or_problems_or_a_file_error(text: str) -> None:
    try:
        items = list(read_contacts(("phone,name\n" + text).splitlines(keepends=True), "IR"))
    except ContactsFileError:
        return
    assert all(isinstance(i, Contact | RowProblem) for i in items)
    assert all(i.phone.startswith("+") for i in items if isinstance(i, Contact))


def test_a_long_persian_file_is_read_whole(tmp_path: Path) -> None:
    """Multi-byte letters straddle every buffer edge of a long file; none is taken for bad UTF-8."""
    big = tmp_path / "big.csv"
    big.write_text("phone,name\n" + "".join(f"0912{i:07d},علی رضایی {i}\n" for i in range(5000)), encoding="utf-8")
    code, out, err = run("contacts", "import", str(big), "--db", str(tmp_path / "gw.db"))
    assert code == 0 and "imported 5000 row(s): 5000 new" in out, err


def test_spreadsheet_habits_and_an_unclosed_quote(tmp_path: Path) -> None:
    """Excel's sep= line and trailing empty columns are understood; a quote left open is
    reported with the lines it swallowed, and the rows after it still go in."""
    sheet = tmp_path / "excel.csv"
    sheet.write_text(
        "sep=;\nphone;name;;\n"
        '09121234567;"Reza;;\n'  # the quote is never closed: it runs to the next quote
        '09121234568;Sara";;\n'
        "09121234569;Mina;;\n"
        "02188776655;Office;;\n",  # a landline cannot get SMS
        encoding="utf-8",
    )
    code, out, err = run("contacts", "import", str(sheet), "--db", str(tmp_path / "gw.db"))
    assert code == 0, err
    assert f"{sheet}:3: skipped: a quote opened on line 3 is not closed: lines 3-4 became one row" in err
    assert f"{sheet}:6: skipped: phone '02188776655' is a landline number" in err
    assert "imported 1 row(s)" in out
    [mina] = json.loads(run("contacts", "list", "--json", "--db", str(tmp_path / "gw.db"))[1])
    assert (mina["phone"], mina["name"]) == ("+989121234569", "Mina")
