"""Colours, badges and the style sheet. Light and dark follow the system palette; the
few colours of our own (status badges, trace fates) are picked to read on both."""

from __future__ import annotations

from functools import lru_cache

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPalette, QPen, QPixmap
from PySide6.QtWidgets import QApplication

from app.paths import resource_path

STATUS_COLORS = {
    "ready": "#2e9d57",
    "importing": "#2f7ed8",
    "needs-password": "#d99a1e",
    "no-text": "#8a8f98",
    "error": "#d6453d",
}
STATUS_LABELS = {
    "ready": "ready",
    "importing": "importing…",
    "needs-password": "locked",  # short enough to stay whole in a narrow library; the tooltip says more
    "no-text": "no text",
    "error": "error",
}

# Trace fates: how a sub-query's output fed the answer.
FATE_COLORS = {"cited": "#2e9d57", "merged": "#2f7ed8", "discarded": "#9a9ea6", "": "#c0c4cc"}
FATE_LABELS = {"cited": "cited in the answer", "merged": "merged into the answer", "discarded": "discarded", "": ""}
KIND_COLORS = {
    "plan": "#7c5cc4", "filter": "#a0702a", "map": "#2f7ed8", "verify": "#c2571a",
    "reduce": "#2e9d57", "code": "#5a6270", "final": "#1f8a70",
}
HIGHLIGHT = QColor(255, 200, 0, 90)
FIND_HIGHLIGHT = QColor(80, 160, 255, 80)


def is_dark(palette: QPalette | None = None) -> bool:
    pal = palette or QApplication.palette()
    return pal.color(QPalette.ColorRole.Window).lightness() < 128


@lru_cache(maxsize=64)
def dot_icon(color: str, shape: str = "circle", size: int = 14) -> QIcon:
    """A small badge drawn at 1x and 2x so it stays sharp on high-DPI screens."""
    icon = QIcon()
    for scale in (1, 2):
        pm = QPixmap(size * scale, size * scale)
        pm.setDevicePixelRatio(scale)
        pm.fill(Qt.GlobalColor.transparent)
        p = QPainter(pm)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        c = QColor(color)
        p.setPen(QPen(c.darker(130), 1))
        p.setBrush(c)
        r = QRectF(2.5, 2.5, size - 5, size - 5)
        if shape == "square":
            p.drawRoundedRect(r, 2, 2)
        elif shape == "ring":
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.setPen(QPen(c, 2))
            p.drawEllipse(r.adjusted(1, 1, -1, -1))
        elif shape == "cross":
            p.setPen(QPen(c, 2))
            p.drawLine(r.topLeft(), r.bottomRight())
            p.drawLine(r.topRight(), r.bottomLeft())
        else:
            p.drawEllipse(r)
        p.end()
        icon.addPixmap(pm)
    return icon


def status_icon(status: str) -> QIcon:
    shape = {"error": "square", "needs-password": "square", "importing": "ring", "no-text": "ring"}.get(status, "circle")
    return dot_icon(STATUS_COLORS.get(status, "#8a8f98"), shape)


def fate_icon(fate: str) -> QIcon:
    shape = {"cited": "circle", "merged": "square", "discarded": "cross"}.get(fate or "", "ring")
    return dot_icon(FATE_COLORS.get(fate or "", "#c0c4cc"), shape)


def app_icon() -> QIcon:
    path = resource_path("icons", "lectern.svg")
    icon = QIcon(str(path)) if path.is_file() else QIcon()
    if icon.isNull():
        icon = dot_icon("#2f7ed8", "square", 32)
    return icon


def color_scheme(app: QApplication) -> str:
    """'dark' or 'light': $LECTERN_COLOR_SCHEME when set (screenshots, desktops that do
    not report a scheme), else the system's scheme as Qt reports it."""
    import os

    forced = os.environ.get("LECTERN_COLOR_SCHEME", "").strip().lower()
    if forced in ("dark", "light"):
        return forced
    hints = app.styleHints()
    scheme = getattr(hints, "colorScheme", None)
    if callable(scheme) and scheme() == Qt.ColorScheme.Dark:
        return "dark"
    return "dark" if is_dark(app.palette()) else "light"


def dark_palette() -> QPalette:
    """A dark Fusion palette: Fusion does not switch by itself on every platform."""
    pal = QPalette()
    c = QColor
    roles = QPalette.ColorRole
    for role, colour in ((roles.Window, "#202327"), (roles.WindowText, "#e6e8eb"), (roles.Base, "#16181b"),
                         (roles.AlternateBase, "#25292e"), (roles.ToolTipBase, "#2b3036"), (roles.ToolTipText, "#e6e8eb"),
                         (roles.Text, "#e6e8eb"), (roles.Button, "#2b3036"), (roles.ButtonText, "#e6e8eb"),
                         (roles.BrightText, "#ff6b6b"), (roles.Link, "#7db7ff"), (roles.LinkVisited, "#b59cff"),
                         (roles.Highlight, "#2f6fb8"), (roles.HighlightedText, "#ffffff"),
                         (roles.PlaceholderText, "#8a9099"), (roles.Mid, "#3a3f46"), (roles.Dark, "#111315"),
                         (roles.Light, "#3a4048"), (roles.Shadow, "#000000")):
        pal.setColor(role, c(colour))
    for role in (roles.Text, roles.WindowText, roles.ButtonText):
        pal.setColor(QPalette.ColorGroup.Disabled, role, c("#6b7079"))
    return pal


def apply_style(app: QApplication) -> None:
    """Fusion keeps widgets the same on every platform and follows the system's light or
    dark palette; our small style sheet only sets spacing and a few accents."""
    app.setStyle("Fusion")
    if color_scheme(app) == "dark" and not is_dark(app.palette()):
        app.setPalette(dark_palette())
    qss = resource_path("style", "lectern.qss")
    if qss.is_file():
        from string import Template

        dark = is_dark(app.palette())
        colours = {"muted": "#9ca3af" if dark else "#5f6672", "border": "#4b5160" if dark else "#c5c9d0"}
        app.setStyleSheet(Template(qss.read_text(encoding="utf-8")).safe_substitute(colours))
    f = app.font()
    if f.pointSizeF() < 9.5:
        f.setPointSizeF(9.5)
        app.setFont(f)


def mono_font() -> QFont:
    f = QFont("monospace")
    f.setStyleHint(QFont.StyleHint.Monospace)
    return f
