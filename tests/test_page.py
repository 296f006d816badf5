"""The web page in headless Chromium, against the real server: the browser's canonical hash
(Web Crypto) must equal `opencorpus hash` on tricky texts, and the answer must be shown.

Needs Debian's `chromium` and `chromium-driver` (`make test` installs them when run as root).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from opencorpus.cli import main

from conftest import LOOKUP_DOCS, build_lookup_snapshot, chromium, lookup_hash_of, needs_chromium, serve_lookup

pytestmark = needs_chromium
TRICKY = {
    "bom": "\ufeffhello".encode("utf-8"),
    "two-boms": "\ufeff\ufeffhello".encode("utf-8"),
    "crlf-and-cr": b"line one\r\nline two\rline three\r\n",
    "combining": "Cafe\u0301 \u1100\u1161\u11a8 A\u030a".encode("utf-8"),  # NFC composes all three
    "trailing-ascii-whitespace": b" \t\x0b\x0c text with spaces \t \r\n\x0b\x0c",
    "nbsp-is-not-stripped": "\u00a0kept\u00a0".encode("utf-8"),
    "astral-and-empty-lines": "\n\n\U0001F600 emoji\n\n".encode("utf-8"),
    "empty": b"",
}


@pytest.fixture(scope="module")
def base_url(lookup_snapshot):
    with serve_lookup(str(lookup_snapshot / "v1")) as url:
        yield url


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with chromium(tmp_path_factory.mktemp("chromium-profile"), ["--window-size=1100,900"]) as driver:
        yield driver


def wait_for_answer(driver) -> tuple[str, str, str]:
    """(state, hash shown, status line) once the page has finished."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 15).until(
        lambda d: d.find_element(By.ID, "result").get_attribute("data-state") in ("done", "error"))
    return (driver.find_element(By.ID, "result").get_attribute("data-state"),
            driver.find_element(By.ID, "hash").text, driver.find_element(By.ID, "status").text)


def upload(driver, base_url: str, path: Path) -> tuple[str, str, str]:
    from selenium.webdriver.common.by import By

    driver.get(base_url + "/")
    driver.find_element(By.ID, "file").send_keys(str(path))
    return wait_for_answer(driver)


def cli_hash(capsys, path: Path) -> str:
    assert main(["hash", str(path)]) == 0
    return capsys.readouterr().out.split()[0]


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_page_and_cli_give_the_same_hash(browser, base_url, tmp_path, capsys, name):
    path = tmp_path / f"{name}.txt"
    path.write_bytes(TRICKY[name])
    state, shown, status = upload(browser, base_url, path)
    assert state == "done", status
    assert shown == cli_hash(capsys, path)
    assert status.startswith("Not in the corpus")


def test_page_finds_a_document_from_its_file(browser, base_url, tmp_path):
    from selenium.webdriver.common.by import By

    path = tmp_path / "c.txt"
    path.write_bytes(LOOKUP_DOCS[2]["text"].encode("utf-8"))  # BOM, CRLF and a combining accent
    state, shown, status = upload(browser, base_url, path)
    assert (state, shown) == ("done", lookup_hash_of("c"))
    assert status == "Found: 1 match. License: CC-BY-4.0."
    assert "web/c" in browser.find_element(By.ID, "matches").text


def test_page_pasted_text_shows_survivor_of_a_removed_copy(browser, base_url):
    from selenium.webdriver.common.by import By

    browser.get(base_url + "/")
    text = browser.find_element(By.ID, "text")
    browser.execute_script("arguments[0].value = arguments[1];", text, LOOKUP_DOCS[1]["text"])
    browser.find_element(By.ID, "lookup").click()
    state, shown, status = wait_for_answer(browser)
    assert (state, shown) == ("done", lookup_hash_of("a"))
    assert status == "Found: 2 matches. License: MIT."
    matches = browser.find_element(By.ID, "matches").text
    assert "duplicate of\nweb/a" in matches and "web/b (dedup: exact-duplicate)" in matches


def test_page_rejects_invalid_utf8_like_the_cli(browser, base_url, tmp_path, capsys):
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"caf\xe9")
    state, shown, status = upload(browser, base_url, path)
    assert (state, shown) == ("error", "—")
    assert "not valid UTF-8" in status
    assert main(["hash", str(path)]) == 1


def test_page_says_where_a_taken_down_document_went(browser, tmp_path_factory, tmp_path):
    corpus = build_lookup_snapshot(tmp_path_factory.mktemp("page-takedown"))
    assert main(["takedown", "--snapshot", str(corpus), "--hash", lookup_hash_of("c"), "--reason", "asked by the author"]) == 0
    path = tmp_path / "c.txt"
    path.write_bytes(LOOKUP_DOCS[2]["text"].encode("utf-8"))
    with serve_lookup(str(corpus / "v2")) as url:
        state, shown, status = upload(browser, url, path)
    assert (state, shown) == ("done", lookup_hash_of("c"))
    assert status.startswith("Not in the corpus: taken down in v2 (asked by the author; request ")
    assert status.endswith("Older versions that still hold it: lookup/v1.")  # labels as the server names its snapshot
