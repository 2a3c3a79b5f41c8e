"""Models and settings: root and sub-model, runtime options and budgets."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.ui.settings import Settings

DEFAULT_LABEL = "Embedded default (SmolLM2-135M-Instruct)"


def gpu_offload_supported() -> bool:
    """Whether this llama.cpp build can offload layers to a GPU."""
    try:
        from app.llm.llamacpp import gpu_offload_supported as supported

        return bool(supported())
    except Exception:
        return False


def library_models() -> list[tuple[str, str]]:
    """(name, path) of the GGUF files in the model library, the embedded one excluded."""
    try:
        from app.llm.manager import list_models

        return [(e.name, str(e.path)) for e in list_models() if not e.builtin]
    except Exception:
        return []


class ModelCombo(QComboBox):
    """The embedded default plus every GGUF file in the model library."""

    def __init__(self, allow_same: bool = False, parent=None):
        super().__init__(parent)
        self.allow_same = allow_same
        self.reload()

    def reload(self, select: str | None = None) -> None:
        current = select if select is not None else self.path()
        self.clear()
        self.addItem("Same as the root model" if self.allow_same else DEFAULT_LABEL, "")
        for name, path in library_models():
            self.addItem(name, name)
            self.setItemData(self.count() - 1, path, 3)  # tooltip: the full path
        i = self.findData(current)
        if i < 0 and current:
            self.addItem(Path(current).name, current)
            i = self.count() - 1
        self.setCurrentIndex(max(0, i))

    def path(self) -> str:
        return self.currentData() or ""


class SettingsDialog(QDialog):
    def __init__(self, settings: Settings, engine=None, tasks=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.engine = engine
        self.tasks = tasks
        self.setWindowTitle("Models and settings")
        self.settings = settings
        self.setMinimumWidth(640)  # room for model names and the "Root model" label

        models = QGroupBox("Models")
        mf = QFormLayout(models)
        self.root = ModelCombo()
        self.sub = ModelCombo(allow_same=True)
        self.root.reload(settings.get("models/root"))
        self.sub.reload(settings.get("models/sub"))
        add = QPushButton("Add GGUF file…")
        add.clicked.connect(self._add_model)
        row = QHBoxLayout()
        row.addWidget(self.root, 1)
        row.addWidget(add)
        mf.addRow("Root model", row)
        mf.addRow("Sub-model", self.sub)
        self.hint = QLabel("You can also drop a .gguf file onto the window.")
        self.hint.setObjectName("hint")
        self.hint.setWordWrap(True)
        mf.addRow("", self.hint)

        runtime = QGroupBox("Runtime")
        rf = QFormLayout(runtime)
        self.n_ctx = _spin(0, 262144, settings.get("llm/n_ctx"), step=1024, special="Automatic", suffix=" tokens")
        self.threads = _spin(0, 256, settings.get("llm/n_threads"), special="Automatic")
        self.gpu = _spin(-1, 999, settings.get("llm/n_gpu_layers"), special="Automatic (all that fit)")
        supported = gpu_offload_supported()
        if not supported:
            self.gpu.setEnabled(False)
            self.gpu.setToolTip("This llama.cpp build runs on the CPU only.")
        rf.addRow("Context size", self.n_ctx)
        rf.addRow("Threads", self.threads)
        rf.addRow("GPU layers", self.gpu)
        rf.addRow("", QLabel("GPU offload: " + ("available in this build" if supported else "not in this build (CPU only)")))

        budgets = QGroupBox("Default budget per question")
        bf = QFormLayout(budgets)
        self.max_calls = _spin(1, 10000, settings.get("budget/max_calls"))
        self.max_tokens = _spin(0, 100_000_000, settings.get("budget/max_tokens"), step=1000, special="No limit")
        self.max_seconds = _spin(0, 86400, settings.get("budget/max_seconds"), step=30, special="No limit", suffix=" s")
        self.max_depth = _spin(1, 8, settings.get("budget/max_depth"))
        bf.addRow("Model calls", self.max_calls)
        bf.addRow("Tokens", self.max_tokens)
        bf.addRow("Time", self.max_seconds)
        bf.addRow("Recursion depth", self.max_depth)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)

        lay = QVBoxLayout(self)
        for w in (models, runtime, budgets):
            lay.addWidget(w)
        lay.addWidget(buttons)

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

        self.tasks.run_function(lambda _c: self.engine.add_model(path), on_result=added,
                                on_failed=lambda msg: self.hint.setText(f"Could not add {Path(path).name}: {msg}"))

    def accept(self) -> None:
        s = self.settings
        s.set("models/root", self.root.path())
        s.set("models/sub", self.sub.path())
        s.set("llm/n_ctx", self.n_ctx.value())
        s.set("llm/n_threads", self.threads.value())
        s.set("llm/n_gpu_layers", self.gpu.value())
        s.set("budget/max_calls", self.max_calls.value())
        s.set("budget/max_tokens", self.max_tokens.value())
        s.set("budget/max_seconds", self.max_seconds.value())
        s.set("budget/max_depth", self.max_depth.value())
        s.sync()
        try:  # the CLI reads the same choice
            from app.llm.manager import set_choice

            set_choice(root=self.root.path() or "default", sub=self.sub.path() or self.root.path() or "default")
        except Exception:
            pass
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
