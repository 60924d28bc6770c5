"""A participant in a real browser: headless Chromium (Debian's) driven by Playwright."""

import re

import pytest
from playwright.sync_api import expect

from tests.support.containers import ARTIFACTS, ROOT
from tests.support.course import JA_HANDSON, load, text

pytestmark = [pytest.mark.docker, pytest.mark.browser]

WELCOME = sorted(p.name for p in (ROOT / "handson").iterdir() if p.is_dir())[0]


def test_participant_logs_in_opens_welcome_and_runs_a_cell(start_lab, page):
    """Can a participant log in with the password, see the notebooks, open 00-welcome and run a cell?"""
    lab = start_lab(token=None, env={"PASSWORD": "foobar-browser"})
    page.goto(lab.url + "/login")
    page.fill("input[type=password]", "foobar-browser")
    page.keyboard.press("Enter")

    browser_list = page.locator(".jp-DirListing-content")
    expect(browser_list.get_by_text(WELCOME, exact=True)).to_be_visible(timeout=60_000)
    browser_list.get_by_text(WELCOME, exact=True).dblclick()
    browser_list.get_by_text(f"{WELCOME}.ipynb").dblclick()

    cell = page.locator(".jp-Notebook .jp-CodeCell").first
    expect(cell).to_be_visible(timeout=60_000)
    # Run only once the kernel is up: before that, JupyterLab answers Shift+Enter with "Select Kernel".
    expect(page.get_by_text(re.compile(r"Python 3 \(ipykernel\) \| Idle"))).to_be_visible(timeout=90_000)
    cell.locator(".jp-InputPrompt").click()  # select it in command mode
    page.keyboard.press("Shift+Enter")
    executed = page.locator(".jp-InputPrompt", has_text="[1]")
    expect(executed).to_have_count(1, timeout=90_000)
    executed.scroll_into_view_if_needed()
    expect(page.get_by_text("Would you like to get notified")).to_have_count(0)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "browser-welcome-cell-ran.png")


def test_japanese_participant_sees_japanese_menus_and_notebooks(start_lab, page):
    """With MATCHBOX_LANG=ja: log in, JupyterLab's menus in Japanese, and 01 opens in Japanese."""
    lab = start_lab(token=None, env={"PASSWORD": "foobar-browser-ja", "MATCHBOX_LANG": "ja"})
    page.goto(lab.url + "/login")
    page.fill("input[type=password]", "foobar-browser-ja")
    page.keyboard.press("Enter")

    menus = page.locator("#jp-menu-panel")
    expect(menus.get_by_text("ファイル", exact=True)).to_be_visible(timeout=60_000)
    expect(menus.get_by_text("編集", exact=True)).to_be_visible()
    expect(menus.get_by_text("File", exact=True)).to_have_count(0)
    browser_list = page.locator(".jp-DirListing-content")
    expect(browser_list.get_by_text("01-matchbox", exact=True)).to_be_visible(timeout=60_000)
    browser_list.get_by_text("01-matchbox", exact=True).dblclick()
    browser_list.get_by_text("01-matchbox.ipynb").dblclick()
    # the first cell's heading (JupyterLab renders only the cells near the view)
    first_cell = load(JA_HANDSON / "01-matchbox" / "01-matchbox.ipynb")["cells"][0]
    title = text(first_cell).splitlines()[0].lstrip("# ").strip()
    notebook = page.locator(".jp-Notebook")
    expect(notebook.get_by_role("heading", name=title)).to_be_visible(timeout=60_000)
    # the kernel up (and the status bar in Japanese) before the lab is stopped under it
    expect(page.get_by_text(re.compile(r"Python 3 \(ipykernel\) \| アイドル"))).to_be_visible(timeout=90_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "browser-japanese-notebook.png")
