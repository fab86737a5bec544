"""Layers import downward only: ``ref``/``data`` <- ``torch_nn``/``keras_nn`` <- ``experiments`` <-
notebooks. Read from the source (every import statement, at the top of a file or inside a function),
so a lazy import that reaches up is caught too."""
import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "adrec"
LOWER = ("ref", "data", "torch_nn", "keras_nn")
UPPER = ("adrec.experiments", "adrec.run", "adrec.reproduce", "adrec.paper")


def imported_modules(path: Path, root: Path = PKG) -> list[tuple[int, str]]:
    """``(line, absolute module)`` of every import in ``path`` (relative imports resolved against
    the package folder ``root``)."""
    package = ["adrec", *path.relative_to(root).parent.parts]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            found.append((node.lineno, module))
            # "from .. import run" names a module too
            found += [(node.lineno, f"{module}.{a.name}") for a in node.names]
    return found


def upward_imports(layer: str, root: Path = PKG) -> list[str]:
    bad = []
    for path in sorted((root / layer).rglob("*.py")):
        for line, module in imported_modules(path, root):
            if any(module == up or module.startswith(up + ".") for up in UPPER):
                bad.append(f"{path.relative_to(root.parent)}:{line} imports {module}")
    return bad


@pytest.mark.parametrize("layer", LOWER)
def test_lower_layers_never_import_the_layers_that_drive_them(layer):
    assert upward_imports(layer) == []


def test_the_reader_sees_lazy_and_relative_imports(tmp_path):
    """The check itself can fail: planted imports inside a function are found."""
    (tmp_path / "adrec" / "ref").mkdir(parents=True)
    (tmp_path / "adrec" / "ref" / "planted.py").write_text(
        "import os\n\ndef f():\n    from ..experiments import row\n    from .. import paper\n")
    found = upward_imports("ref", tmp_path / "adrec")
    assert any("imports adrec.experiments" in b for b in found)
    assert any("imports adrec.paper" in b for b in found)
