"""Checks on a rendered report shared by the report unit test and the end-to-end run."""
import shutil
import subprocess
from pathlib import Path

import numpy as np

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars"]


def chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    assert exe, "chromium is required (make test installs Debian's chromium)"
    return exe


def render_screenshot(index: Path, out_png: Path, tmp: Path) -> np.ndarray:
    """Render the page headless; return the screenshot as an RGB array."""
    import matplotlib.image as mpimg

    cmd = [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp / 'chrome-profile'}",
           f"--screenshot={out_png}", "--window-size=1280,2400", index.resolve().as_uri()]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    assert out_png.is_file()
    return mpimg.imread(out_png)[..., :3]


def assert_figure_has_content(png: Path) -> None:
    import matplotlib.image as mpimg

    img = mpimg.imread(png)[..., :3]
    assert img.shape[0] > 200 and img.shape[1] > 200
    # not blank: a good share of pixels differ from white
    assert (img < 0.95).any(axis=-1).mean() > 0.02, png


def assert_report_renders(index: Path, tmp: Path) -> None:
    html = index.read_text()
    for name in ("fronts.png", "hypervolume.png"):
        assert name in html
        assert_figure_has_content(index.parent / name)
    shot = render_screenshot(index, tmp / "shot.png", tmp)
    # the browser drew text, tables and figures down the page (a blank or broken page has no
    # dark pixels), in several colours
    rows_with_ink = (shot < 0.6).any(axis=-1).any(axis=1)
    assert rows_with_ink[:1400].mean() > 0.4, rows_with_ink[:1400].mean()
    assert len(np.unique((shot * 8).astype(int).reshape(-1, 3), axis=0)) > 20
