"""pythonnet's ``clr.FindAssembly`` and ``clr.AddReference`` by name under
``pyclrbridge.compat``, with files planted in the working directory and on ``sys.path``: a
name is never answered from the working directory, and a file found by name must be the
assembly of that name. Each scenario runs in a fresh interpreter (see test_planted_assemblies)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from test_planted_assemblies import _run, emit  # noqa: F401  # emit is a fixture


def test_find_assembly_does_not_offer_a_file_in_the_working_directory(
    emit: Any,  # noqa: F811
    fixtures_dll: Path,
    tmp_path: Path,
) -> None:
    emit(tmp_path / "Planted.dll", "Planted", "Planted")
    _run(
        """
from pyclrbridge import compat as clr
import System
sys.path.insert(0, "")
sys.path.insert(0, ".")
sys.path.insert(0, os.getcwd())  # the working directory, however it is spelled
assert clr.FindAssembly("Planted") is None
assert clr.FindAssembly("Planted.dll") is None
try:
    clr.AddReference("Planted")
except System.IO.FileNotFoundException:
    pass
else:
    raise AssertionError("AddReference loaded ./Planted.dll by name")
try:
    import Planted
except ImportError:
    pass
else:
    raise AssertionError("import Planted loaded ./Planted.dll")
print("OK")
""",
        fixtures_dll,
        tmp_path,
    )


def test_find_assembly_gives_the_framework_assembly_over_a_planted_one(
    emit: Any,  # noqa: F811
    fixtures_dll: Path,
    tmp_path: Path,
) -> None:
    (tmp_path / "site").mkdir()
    emit(tmp_path / "System.Xml.dll", "System.Xml", "Planted")
    emit(tmp_path / "site" / "System.Xml.dll", "System.Xml", "Planted")
    _run(
        """
from pyclrbridge import compat as clr
found = clr.FindAssembly("System.Xml")
assert found and not found.startswith(os.getcwd()), found
assert os.path.basename(found) == "System.Xml.dll", found
assert clr.AddReference(found).GetName().Name == "System.Xml"
assert "Planted" not in clr.ListAssemblies()
print("OK")
""",
        fixtures_dll,
        tmp_path,
        pythonpath=tmp_path / "site",
    )


def test_find_assembly_on_sys_path_checks_the_assembly_name_of_the_file(
    emit: Any,  # noqa: F811
    fixtures_dll: Path,
    tmp_path: Path,
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    emit(site / "Newtonsoft.Json.dll", "Impostor", "Newtonsoft.Json")
    emit(site / "Vendor.Lib.dll", "Vendor.Lib", "Vendor.Lib")
    (tmp_path / "work").mkdir()
    _run(
        """
from pyclrbridge import compat as clr
assert clr.FindAssembly("Newtonsoft.Json") is None  # the file there is the assembly 'Impostor'
found = clr.FindAssembly("Vendor.Lib")
assert found == os.path.join(sys.path[0], "Vendor.Lib.dll"), found
clr.AddReference(found)  # pythonnet's sys.path.append(folder) + AddReference, spelled with a path
from Vendor.Lib import Planted
print("OK")
""",
        fixtures_dll,
        tmp_path / "work",
        pythonpath=site,
    )
