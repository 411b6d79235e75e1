"""The slip sheet ``tally credentials mint`` writes, printed in Chromium on A4 at 100% (issue 17):
from the print layout's geometry, nothing overflows its slip or the page, the code is on one
line in its groups, and the PDF has one page per sheet page.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from tally.authority import new_poll_uid
from tally.credentials import Credential
from tally.slips import render_slips
from tests.conftest import need

SHOTS = Path("/tmp/shots")
# A4 at CSS's 96 px per inch.
A4 = {"width": 794, "height": 1123}

GEOMETRY = """() => {
  const px = (mm) => mm * 96 / 25.4;
  const problems = [];
  const inside = (inner, outer, what) => {
    const a = inner.getBoundingClientRect(), b = outer.getBoundingClientRect();
    if (a.width === 0 && a.height === 0) return;
    if (a.left < b.left - 0.5 || a.right > b.right + 0.5 || a.top < b.top - 0.5 ||
        a.bottom > b.bottom + 0.5)
      problems.push(`${what}: ${inner.className || inner.tagName} overflows`);
  };
  const slips = [...document.querySelectorAll(".slip")];
  slips.forEach((slip, k) => {
    for (const el of slip.querySelectorAll("*")) inside(el, slip, `slip ${k + 1}`);
    const code = slip.querySelector(".code");
    const range = document.createRange();
    range.selectNodeContents(code);
    const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
    if (lines.size !== 1) problems.push(`slip ${k + 1}: the code takes ${lines.size} lines`);
    if (code.scrollWidth > code.clientWidth + 1) problems.push(`slip ${k + 1}: the code is cut`);
    if (!/^[A-Z2-7]{4}(-[A-Z2-7]{1,4})+$/.test(code.textContent.trim()))
      problems.push(`slip ${k + 1}: the code is not in its groups`);
  });
  for (const page of document.querySelectorAll(".page")) {
    const r = page.getBoundingClientRect();
    if (r.height > px(277) + 0.5) problems.push(`a page is ${r.height} px, more than 277 mm`);
    if (r.width > px(190) + 0.5) problems.push(`a page is ${r.width} px, wider than 190 mm`);
    const header = page.querySelector("header");
    for (const el of header.querySelectorAll("*")) inside(el, header, "header");
  }
  return {problems, slips: slips.length, pages: document.querySelectorAll(".page").length};
}"""


def test_the_slip_sheet_fits_a4(browser: Any, tmp_path: Path) -> None:
    title = (
        "Phiếu biểu quyết đánh giá, xếp loại chất lượng các đồng chí Ủy viên Ban Thường vụ"
        " Tỉnh ủy năm 2026 (hội nghị lần thứ năm)"
    )
    html = render_slips(
        poll_uid=new_poll_uid(),
        title=title,
        booth_url="https://hoi-truong.lan/conferences/1/booth",
        slips=[Credential.generate() for _ in range(13)],
        reserve=[Credential.generate() for _ in range(3)],
        fingerprint="1ea8:f92b:ea45:e799:84a1:47ff:7f62:bc4f",
    )
    context = browser.new_context(viewport=A4)
    page = context.new_page()
    page.set_content(html)
    page.emulate_media(media="print")
    out = page.evaluate(GEOMETRY)
    assert out["slips"] == 16
    assert out["problems"] == [], out["problems"]
    pdf = tmp_path / "slips.pdf"
    page.pdf(path=str(pdf), format="A4", print_background=True, prefer_css_page_size=True)
    SHOTS.mkdir(exist_ok=True)
    shutil.copy(pdf, SHOTS / "slips-a4.pdf")
    context.close()
    need(
        shutil.which("pdfinfo") is not None, "pdfinfo not installed (apt-get install poppler-utils)"
    )
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    pages = int(re.search(r"Pages:\s+(\d+)", info.stdout).group(1))  # type: ignore[union-attr]
    assert pages == out["pages"] == 3  # 8 slips a page (13 = 8 + 5); the reserve on its own page
