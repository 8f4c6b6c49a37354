"""tools/footprint/chart.py - the footprint chart as a hand-written SVG (no dependencies): heap
over the reference session per profile, and ROM per functional block."""

from xml.sax.saxutils import escape

from tools import budgets

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd")
W, H = 880, 640


def _text(x, y, s, size=11, anchor="start", extra=""):
    return '<text x="%.1f" y="%.1f" font-size="%d" text-anchor="%s" %s>%s</text>' % (x, y, size, anchor, extra, escape(s))


def svg(data):
    ps = data["profiles"]
    names = list(ps)
    steps = list(ps[names[0]]["session"]["steps"])
    # The budgeted heap figures (32-bit, frozen) when every profile has them, else the 64-bit ones.
    key = "ram32" if all(ps[n].get("ram32", {}).get("steps") for n in names) else "ram"
    what = "32-bit frozen" if key == "ram32" else "%d-bit ROMFS" % data["port"]["bits"]
    version = ps[names[0]]["ram32"]["micropython"] if key == "ram32" else data["port"]["micropython"]
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif">' % (W, H),
           '<rect width="100%" height="100%" fill="white"/>',
           _text(20, 24, "OCPP2.Lite footprint (MicroPython %s unix port, %s heap; source %s)"
                 % (version, what, data["source"]["rev"]), 14)]
    # --- heap over the session ---
    x0, y0, pw, ph = 70, 60, 560, 280
    series = []
    for i, n in enumerate(names):
        st = ps[n][key]["steps"]
        series.append((n + " least heap", COLOURS[i], "", [st[s]["least_heap"] for s in steps]))
        series.append((n + " live after step", COLOURS[i], 'stroke-dasharray="4 3"', [st[s]["live"] for s in steps]))
    limit = budgets.HARD.get(key + ".least_heap")
    top = max([v for _, _, _, vs in series for v in vs if v is not None] + [limit or 1024])
    top = ((top // 10240) + 1) * 10240
    out.append(_text(x0, y0 - 12, "Heap through the reference session [%s], kB" % what, 12, extra='font-weight="bold"'))
    for k in range(0, top + 1, 10240):
        y = y0 + ph - ph * k / top
        out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>' % (x0, y, x0 + pw, y))
        out.append(_text(x0 - 6, y + 4, "%d" % (k // 1024), 10, "end"))
    dx = pw / max(len(steps) - 1, 1)
    for j, s in enumerate(steps):
        out.append(_text(x0 + j * dx, y0 + ph + 14, s, 9, "end", 'transform="rotate(-35 %.1f %.1f)"' % (x0 + j * dx, y0 + ph + 14)))
    if limit:
        y = y0 + ph - ph * limit / top
        out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="black" stroke-dasharray="8 4"/>' % (x0, y, x0 + pw, y))
        out.append(_text(x0 + pw - 4, y - 4, "hard budget %d kB" % (limit // 1024), 10, "end"))
    for label, colour, dash, vs in series:
        pts = ["%.1f,%.1f" % (x0 + j * dx, y0 + ph - ph * v / top) for j, v in enumerate(vs) if v is not None]
        if pts:
            out.append('<polyline fill="none" stroke="%s" stroke-width="2" %s points="%s"/>' % (colour, dash, " ".join(pts)))
    for k, (label, colour, dash, vs) in enumerate(series):
        y = y0 + 10 + 16 * k
        out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2" %s/>' % (x0 + pw + 20, y, x0 + pw + 44, y, colour, dash))
        out.append(_text(x0 + pw + 50, y + 4, label, 10))
    # --- ROM per functional block ---
    by = y0 + ph + 110
    blocks = sorted({b for n in names for b in ps[n]["rom"]["blocks"]})
    most = max(ps[n]["rom"]["total"] for n in names) or 1
    out.append(_text(x0, by - 12, "ROM per functional block (.mpy -O%d), kB" % data["port"]["mpy_opt"], 12, extra='font-weight="bold"'))
    for i, n in enumerate(names):
        y = by + i * 34
        out.append(_text(x0 - 6, y + 15, n, 11, "end"))
        x = x0
        for k, b in enumerate(blocks):
            v = ps[n]["rom"]["blocks"].get(b, 0)
            w = pw * v / most
            if w > 0:
                out.append('<rect x="%.1f" y="%d" width="%.1f" height="22" fill="%s"><title>%s</title></rect>'
                           % (x, y, w, COLOURS[k % len(COLOURS)], escape("%s %s: %d bytes" % (n, b, v))))
            x += w
        out.append(_text(x + 6, y + 15, "%.1f" % (ps[n]["rom"]["total"] / 1024), 10))
    ly = by + len(names) * 34 + 10
    for k, b in enumerate(blocks):
        lx = x0 + (k % 4) * 190
        yy = ly + (k // 4) * 16
        out.append('<rect x="%d" y="%d" width="10" height="10" fill="%s"/>' % (lx, yy, COLOURS[k % len(COLOURS)]))
        out.append(_text(lx + 14, yy + 9, b, 10))
    out.append("</svg>")
    return "\n".join(out) + "\n"
