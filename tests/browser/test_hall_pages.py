"""The hall's pages in Chromium at the sizes they are used at (issue 17): the projector summary
of a counted poll on one 1920 x 1080 screen, and the board, the record and the results on a
portrait (800 x 1280) and a landscape (1280 x 800) tablet: no horizontal overflow, and hex
values wrapped only between their groups of four. Screenshots go to /tmp/shots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.service.test_public import finish

from .conftest import Served

SHOTS = Path("/tmp/shots")
OVERFLOW = """() => {
  const problems = [];
  if (document.documentElement.scrollWidth > window.innerWidth + 1)
    problems.push(`page ${document.documentElement.scrollWidth} px wide`);
  for (const g of document.querySelectorAll(".hash .g")) {
    const range = document.createRange();
    range.selectNodeContents(g);
    const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
    if (tops.size > 1) problems.push(`a group wraps: ${g.textContent}`);
  }
  return problems;
}"""


def test_the_projector_summary_fits_one_screen(
    browser: Any, served: Served, tmp_path: Path
) -> None:
    finish(served.poll, tmp_path / "out")
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="vi-VN")
    page = context.new_page()
    page.goto(served.url("/polls/1/results/screen"))
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "results-screen-1920x1080.png"))
    assert page.evaluate(OVERFLOW) == []
    bottom = page.evaluate(
        "() => document.getElementById('rule-line').getBoundingClientRect().bottom"
    )
    assert bottom <= 1080, bottom  # the table and the rule's line on one screen
    for size, name in (((800, 1280), "800x1280"), ((1280, 800), "1280x800")):
        page.set_viewport_size({"width": size[0], "height": size[1]})
        for path, label in (
            ("/polls/1/results/screen", "results-screen"),
            ("/polls/1/board", "board"),
            ("/polls/1/record", "record"),
            ("/polls/1/results", "results"),
        ):
            page.goto(served.url(path))
            page.screenshot(path=str(SHOTS / f"{label}-{name}.png"), full_page=True)
            assert page.evaluate(OVERFLOW) == [], (path, name)
    context.close()


PRINT_GEOMETRY = """() => {
  const px = (mm) => mm * 96 / 25.4;
  const width = px(190);  // A4 less the 10 mm margins of the print stylesheet
  const problems = [];
  for (const el of document.querySelectorAll("main *")) {
    const r = el.getBoundingClientRect();
    if (r.width > width + 1)
      problems.push(`${el.tagName}.${el.className} is ${Math.round(r.width)} px`);
  }
  return problems;
}"""


def test_the_record_prints_inside_the_a4_margins(
    browser: Any, served: Served, tmp_path: Path
) -> None:
    """The record's print stylesheet: printed in Chromium on A4, nothing is wider than the page
    inside its margins; the PDF is kept in /tmp/shots to look at."""
    finish(served.poll, tmp_path / "out")
    context = browser.new_context(viewport={"width": 718, "height": 1047})  # 190 x 277 mm
    page = context.new_page()
    page.goto(served.url("/polls/1/record"))
    page.emulate_media(media="print")
    assert page.evaluate(PRINT_GEOMETRY) == []
    SHOTS.mkdir(exist_ok=True)
    page.pdf(path=str(SHOTS / "record-a4.pdf"), format="A4", print_background=True)
    context.close()
