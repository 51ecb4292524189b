"""The ctypes mirrors in eccl/_ctypes_api.py agree with include/eccl/eccl.h.

Three witnesses: layout_probe (a C program built from the header; its path in
$ECCL_LAYOUT_PROBE, else compiled here with cc) gives every mirrored struct's
size, field offsets and field sizes and every mirrored enum's size and values; the header's text
gives the field and enumerator names (so an added field or code is noticed
even when it leaves sizes unchanged) and each function's parameter types.
"""

from __future__ import annotations

import ctypes
import json
import os
import pathlib
import re
import shutil
import subprocess
from typing import Any

import pytest

import eccl
from eccl import _ctypes_api as api
from eccl import _library

HERE = pathlib.Path(__file__).resolve().parent
HEADER = HERE.parents[2] / "include" / "eccl" / "eccl.h"


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The layout probe's JSON."""
    path = os.environ.get("ECCL_LAYOUT_PROBE")
    if not path:
        cc = shutil.which("cc") or shutil.which("gcc")
        if cc is None:
            pytest.skip("no ECCL_LAYOUT_PROBE and no C compiler to build layout_probe.c")
        path = str(tmp_path_factory.mktemp("probe") / "layout_probe")
        subprocess.run([cc, "-std=c99", "-I", str(HEADER.parents[1]),
                        str(HERE / "layout_probe.c"), "-o", path], check=True, timeout=60)
    output = subprocess.run([path], check=True, capture_output=True, text=True, timeout=30)
    return json.loads(output.stdout)


def header_text() -> str:
    """eccl.h without comments."""
    text = HEADER.read_text()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def header_blocks(keyword: str) -> dict[str, str]:
    """typedef <keyword> { body } NAME; of the header: NAME -> body."""
    pattern = rf"typedef\s+{keyword}\s*\{{(.*?)\}}\s*(\w+)\s*;"
    return {name: body for body, name in re.findall(pattern, header_text(), flags=re.S)}


def header_fields(body: str) -> list[str]:
    """The field names of a struct body, in order."""
    names = []
    for declaration in body.split(";"):
        declaration = declaration.strip()
        if declaration:
            names.append(re.search(r"(\w+)\s*(\[[^\]]*\])?\s*$", declaration).group(1))
    return names


def header_enumerators(body: str) -> list[str]:
    """The enumerator names of an enum body, in order."""
    return [item.split("=")[0].strip() for item in body.split(",") if item.strip()]


def mirror_fields(cls: type[ctypes.Structure]) -> list[str]:
    return [name for name, *_ in cls._fields_]


# ---- structs ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(api.STRUCTS))
def test_struct_size_and_offsets_match_the_compiler(probe: dict[str, Any], name: str) -> None:
    cls = api.STRUCTS[name]
    assert name in probe["structs"], f"layout_probe.c does not print {name}: add it"
    c = probe["structs"][name]
    assert list(c["fields"]) == mirror_fields(cls), f"{name}: fields of probe and mirror differ"
    assert ctypes.sizeof(cls) == c["size"], f"sizeof({name})"
    for field, offset in c["fields"].items():
        assert getattr(cls, field).offset == offset, f"offsetof({name}, {field})"
        assert getattr(cls, field).size == c["field_sizes"][field], f"sizeof({name}.{field})"


@pytest.mark.parametrize("name", sorted(api.STRUCTS))
def test_struct_fields_match_the_header(name: str) -> None:
    structs = header_blocks("struct")
    assert name in structs, f"{name} is no longer a typedef struct of eccl.h"
    assert header_fields(structs[name]) == mirror_fields(api.STRUCTS[name])


def test_every_versioned_struct_is_marked() -> None:
    for name, cls in api.STRUCTS.items():
        assert (cls in api.VERSIONED) == (mirror_fields(cls)[0] == "struct_size"), name
        if cls in api.VERSIONED:
            assert api.versioned(cls).struct_size == ctypes.sizeof(cls)


def test_config_init_gets_the_mirror_size() -> None:
    lib = _library.lib()
    for cls, init in ((api.ecclMasterConfig_t, lib.ecclMasterConfigInit),
                      (api.ecclCommConfig_t, lib.ecclCommConfigInit),
                      (api.ecclDilocoConfig_t, lib.ecclDilocoConfigInit)):
        code, config = api.init_versioned(cls, init)
        assert code == 0 and config.struct_size == ctypes.sizeof(cls)


# ---- enums -----------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(api.ENUMS))
def test_enum_values_match_the_compiler(probe: dict[str, Any], name: str) -> None:
    assert name in probe["enums"], f"layout_probe.c does not print {name}: add it"
    c = probe["enums"][name]
    assert c["size"] == ctypes.sizeof(api.c_enum), f"sizeof({name})"
    assert c["values"] == {m.name: m.value for m in api.ENUMS[name]}


@pytest.mark.parametrize("name", sorted(api.ENUMS))
def test_enumerators_match_the_header(name: str) -> None:
    enums = header_blocks("enum")
    assert name in enums, f"{name} is no longer a typedef enum of eccl.h"
    assert header_enumerators(enums[name]) == [m.name for m in api.ENUMS[name]]


def test_every_result_code_has_an_exception() -> None:
    for code in api.ecclResult_t:
        if code in (api.ecclResult_t.ecclSuccess, api.ecclResult_t.ecclNumResults):
            continue
        error = eccl.EcclError(code, "x")
        assert type(error) is not eccl.EcclError, f"{code.name} has no exception class"
        assert type(error).CODE == code


# ---- functions -------------------------------------------------------------------------

def _ctype_of(c_type: str) -> Any:
    """The ctypes type _ctypes_api should declare for a C parameter or result type."""
    c_type = re.sub(r"\bconst\b", "", c_type)
    c_type = re.sub(r"\s+", "", c_type)
    scalars = {
        "void*": ctypes.c_void_p, "char*": ctypes.c_char_p, "size_t": ctypes.c_size_t,
        "double": ctypes.c_double,
        "int": ctypes.c_int, "int32_t": ctypes.c_int32, "int64_t": ctypes.c_int64,
        "uint16_t": ctypes.c_uint16, "uint32_t": ctypes.c_uint32, "uint64_t": ctypes.c_uint64,
        "ecclMaster_t": api.ecclMaster_t, "ecclComm_t": api.ecclComm_t,
        "ecclRequest_t": api.ecclRequest_t, "ecclDiloco_t": api.ecclDiloco_t,
        "ecclEventCallback_t": api.ecclEventCallback_t,
    }
    if c_type in scalars:
        return scalars[c_type]
    if c_type in api.ENUMS:
        return api.c_enum
    if c_type in api.STRUCTS:
        return api.STRUCTS[c_type]
    if c_type.endswith("*"):
        return ctypes.POINTER(_ctype_of(c_type[:-1]))
    raise AssertionError(f"no ctypes mapping for C type {c_type!r}")


def header_prototypes() -> dict[str, tuple[str, list[str]]]:
    """ECCL_API functions: name -> (result type, parameter types)."""
    found = {}
    for result, name, params in re.findall(r"ECCL_API\s+([\w\s\*]+?)\s*\b(\w+)\s*\(([^)]*)\)\s*;",
                                           header_text()):
        types = []
        for param in params.split(","):
            param = param.strip()
            if param and param != "void":
                types.append(re.sub(r"\w+\s*$", "", param).strip() or param)
        found[name] = (result, types)
    return found


@pytest.mark.parametrize("name", sorted(api.PROTOTYPES))
def test_prototypes_match_the_header(name: str) -> None:
    prototypes = header_prototypes()
    assert name in prototypes, f"{name} is not an ECCL_API function of eccl.h"
    result, params = prototypes[name]
    restype, argtypes = api.PROTOTYPES[name]
    expected_result = ctypes.c_char_p if "char*" in result.replace(" ", "") else api.c_enum
    assert restype == expected_result, f"{name}: result type"
    assert len(argtypes) == len(params), f"{name}: {len(params)} parameters in eccl.h"
    for i, (declared, c_type) in enumerate(zip(argtypes, params)):
        # char* output buffers are declared POINTER(c_char), not c_char_p (a string).
        wanted = _ctype_of(c_type)
        if declared == ctypes.POINTER(ctypes.c_char) and wanted == ctypes.c_char_p:
            continue
        assert declared == wanted, f"{name}: parameter {i} is {c_type} in eccl.h"


def test_the_library_exports_every_prototype() -> None:
    lib = _library.lib()
    for name in api.PROTOTYPES:
        assert hasattr(lib, name), name
