"""The packaged VS Code extension: what `npm test` in vscode-extension/ built with esbuild and packed with vsce.

These tests read the `.vsix` (a zip) the way VS Code and the marketplace do: its VSIX manifest, the
`package.json` inside it, and the single bundled `dist/extension.js`. They skip, saying why, only when
the npm toolchain is not installed (scripts/bootstrap.sh installs it when npm is on PATH).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

EXTENSION_DIR = Path(__file__).resolve().parents[2] / "vscode-extension"
VSIX = EXTENSION_DIR / "doeff-migrate.vsix"
VSX_NS = {"vsx": "http://schemas.microsoft.com/developer/vsx-schema/2011"}
NODE_BUILTINS = {
    "assert", "buffer", "child_process", "crypto", "events", "fs", "net", "os", "path", "stream", "tty", "url", "util",
}


@pytest.fixture(scope="module")
def vsix() -> zipfile.ZipFile:
    if not VSIX.exists():
        if not (EXTENSION_DIR / "node_modules").is_dir() or shutil.which("npm") is None:
            pytest.skip("vscode-extension/doeff-migrate.vsix is not built and the npm toolchain is not installed "
                        "(run scripts/bootstrap.sh, then `npm test` in vscode-extension/)")
        subprocess.run(["npm", "run", "--silent", "package"], cwd=EXTENSION_DIR, check=True, capture_output=True)
    with zipfile.ZipFile(VSIX) as archive:
        yield archive


@pytest.fixture(scope="module")
def source_manifest() -> dict:
    return json.loads((EXTENSION_DIR / "package.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def packaged_manifest(vsix: zipfile.ZipFile) -> dict:
    return json.loads(vsix.read("extension/package.json"))


@pytest.fixture(scope="module")
def bundle(vsix: zipfile.ZipFile) -> str:
    return vsix.read("extension/dist/extension.js").decode("utf-8")


def test_the_vsix_holds_only_the_bundle_manifest_readme_and_license(vsix: zipfile.ZipFile) -> None:
    names = set(vsix.namelist())
    assert names == {
        "extension.vsixmanifest",
        "[Content_Types].xml",
        "extension/package.json",
        "extension/readme.md",
        "extension/LICENSE.txt",
        "extension/dist/extension.js",
    }


def test_the_vsix_manifest_identifies_the_extension_as_package_json_does(vsix: zipfile.ZipFile, source_manifest: dict) -> None:
    root = ET.fromstring(vsix.read("extension.vsixmanifest"))
    identity = root.find("vsx:Metadata/vsx:Identity", VSX_NS)
    assert identity is not None
    assert identity.get("Id") == source_manifest["name"] == "doeff-migrate"
    assert identity.get("Version") == source_manifest["version"]
    assert identity.get("Publisher") == source_manifest["publisher"]
    properties = {p.get("Id"): p.get("Value") for p in root.iterfind("vsx:Metadata/vsx:Properties/vsx:Property", VSX_NS)}
    assert properties["Microsoft.VisualStudio.Code.Engine"] == source_manifest["engines"]["vscode"]
    # No hard dependency on the Python extension: its interpreter is used when it is there.
    assert properties["Microsoft.VisualStudio.Code.ExtensionDependencies"] == ""
    assets = {a.get("Type"): a.get("Path") for a in root.iterfind("vsx:Assets/vsx:Asset", VSX_NS)}
    assert assets["Microsoft.VisualStudio.Code.Manifest"] == "extension/package.json"
    assert assets["Microsoft.VisualStudio.Services.Content.Details"] == "extension/readme.md"
    assert assets["Microsoft.VisualStudio.Services.Content.License"] == "extension/LICENSE.txt"


def test_the_packaged_manifest_is_the_source_one(packaged_manifest: dict, source_manifest: dict) -> None:
    for key in ("main", "contributes", "activationEvents", "engines", "serverInfo"):
        assert packaged_manifest[key] == source_manifest[key], key
    assert packaged_manifest["main"] == "./dist/extension.js"
    # --no-dependencies: nothing is to be installed next to the bundle.
    assert "node_modules" not in json.dumps(packaged_manifest.get("files", []))


def test_the_packaged_manifest_contributes_the_commands_settings_and_fix_all_kind(packaged_manifest: dict) -> None:
    contributes = packaged_manifest["contributes"]
    assert {c["command"] for c in contributes["commands"]} == {
        "doeff-migrate.restart",
        "doeff-migrate.showLogs",
        "doeff-migrate.migrateFile",
        "doeff-migrate.migrateWorkspace",
        "doeff-migrate.showStatus",
        "doeff-migrate.verifyEntryPoints",
    }
    assert set(contributes["configuration"]["properties"]) == {
        "doeff-migrate.enable",
        "doeff-migrate.select",
        "doeff-migrate.ignore",
        "doeff-migrate.interpreter",
        "doeff-migrate.logLevel",
        "doeff-migrate.trace.server",
    }
    kinds = [action["kind"] for entry in contributes["codeActions"] for action in entry["actions"]]
    assert "source.fixAll.doeff-migrate" in kinds


def test_the_bundle_needs_only_vscode_and_node_builtins(bundle: str) -> None:
    required = set(re.findall(r"""require\(["']([^"']+)["']\)""", bundle))
    assert "vscode" in required
    outside = {name for name in required - {"vscode"} if name.removeprefix("node:") not in NODE_BUILTINS}
    assert outside == set(), f"left out of the bundle: {sorted(outside)}"
    assert "vscode-languageclient" not in required


def test_the_bundle_is_minified_and_carries_the_server_module_and_command_ids(bundle: str) -> None:
    assert "sourceMappingURL" not in bundle
    assert len(bundle) / (bundle.count("\n") + 1) > 1000, "vscode:prepublish builds with --production (minified)"
    for needle in ("doeff_migrate.lsp", "doeff_migrate.codemod.cli:main", "migrateWorkspace", "showStatus", "source.fixAll."):
        assert needle in bundle, needle
    assert len(bundle) < 1_500_000
    # esbuild's CommonJS export table: VS Code calls these two.
    assert re.search(r"activate:\(\)=>\w+", bundle) and re.search(r"deactivate:\(\)=>\w+", bundle)


def test_the_readme_shipped_has_no_relative_links(vsix: zipfile.ZipFile) -> None:
    readme = vsix.read("extension/readme.md").decode("utf-8")
    assert "doeff-migrate" in readme
    links = re.findall(r"\]\(([^)]+)\)", readme)
    relative = [link for link in links if not re.match(r"^(https?:|#)", link)]
    assert relative == [], "the marketplace cannot resolve relative links without a repository URL"
