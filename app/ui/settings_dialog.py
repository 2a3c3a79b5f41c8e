"""Models and settings: root and sub-model, servers, runtime options and budgets: the
run configuration shared with `lectern ask`, and what the runtime on this machine is."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.ui.errors import humane_error, runtime_lines
from app.ui.settings import Settings

DEFAULT_LABEL = "Embedded default (SmolLM2-135M-Instruct)"


def library_models() -> list[tuple[str, str]]:
    """(name, path) of the GGUF files in the model library, the embedded one excluded."""
    try:
        from app.llm.manager import list_models

        return [(e.name, str(e.path)) for e in list_models() if not e.builtin]
    except Exception:
        return []


LADDER_CHOICES = [
    ("", "Automatic (by the model's size)"),
    ("tie-break", "Code ranks, the model breaks ties"),
    ("veto", "The model can reject a passage"),
    ("compose", "The model writes the answer from checked quotes"),
    ("repl", "The model may write code (REPL mode offered)"),
]


class ModelCombo(QComboBox):
    """The embedded default, every GGUF file in the model library and, when servers are
    configured, the endpoint pool. Values are RunConfig role names ("default",
    "endpoints", a library name or a path)."""

    def __init__(self, allow_same: bool = False, parent=None):
        super().__init__(parent)
        self.allow_same = allow_same
        self.endpoints: list[str] = []
        self.reload()

    def reload(self, select: str | None = None, endpoints: list[str] | None = None) -> None:
        if endpoints is not None:
            self.endpoints = list(endpoints)
        current = select if select is not None else self.path()
        self.clear()
        if self.allow_same:
            self.addItem("Same as the root model", "")
        self.addItem(DEFAULT_LABEL, "default")
        for name, path in library_models():
            self.addItem(name, name)
            self.setItemData(self.count() - 1, path, Qt.ItemDataRole.ToolTipRole)
        if self.endpoints or current == "endpoints":
            self.addItem(f"Servers ({len(self.endpoints)} endpoint{'s' if len(self.endpoints) != 1 else ''})", "endpoints")
        i = self.findData(current)
        if i < 0 and current:
            self.addItem(Path(current).name, current)
            i = self.count() - 1
        self.setCurrentIndex(max(0, i))

    def path(self) -> str:
        return self.currentData() or ""


class SettingsDialog(QDialog):
    """Reads and writes the run configuration `lectern ask` uses (app/runconfig.py)."""

    def __init__(self, settings: Settings, engine=None, tasks=None, parent: QWidget | None = None,
                 runtime_info: dict | None = None):
        super().__init__(parent)
        self.engine = engine
        self.tasks = tasks
        self.setWindowTitle("Models and settings")
        self.settings = settings
        self.config = settings.run_config()
        cfg = self.config
        self.setMinimumWidth(680)  # room for model names and the "Root model" label

        models = QGroupBox("Models")
        mf = QFormLayout(models)
        self.root = ModelCombo()
        self.sub = ModelCombo(allow_same=True)
        self.root.reload(cfg.root, endpoints=cfg.endpoints)
        self.sub.reload("" if cfg.sub == cfg.root else cfg.sub, endpoints=cfg.endpoints)
        add = QPushButton("Add GGUF file…")
        add.clicked.connect(self._add_model)
        row = QHBoxLayout()
        row.addWidget(self.root, 1)
        row.addWidget(add)
        mf.addRow("Root model", row)
        mf.addRow("Sub-model", self.sub)
        self.endpoints = QPlainTextEdit("\n".join(cfg.endpoints))
        self.endpoints.setPlaceholderText("None: every model runs on this machine. One URL a line, "
                                          "e.g. http://127.0.0.1:8080 (an OpenAI-compatible server)")
        self.endpoints.setMaximumHeight(60)
        self.endpoints.textChanged.connect(self._endpoints_changed)
        mf.addRow("Servers", self.endpoints)
        self.hint = QLabel("The same choices as `lectern models use` and `lectern models endpoints`. "
                           "You can also drop a .gguf file onto the window.")
        self.hint.setObjectName("hint")
        self.hint.setWordWrap(True)
        mf.addRow("", self.hint)

        runtime = QGroupBox("Runtime")
        rf = QFormLayout(runtime)
        self.n_ctx = _spin(0, 262144, cfg.n_ctx, step=1024, special="Automatic", suffix=" tokens")
        self.threads = _spin(0, 256, cfg.n_threads, special="Automatic")
        self.gpu = _spin(-1, 999, cfg.n_gpu_layers, special="Automatic (all that fit)")
        rf.addRow("Context size", self.n_ctx)
        rf.addRow("Threads", self.threads)
        rf.addRow("GPU layers", self.gpu)
        root_info = dict((runtime_info or {}).get("root") or {})
        lines = runtime_lines(root_info) if root_info else []
        self.runtime = QLabel("\n".join(lines) if lines else
                              "This machine: shown after the model has loaded (ask a question first).")
        self.runtime.setWordWrap(True)
        self.runtime.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.check_btn = QPushButton("Load and check the model")
        self.check_btn.setToolTip("Load the root model now and show what runs: CPU variant, GPU layers, "
                                  "self-check and its speed (the same as `lectern doctor`)")
        self.check_btn.clicked.connect(self.check_runtime)
        self.check_btn.setEnabled(engine is not None and tasks is not None)
        rf.addRow("This machine", self.runtime)
        rf.addRow("", self.check_btn)
        if root_info.get("gpu_offload_supported") is False:
            self.gpu.setToolTip("This llama.cpp build runs on the CPU only: GPU layers stay 0.")

        budgets = QGroupBox("Budget per question (also `lectern ask`'s defaults)")
        bf = QFormLayout(budgets)
        # 0 is the "No limit" entry of each box; it is saved as None, which the engine
        # treats as no limit at all (never a hidden default).
        self.max_calls = _spin(0, 100_000, cfg.max_calls or 0, special="No limit")
        self.max_tokens = _spin(0, 100_000_000, cfg.max_tokens or 0, step=1000, special="No limit")
        self.max_seconds = _spin(0, 864000, int(cfg.max_seconds or 0), step=30, special="No limit", suffix=" s")
        self.max_depth = _spin(0, 8, cfg.max_depth)
        bf.addRow("Model calls", self.max_calls)
        bf.addRow("Tokens", self.max_tokens)
        bf.addRow("Time", self.max_seconds)
        bf.addRow("Recursion depth", self.max_depth)
        # How much the model decides (app.rlm.ladder): automatic is by its size and probe.
        self.ladder = QComboBox()
        for key, text in LADDER_CHOICES:
            self.ladder.addItem(text, key)
        self.ladder.setCurrentIndex(max(0, self.ladder.findData(cfg.options.get("ladder", ""))))
        self.ladder.setToolTip("Automatic decides by the model's size and a short probe on first use. "
                               "Same as `lectern config option ladder`.")
        mf.insertRow(2, "Model's role", self.ladder)  # beside the models it is about
        self.meaning = QCheckBox("Rank passages by meaning too (all-MiniLM-L6-v2, on this machine)")
        self.meaning.setChecked(bool(cfg.meaning))
        self.meaning.setToolTip("Finds passages that answer in other words than the question's. "
                                "Off: passages are ranked by the question's words only.")
        mf.insertRow(3, "Retrieval", self.meaning)

        self.error = QLabel("")
        self.error.setStyleSheet("color:#d6453d")
        self.error.setWordWrap(True)
        self.error.hide()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)

        lay = QVBoxLayout(self)
        for w in (models, runtime, budgets):
            lay.addWidget(w)
        lay.addWidget(self.error)
        lay.addWidget(buttons)

    runtimeChecked = Signal(dict)

    def check_runtime(self) -> None:
        """Loads the models of the configuration being edited, in a worker."""
        try:
            cfg = self.result_config()
        except ValueError as e:
            self.runtime.setText(f"Not loaded: {e}")
            return
        self.runtime.setText("Loading the model and running its self-check…")
        self.check_btn.setEnabled(False)

        def done(info):
            self.check_btn.setEnabled(True)
            self.runtime_info = info
            self.runtime.setText("\n".join(runtime_lines(dict(info.get("root") or {}))))
            self.runtimeChecked.emit(info)

        def failed(msg):
            self.check_btn.setEnabled(True)
            text, _a = humane_error(msg)
            self.runtime.setText(f"The model could not be loaded: {text}")

        self.tasks.run_function(lambda _c: self.engine.load_runtime(cfg), on_result=done, on_failed=failed)

    def _endpoint_list(self) -> list[str]:
        return [u.strip() for u in self.endpoints.toPlainText().splitlines() if u.strip()]

    def _endpoints_changed(self) -> None:
        urls = self._endpoint_list()
        self.root.reload(endpoints=urls)
        self.sub.reload(endpoints=urls)

    def _add_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Add a GGUF model", "", "GGUF models (*.gguf)")
        if path:
            self.add_model(path)

    def add_model(self, path: str) -> None:
        """Adds the file to the model library in a worker (the header is checked there)."""
        if self.engine is None or self.tasks is None:
            return
        self.hint.setText(f"Adding {Path(path).name}…")

        def added(entry):
            self.hint.setText(f"Added {entry.name}.")
            self.root.reload(entry.name)
            self.sub.reload()

        def failed(msg):
            text, _action = humane_error(msg)
            self.hint.setText(f"Could not add {Path(path).name}: {text}")

        self.tasks.run_function(lambda _c: self.engine.add_model(path), on_result=added, on_failed=failed)

    def result_config(self):
        root = self.root.path() or "default"
        options = dict(self.config.options)
        options.pop("ladder", None)
        if self.ladder.currentData():
            options["ladder"] = self.ladder.currentData()
        return self.config.replace(options=options, meaning=self.meaning.isChecked(),
            root=root, sub=self.sub.path() or root, endpoints=self._endpoint_list(),
            n_ctx=self.n_ctx.value(), n_threads=self.threads.value(), n_gpu_layers=self.gpu.value(),
            max_calls=self.max_calls.value() or None, max_tokens=self.max_tokens.value() or None,
            max_seconds=float(self.max_seconds.value()) or None, max_depth=self.max_depth.value())

    def accept(self) -> None:
        try:
            self.result_config().save()
        except Exception as e:  # a bad URL or an unknown model: say so, keep the dialog open
            text, _a = humane_error(str(e))
            self.error.setText(f"Not saved: {text}")
            self.error.show()
            return
        super().accept()


def _spin(lo, hi, value, *, step=1, special=None, suffix="") -> QSpinBox:
    w = QSpinBox()
    w.setRange(lo, hi)
    w.setSingleStep(step)
    w.setValue(int(value))
    if special:
        w.setSpecialValueText(special)
    if suffix:
        w.setSuffix(suffix)
    return w
