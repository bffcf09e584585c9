"""The README's examples run for someone who has only the installed package: in a fresh
interpreter, in an empty folder, with no test fixtures."""

from __future__ import annotations

from pathlib import Path

from test_docs_examples import python_blocks

from conftest import ROOT, assert_clean_exit, run_python

README = ROOT / "README.md"


def test_readme_python_examples_run_in_an_empty_folder(tmp_path: Path) -> None:
    blocks = [code for _, code, runnable in python_blocks(README) if runnable]
    assert blocks, "the README has no runnable python example"
    script = tmp_path / "readme_examples.py"
    script.write_text("\n".join(blocks), encoding="utf-8")
    proc = run_python(f"import os, runpy; os.chdir({str(tmp_path)!r}); runpy.run_path({str(script)!r})")
    assert_clean_exit(proc)
    assert proc.stdout.startswith("FormatException"), proc.stdout


def test_readme_describe_example_needs_no_reference() -> None:
    commands = [line for line in README.read_text(encoding="utf-8").splitlines() if line.startswith("$ pyclrbridge")]
    assert commands, "the README shows no pyclrbridge command"
    assert not [c for c in commands if " -r " in c], "README commands must work with only the installed package"


def _console_commands(text: str) -> list[str]:
    return [line[2:] for line in text.splitlines() if line.startswith("$ ")]


def test_readme_sets_up_a_clone_with_two_commands_and_marks_the_index_install() -> None:
    """A newcomer copies two commands: install from the clone and run the main job, then the tests."""
    text = README.read_text(encoding="utf-8")
    install = text[text.index("## Install") : text.index("## Use the .NET base library")]
    commands = _console_commands(install)
    assert commands[:2] == ['python -m pip install -e ".[test]" && pyclrbridge info', "python -m pytest"], commands
    index_line = "python -m pip install pyclrbridge"
    assert index_line in commands
    before = install[: install.index(index_line)]
    preceding = before[: before.rindex("```console")].rstrip().rsplit("\n\n", 1)[-1]
    assert preceding.startswith("After a release"), "the package-index install must be marked for after a release"
