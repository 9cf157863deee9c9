"""Render Metaflow cards offline with headless Chromium and save PNG screenshots.

Proves a card is a self-contained HTML file that renders with the network off: Chromium runs
headless with every proxy pointed at a dead address, screenshots the card, and the PNG is
checked for non-blank content (more than a handful of distinct colours).

Needs /usr/bin/chromium (Debian: `sudo apt-get install -y chromium`; or pass --chromium PATH).
Without it the script says so and exits 0; the test using it skips.

Run:  .venv/bin/python bench/card_render.py CARD.html [CARD2.html ...] [--out DIR]
      .venv/bin/python bench/card_render.py --pathspec CandidateRun/123 [--out DIR]
      (--pathspec finds the run's cards under LOOM_HOME, like `loom card`)
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")


def find_chromium(explicit: str | None = None) -> str | None:
    for path in ((explicit,) if explicit else CANDIDATES):
        if path and Path(path).exists():
            return path
    return shutil.which("chromium") if not explicit else None


def screenshot(card: Path, png: Path, chromium: str, *, width: int = 1200, height: int = 1600,
               timeout: float = 90.0) -> Path:
    """Screenshot `card` into `png` with the network unreachable; returns the PNG path."""
    png.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="loom-chromium-") as profile:
        argv = [
            chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--hide-scrollbars", f"--user-data-dir={profile}",
            "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
            "--virtual-time-budget=5000", f"--window-size={width},{height}",
            f"--screenshot={png}", card.resolve().as_uri(),
        ]
        subprocess.run(argv, capture_output=True, timeout=timeout, check=False)
    if not png.is_file() or png.stat().st_size == 0:
        raise RuntimeError(f"chromium wrote no screenshot for {card}")
    return png


def distinct_colours(png: Path, sample: int = 20000) -> int:
    """How many distinct colours a PNG holds (a blank page has 1-2). Pure stdlib decoder."""
    import struct
    import zlib

    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width, height, ctype = 8, b"", 0, 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, ctype = struct.unpack(">IIBB", chunk[:10])
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    bpp = {2: 3, 6: 4}.get(ctype, 4)
    raw = zlib.decompress(idat)
    stride = width * bpp
    prev = bytearray(stride)
    colours: set[bytes] = set()
    step = max(1, height // 200)
    for y in range(height):
        filt, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
            if filt == 1:
                line[i] = (line[i] + a) & 255
            elif filt == 2:
                line[i] = (line[i] + b) & 255
            elif filt == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif filt == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        prev = line
        if y % step == 0:
            for x in range(0, width, max(1, width // 100)):
                colours.add(bytes(line[x * bpp:x * bpp + 3]))
                if len(colours) >= sample:
                    return len(colours)
    return len(colours)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cards", nargs="*", type=Path, help="card HTML files")
    parser.add_argument("--pathspec", help="a run whose cards to render (embedded datastore under LOOM_HOME)")
    parser.add_argument("--out", type=Path, default=Path("bench_out/cards"), help="where PNGs go")
    parser.add_argument("--chromium", help="path to a Chromium binary")
    args = parser.parse_args(argv)
    chromium = find_chromium(args.chromium)
    if chromium is None:
        print("chromium not found (Debian: apt-get install -y chromium); nothing rendered")
        return 0
    cards = list(args.cards)
    if args.pathspec:
        from loom.adapters.shared.metaflow_runtime import card_files
        from loom.application.config import LoomConfig

        cards += card_files(LoomConfig.load(), args.pathspec)
    print(f"{'card':60} {'seconds':>8} {'colours':>8}  png")
    for card in cards:
        t0 = time.monotonic()
        png = screenshot(card, args.out / (card.stem + ".png"), chromium)
        print(f"{card.name[:60]:60} {time.monotonic() - t0:8.2f} {distinct_colours(png):8d}  {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
