"""tools/docblock.py - generated figures in the docs: a tool (the footprint report, the
reliability campaigns) replaces the text between its two marker lines in a docs/ page, so the
figures there are what the tool last measured, never pasted by hand."""

import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parent.parent


def replace_block(path, begin, end, text):
    """Replace what is between the lines begin and end of the file path with text (the markers
    stay). Raises ValueError when the markers are missing."""
    path = pathlib.Path(path)
    lines = path.read_text().split("\n")
    try:
        i = lines.index(begin)
        j = lines.index(end, i + 1)
    except ValueError:
        raise ValueError("%s: the markers %r ... %r are missing" % (path, begin, end)) from None
    lines[i + 1:j] = [""] + text.strip("\n").split("\n") + [""]
    path.write_text("\n".join(lines))


def block(path, begin, end):
    """The text between the markers (stripped)."""
    lines = pathlib.Path(path).read_text().split("\n")
    i = lines.index(begin)
    return "\n".join(lines[i + 1:lines.index(end, i + 1)]).strip("\n")


def source_rev(root=ROOT):
    """The short commit of root's HEAD, "+changes" when firmware/ has uncommitted changes."""
    def git(*a):
        return subprocess.run(["git", *a], cwd=root, capture_output=True, text=True).stdout.strip()

    return git("rev-parse", "--short", "HEAD") + ("+changes" if git("status", "--porcelain", "--", "firmware") else "")
