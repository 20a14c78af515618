"""Generate R.java and view-binding classes from an app's res/ folder, as AGP would name them.

Used by check-kotlin.sh to compile the app's Kotlin without the Android build tools: a string,
id or layout the code names but res/ lacks is a compile error, and each binding field has the
type of its view in the layout (nullable when only some layout variants have it, as AGP does).
Only names and types are generated; the int values are placeholders. Standard library only.
"""

from __future__ import annotations

import argparse
import re
import xml.etree.ElementTree as ET
from pathlib import Path

ANDROID = "{http://schemas.android.com/apk/res/android}"
VIEW_PACKAGE = {"View", "ViewStub", "SurfaceView", "TextureView", "ViewGroup"}
VALUE_TYPES = {
    "string": "string",
    "plurals": "plurals",
    "string-array": "array",
    "color": "color",
    "dimen": "dimen",
    "style": "style",
    "bool": "bool",
    "integer": "integer",
}


def res_name(name: str) -> str:
    """A resource name as a Java identifier (Theme.EdgeSeg -> Theme_EdgeSeg)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def camel(name: str, upper: bool) -> str:
    parts = [p for p in name.split("_") if p]
    out = "".join(p[:1].upper() + p[1:] for p in parts)
    return out if upper else out[:1].lower() + out[1:]


def view_class(tag: str) -> str:
    if "." in tag:
        return tag
    if tag in VIEW_PACKAGE:
        return f"android.view.{tag}"
    if tag == "WebView":
        return "android.webkit.WebView"
    return f"android.widget.{tag}"


def ids_in(root: ET.Element) -> list[str]:
    found = []
    for el in root.iter():
        for value in el.attrib.values():
            match = re.fullmatch(r"@\+id/(\w+)", value)
            if match:
                found.append(match.group(1))
    return found


def collect(res: Path) -> tuple[dict[str, set[str]], dict[str, list[tuple[str, ET.Element]]]]:
    """Resource names by R class, and the layout variants by layout name."""
    names: dict[str, set[str]] = {}
    layouts: dict[str, list[tuple[str, ET.Element]]] = {}
    for folder in sorted(p for p in res.iterdir() if p.is_dir()):
        kind = folder.name.split("-")[0]
        for file in sorted(folder.iterdir()):
            stem = file.name.split(".")[0]
            if kind == "values":
                for el in ET.parse(file).getroot():
                    r_class = VALUE_TYPES.get(el.tag)
                    if r_class is None and el.tag == "item":
                        r_class = el.get("type")
                    if r_class and el.get("name"):
                        names.setdefault(r_class, set()).add(res_name(el.get("name", "")))
                continue
            names.setdefault(kind, set()).add(res_name(stem))
            if file.suffix == ".xml":
                root = ET.parse(file).getroot()
                names.setdefault("id", set()).update(ids_in(root))
                if kind == "layout":
                    layouts.setdefault(stem, []).append((folder.name, root))
    return names, layouts


def r_java(package: str, names: dict[str, set[str]]) -> str:
    lines = [f"package {package};", "", "public final class R {"]
    value = 0x7F000001
    for r_class in sorted(names):
        lines.append(f"    public static final class {r_class} {{")
        for name in sorted(names[r_class]):
            lines.append(f"        public static final int {name} = {value};")
            value += 1
        lines.append("    }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def binding_java(package: str, layout: str, variants: list[tuple[str, ET.Element]]) -> str:
    """One binding class: root plus a field per id, typed from the layout."""
    cls = camel(layout, upper=True) + "Binding"
    roots = {view_class(root.tag) for _, root in variants}
    root_type = roots.pop() if len(roots) == 1 else "android.view.View"
    fields: dict[str, list[str]] = {}
    for _, root in variants:
        for el in root.iter():
            match = re.fullmatch(r"@\+?id/(\w+)", el.get(f"{ANDROID}id", ""))
            if not match:
                continue
            if el.tag == "include":
                included = el.get("layout", "").removeprefix("@layout/")
                typ = f"{package}.databinding.{camel(included, upper=True)}Binding"
            else:
                typ = view_class(el.tag)
            fields.setdefault(match.group(1), []).append(typ)
    lines = [
        f"package {package}.databinding;",
        "",
        "import android.view.LayoutInflater;",
        "import android.view.View;",
        "import android.view.ViewGroup;",
        "import androidx.annotation.NonNull;",
        "import androidx.annotation.Nullable;",
        "import androidx.viewbinding.ViewBinding;",
        "",
        f"public final class {cls} implements ViewBinding {{",
    ]
    for name in sorted(fields):
        types = set(fields[name])
        typ = types.pop() if len(types) == 1 else "android.view.View"
        nullness = "@NonNull" if len(fields[name]) == len(variants) else "@Nullable"
        lines.append(f"    {nullness} public final {typ} {camel(name, upper=False)} = null;")
    lines += [
        f"    private {cls}() {{}}",
        f"    @NonNull @Override public {root_type} getRoot() {{ throw new RuntimeException(); }}",
        f"    @NonNull public static {cls} inflate(@NonNull LayoutInflater i) "
        "{ throw new RuntimeException(); }",
        f"    @NonNull public static {cls} inflate(@NonNull LayoutInflater i, "
        "@Nullable ViewGroup p, boolean a) { throw new RuntimeException(); }",
        f"    @NonNull public static {cls} bind(@NonNull View v) "
        "{ throw new RuntimeException(); }",
        "}",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--res", type=Path, required=True)
    parser.add_argument("--package", required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    names, layouts = collect(args.res)
    pkg_dir = args.out / args.package.replace(".", "/")
    (pkg_dir / "databinding").mkdir(parents=True, exist_ok=True)
    (pkg_dir / "R.java").write_text(r_java(args.package, names))
    for layout, variants in layouts.items():
        cls = camel(layout, upper=True) + "Binding"
        (pkg_dir / "databinding" / f"{cls}.java").write_text(
            binding_java(args.package, layout, variants)
        )


if __name__ == "__main__":
    main()
