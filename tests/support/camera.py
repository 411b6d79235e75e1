"""A fake camera for Chromium: a QR code as a Y4M video file.

Chromium plays the file as its camera with ``--use-fake-device-for-media-stream
--use-file-for-fake-video-capture=PATH`` (and the camera permission granted: the context's
``permissions=["camera"]`` or ``--use-fake-ui-for-media-stream``), looping it for as long as the
page reads. The frames are drawn from qrcode's module matrix directly, so no imaging library is
needed: black modules on white, with qrcode's quiet zone of four modules, centred.

Y4M (YUV4MPEG2) is a text header line, then per frame ``FRAME\\n`` and the raw planes: Y at full
size, then U and V at half width and height (4:2:0). White and black are the limited-range luma
values 235 and 16; chroma 128 is grey.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import qrcode

WHITE, BLACK, GREY = 235, 16, 128
FPS = 10


def qr_matrix(text: str) -> list[list[bool]]:
    """qrcode's modules of ``text`` (its most compact mode, level M), quiet zone included."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    qr.add_data(text)
    qr.make(fit=True)
    return [[bool(m) for m in row] for row in qr.get_matrix()]


def luma(matrix: Sequence[Sequence[bool]], size: tuple[int, int]) -> bytes:
    """The Y plane of one frame: the matrix, as large as fits in 80 % of the shorter side."""
    width, height = size
    n = len(matrix)
    scale = int(min(width, height) * 0.8) // n
    if scale < 2:
        raise ValueError(f"a {n}-module QR code does not fit a {width}x{height} frame")
    left, top = (width - n * scale) // 2, (height - n * scale) // 2
    blank = bytes([WHITE]) * width
    rows = [blank] * height
    for y, modules in enumerate(matrix):
        line = b"".join(bytes([BLACK if dark else WHITE]) * scale for dark in modules)
        row = blank[:left] + line + blank[left + len(line) :]
        for dy in range(scale):
            rows[top + y * scale + dy] = row
    return b"".join(rows)


def write_y4m_sequence(
    path: Path, texts: Sequence[str], *, seconds: float = 1.0, size: tuple[int, int] = (640, 480)
) -> Path:
    """A video showing the QR code of each text in turn, each for ``seconds``."""
    width, height = size
    chroma = bytes([GREY]) * (((width + 1) // 2) * ((height + 1) // 2) * 2)
    frames = max(1, round(seconds * FPS))
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{FPS}:1 Ip A1:1 C420jpeg\n".encode("ascii"))
        for text in texts:
            frame = b"FRAME\n" + luma(qr_matrix(text), size) + chroma
            for _ in range(frames):
                out.write(frame)
    return path


def write_y4m(
    path: Path, text: str, *, seconds: float = 1.0, size: tuple[int, int] = (640, 480)
) -> Path:
    """A video of the QR code of ``text`` for ``seconds`` (Chromium loops it)."""
    return write_y4m_sequence(path, [text], seconds=seconds, size=size)


def fake_camera_args(video: Path) -> list[str]:
    """Chromium's switches that make ``video`` its only camera."""
    return [
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ]
