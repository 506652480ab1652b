"""The docs name code that exists: every source file and every class or private name they quote in
backticks is in src/ (names of other projects are listed below), so a rename cannot leave them stale."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "datamill"
DOCS = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
#: names in the docs that belong to other projects, or are patterns, not datamill's code
OTHERS = {"LocalPipelineExecutor", "IndexIVFFlat", "TrlParser", "StepClass", "_torchaudio", "_atomic", "H2O",
          "JsonlReader", "LambdaFilter", "JsonlWriter"}  # datatrove's names (docs/benchmarks.md)
#: a class-like name (two capitals: StageSinks, ProfileSpec) or a private one (_Outputs, _executor_for)
CODE_NAME = re.compile(r"(?<![\w*])(_[A-Za-z][A-Za-z0-9_]*|[A-Z][a-z0-9]+[A-Z][A-Za-z0-9]*)")
SOURCE_FILE = re.compile(r"(?<![\w/])((?:[a-z_]+/)+[a-z_0-9]+\.py)\b")
#: files the docs quote as they were in the past (the decision records' history)
HISTORY = {"clean/targets.py"}


def _quoted(doc: Path) -> list[tuple[int, str]]:
    text = doc.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 1, m.group(1)) for m in re.finditer(r"`([^`\n]+)`", text)]


def test_quoted_code_names_exist() -> None:
    words = set()
    for path in [*SRC.rglob("*.py"), *SRC.rglob("*.html")]:
        words |= set(re.findall(r"\w+", path.read_text(encoding="utf-8")))
    stale = [f"{doc.relative_to(ROOT)}:{line}: {name}" for doc in DOCS for line, quoted in _quoted(doc)
             for name in CODE_NAME.findall(quoted) if name not in words and name not in OTHERS]
    assert stale == []


def test_quoted_source_files_exist() -> None:
    files = [p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*.py") if ".venv" not in p.parts]
    missing = []
    for doc in DOCS:
        for line, quoted in _quoted(doc):
            for name in SOURCE_FILE.findall(quoted):
                datamill = name.removeprefix("src/datamill/").removeprefix("datamill/")
                if (name.startswith(("exec/", "steps/", "report/", "review/", "evaluate/", "train/", "handoff/",
                                     "llm/", "export/", "formats/", "io/", "recipe/", "src/"))
                        and datamill not in HISTORY and not (SRC / datamill).is_file()
                        and not any(f == name for f in files)):
                    missing.append(f"{doc.relative_to(ROOT)}:{line}: {name}")
    assert missing == []
