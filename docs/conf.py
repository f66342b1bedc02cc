"""Sphinx configuration of the ann2neo documentation.

Build (from the repository root, after ``pip install -e ".[all,docs]"``)::

    sphinx-build -W --keep-going -b html docs docs/_build/html

The tutorials (``tutorials/NN_*.py``, jupytext percent scripts) are converted to notebooks
in ``docs/tutorials/`` at every build and rendered by myst-nb.  They are not executed by
default: the test suite already runs every tutorial (``tests/test_tutorials.py``).  Set
``ANN2NEO_DOCS_EXECUTE=1`` to execute them during the build and show their outputs.
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))  # document this checkout even where another copy is installed
# TensorFlow's C++ start-up lines are quieted by ann2neo itself (ann2neo._quiet), unless TF_CPP_MIN_LOG_LEVEL is set.
os.environ.setdefault("MPLBACKEND", "Agg")

import ann2neo  # noqa: E402

project = "ann2neo"
author = "ann2neo developers"
copyright = "ann2neo developers, BSD-3-Clause"
release = ann2neo.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.graphviz",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_nb",  # Markdown pages (MyST) and the tutorial notebooks
]

exclude_patterns = ["_build", "**.ipynb_checkpoints", "grid-paper-mnist.toml"]

# --- API reference: one page per module, generated from the docstrings -------------------------
# The pages are written by _api_pages below (autosummary's own recursion would take the module
# ann2neo.core.binarize for the function of that name); autosummary only draws summary tables.
autosummary_generate = False
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"  # the numpydoc sections state the types
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
# numpydoc validation of every public docstring: a failure is a warning, so an error under -W.
# Left out, on purpose: GL08 (no docstring: private helpers), SA01 (See Also), EX01 (Examples:
# the package's rule asks for one in every public function; tested by the doctests, not here),
# ES01 (extended summary), RT02 (a named return is fine), SS05 (imperative mood), SS03, PR08,
# PR09, RT05 (punctuation at the start or end of descriptions), GL01, GL02, SS06 (where and how
# long the summary is), YD01 (yields).
# Not yet enforced (each still fails on some docstrings; enable when they are fixed):
# PR01 (a parameter not documented: dataclass fields documented as Attributes, and parameters
# described together with "Same as ..."), PR07 (a parameter without a description), RT01 (no
# Returns section), RT03 (a return value without a description).
numpydoc_validation_checks = {"all", "GL08", "SA01", "EX01", "ES01", "RT02", "SS05", "SS03", "PR08", "PR09", "RT05",
                              "GL01", "GL02", "SS06", "YD01",
                              "PR01", "PR07", "RT01", "RT03"}
numpydoc_validation_exclude = {r"\.__init__$", r"\.__call__$"}

# --- Markdown and notebooks --------------------------------------------------------------------
myst_enable_extensions = ["colon_fence", "dollarmath", "deflist"]
myst_heading_anchors = 3
nb_execution_mode = "cache" if os.environ.get("ANN2NEO_DOCS_EXECUTE") == "1" else "off"
nb_execution_timeout = 900
nb_execution_in_temp = True  # each tutorial writes tutorial-output/ in a temporary folder
nb_execution_raise_on_error = True
nb_merge_streams = True

# --- HTML --------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"ann2neo {release}"
html_static_path = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
graphviz_output_format = "svg"


def _tutorial_notebooks(app):
    """Convert ``tutorials/NN_*.py`` (jupytext percent) to ``docs/tutorials/NN_*.ipynb``."""
    import jupytext

    out = DOCS / "tutorials"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir()
    for script in sorted((ROOT / "tutorials").glob("[0-9][0-9]_*.py")):
        notebook = jupytext.read(script, fmt="py:percent")
        # run as the script would be (tutorial 3 finds the data next to the repository from __file__);
        # the cell is executed but not shown
        setup = jupytext.reads(f"__file__ = {str(script)!r}", fmt="py:percent").cells[0]
        setup.metadata["tags"] = ["remove-cell"]
        notebook.cells.insert(0, setup)
        notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        jupytext.write(notebook, out / f"{script.stem}.ipynb")


def _assigned_names(module):
    """The names a module assigns at its top level (not those it only imports)."""
    import ast
    import inspect

    names = set()
    for node in ast.parse(inspect.getsource(module)).body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, ast.AnnAssign) else []
        names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def _api_pages(app):
    """Write ``docs/generated/<module>.rst`` for every public module of ann2neo (one page each).

    A package's page holds its docstring and the list of its modules; a module's page its
    docstring, a summary table and every member it exports (``__all__``, else the public classes
    and functions it defines), each documented once, in the module that defines it.
    """
    import importlib
    import inspect
    import pkgutil

    out = DOCS / "generated"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir()
    names = ["ann2neo"] + sorted(m.name for m in pkgutil.walk_packages(ann2neo.__path__, "ann2neo.")
                                 if not any(part.startswith("_") for part in m.name.split(".")))
    for name in names:
        module = importlib.import_module(name)
        lines = [name, "=" * len(name), "", f".. automodule:: {name}", ""]
        if hasattr(module, "__path__"):  # a package: its modules
            children = [n for n in names if n != name and n.rsplit(".", 1)[0] == name]
            lines += [".. toctree::", "   :maxdepth: 1", "", *(f"   {n}" for n in children), ""]
            (out / f"{name}.rst").write_text("\n".join(lines))
            continue
        exported = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
        assigned = _assigned_names(module)  # data a module re-exports is documented where it is assigned
        members = []
        for member in exported:
            value = getattr(module, member)
            defined_here = getattr(value, "__module__", None) == name
            if inspect.isclass(value) and defined_here:
                kind = "autoexception" if issubclass(value, BaseException) else "autoclass"
            elif inspect.isfunction(value) and defined_here:
                kind = "autofunction"
            elif hasattr(module, "__all__") and member in assigned and not (
                    inspect.isclass(value) or inspect.isfunction(value) or inspect.ismodule(value)):
                kind = "autodata"
            else:
                continue  # imported from elsewhere: documented there
            members.append((member, kind))
        if members:
            lines += [".. rubric:: Summary", "", ".. autosummary::", "", *(f"   {m}" for m, _ in members), ""]
        for member, kind in members:
            lines += [f".. {kind}:: {member}", *(["   :members:"] if kind == "autoclass" else []), ""]
        (out / f"{name}.rst").write_text("\n".join(lines))


def _public_name_reference(app, env, node, contnode):
    """Link a public name (``ann2neo.analyze``) to the place it is documented (its defining module)."""
    import importlib

    target = node.get("reftarget", "")
    if node.get("refdomain") != "py" or not target.startswith("ann2neo."):
        return None
    parts = target.split(".")
    for i in range(len(parts) - 1, 0, -1):  # the longest importable module, then attributes
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for name in parts[i:]:
                obj = getattr(obj, name)
        except AttributeError:
            return None
        break
    else:
        return None
    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if not (isinstance(module, str) and isinstance(qualname, str)) or f"{module}.{qualname}" == target:
        return None
    found = env.get_domain("py").resolve_any_xref(env, node["refdoc"], app.builder, f"{module}.{qualname}", node,
                                                   contnode)
    return found[0][1] if found else None


def setup(app):
    """Sphinx hooks: make the tutorial notebooks before the sources are read; link public names."""
    app.connect("builder-inited", _tutorial_notebooks)
    app.connect("builder-inited", _api_pages)
    app.connect("missing-reference", _public_name_reference)
